//! The HTTP surface: one module per resource, each handler one action. Routes are
//! declared in [`router`]; every response error goes through [`error::ApiError`].

pub mod admin;
pub mod auth;
pub mod beneficiaries;
pub mod campaigns;
pub mod corrections;
pub mod disbursements;
pub mod donations;
pub mod error;
pub mod exports;
pub mod extract;
pub mod inputs;
pub mod log_routes;
pub mod observe;
pub mod openapi;
pub mod orgs;
pub mod page;
pub mod statements;
pub mod unread_body;
pub mod write;

use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::routing::{get, post};

use crate::app::AppState;
use error::ApiError;

/// Largest request body: a single write carries one entry of at most 16 KiB of fields,
/// so 64 KiB leaves room for JSON escaping and never needs more.
pub const MAX_REQUEST_BODY_BYTES: usize = 64 * 1024;

/// Default of the longest a request may take before it is answered 408 (`serve
/// --request-timeout-seconds`); appends normally take milliseconds, so 30 s only cuts off
/// a stuck client or a stalled database.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The API's routes; [`crate::app::router`] adds the explorer's, the export downloads
/// (outside the request timeout) and the layers every answer passes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(observe::get_metrics))
        .route("/v1/log", get(log_routes::get_log))
        .route("/v1/checkpoint", get(log_routes::get_checkpoint))
        .route("/v1/entries", get(log_routes::list_entries))
        .route("/v1/entries/{seq}", get(log_routes::get_entry))
        .route(
            "/v1/entries/{seq}/proof",
            get(log_routes::get_inclusion_proof),
        )
        .route(
            "/v1/proofs/consistency",
            get(log_routes::get_consistency_proof),
        )
        .route("/v1/admin/orgs", post(admin::register_org))
        .route(
            "/v1/admin/orgs/{org}/token",
            post(admin::reissue_org_token).delete(admin::revoke_org_token),
        )
        .route("/v1/orgs", get(orgs::list_orgs))
        .route("/v1/orgs/{org}", get(orgs::get_org))
        .route(
            "/v1/orgs/{org}/beneficiaries",
            post(beneficiaries::create_beneficiary).get(beneficiaries::list_beneficiaries),
        )
        .route(
            "/v1/orgs/{org}/beneficiaries/batch",
            post(beneficiaries::create_beneficiaries_batch)
                .layer(DefaultBodyLimit::max(write::MAX_BATCH_BODY_BYTES)),
        )
        .route(
            "/v1/orgs/{org}/beneficiaries/{id}",
            get(beneficiaries::get_beneficiary),
        )
        .route(
            "/v1/orgs/{org}/campaigns",
            post(campaigns::create_campaign).get(campaigns::list_campaigns),
        )
        .route(
            "/v1/orgs/{org}/campaigns/{campaign}",
            get(campaigns::get_campaign),
        )
        .route(
            "/v1/orgs/{org}/campaigns/{campaign}/beneficiaries",
            post(campaigns::state_beneficiaries),
        )
        .route(
            "/v1/orgs/{org}/donations",
            post(donations::create_donation).get(donations::list_donations),
        )
        .route(
            "/v1/orgs/{org}/donations/batch",
            post(donations::create_donations_batch)
                .layer(DefaultBodyLimit::max(write::MAX_BATCH_BODY_BYTES)),
        )
        .route(
            "/v1/orgs/{org}/donations/{id}",
            get(donations::get_donation),
        )
        .route(
            "/v1/orgs/{org}/donations/{id}/trace",
            get(donations::trace_donation),
        )
        .route(
            "/v1/orgs/{org}/disbursements",
            post(disbursements::create_disbursement).get(disbursements::list_disbursements),
        )
        .route(
            "/v1/orgs/{org}/disbursements/batch",
            post(disbursements::create_disbursements_batch)
                .layer(DefaultBodyLimit::max(write::MAX_BATCH_BODY_BYTES)),
        )
        .route(
            "/v1/orgs/{org}/disbursements/{id}",
            get(disbursements::get_disbursement),
        )
        .route(
            "/v1/orgs/{org}/disbursements/{id}/sources",
            get(disbursements::disbursement_sources),
        )
        .route(
            "/v1/orgs/{org}/corrections",
            post(corrections::create_correction),
        )
        .route(
            "/v1/orgs/{org}/disbursements/{id}/acknowledgement",
            post(statements::acknowledge_disbursement),
        )
        .route(
            "/v1/orgs/{org}/reports",
            post(statements::publish_report).get(statements::list_reports),
        )
        .route("/v1/orgs/{org}/reports/{id}", get(statements::get_report))
        .route(
            "/v1/orgs/{org}/report-figures",
            get(statements::get_report_figures),
        )
        .route("/v1/orgs/{org}/key", post(statements::rotate_org_key))
        .route("/v1/donors/lookup", post(donations::donor_lookup))
        .route(openapi::OPENAPI_PATH, get(openapi::openapi_json))
        .merge(openapi::docs_routes())
}

/// Liveness: answers without touching storage.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "meta",
    responses((status = 200, description = "The process is up.", body = String,
        content_type = "text/plain; charset=utf-8", example = "ok\n")),
)]
pub(crate) async fn healthz() -> &'static str {
    "ok\n"
}

/// Readiness: answers 200 only when the writer runs and the database answers (a load
/// balancer sends traffic here only then).
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "meta",
    responses(
        (status = 200, description = "The writer runs and the database answers; the log can be read and written.",
            body = String, content_type = "text/plain; charset=utf-8", example = "ready\n"),
        (status = 503, response = openapi::problem::Unavailable),
    ),
)]
pub(crate) async fn readyz(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> Result<&'static str, ApiError> {
    if let Some(reason) = state.sequencer.stopped() {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            format!("not ready: {reason}; the service stops shortly to be restarted"),
        ));
    }
    state.store.latest_checkpoint().await?;
    Ok("ready\n")
}

/// Answers every path no route takes: 404 as problem+json.
pub async fn not_found() -> ApiError {
    ApiError::not_found("no such route; see /openapi.json for the API")
}

/// Answers a known path with a method it does not take: 405 as problem+json.
pub async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method-not-allowed",
        "this route does not accept that method",
    )
}
