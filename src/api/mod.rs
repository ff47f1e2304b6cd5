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
pub mod json_words;
pub mod log_routes;
pub mod observe;
pub mod openapi;
pub mod orgs;
pub mod page;
pub mod statements;
pub mod tiles;
pub mod unread_body;
pub mod write;

use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use utoipa::OpenApi as _;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt as _};
use utoipa_axum::routes;

use crate::app::AppState;
use error::ApiError;

/// Largest request body: a single write carries one entry of at most 16 KiB of fields,
/// so 64 KiB leaves room for JSON escaping and never needs more.
pub const MAX_REQUEST_BODY_BYTES: usize = 64 * 1024;

/// A route's largest request body, kept beside the layer that enforces it so that the 413
/// answer can say the limit ([`extract::ApiJson`] reads it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BodyLimit(pub usize);

/// The layers limiting a route's body to `bytes`: the limit and its statement.
pub fn body_limit(bytes: usize) -> (DefaultBodyLimit, axum::Extension<BodyLimit>) {
    (
        DefaultBodyLimit::max(bytes),
        axum::Extension(BodyLimit(bytes)),
    )
}

/// Default of the longest a request may take before it is answered 408 (`serve
/// --request-timeout-seconds`); appends normally take milliseconds, so 30 s only cuts off
/// a stuck client or a stalled database.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The API: its routes, each declared once with its OpenAPI description, and the
/// document they make. The export downloads are apart because they stream outside the
/// request timeout; [`crate::app::router`] adds the layers and the explorer.
pub struct Api {
    pub timed: Router<AppState>,
    pub untimed: Router<AppState>,
    pub document: utoipa::openapi::OpenApi,
}

/// Builds the API (a pure function: the service and [`openapi::document`] both call it).
pub fn api() -> Api {
    let batch_limit = || body_limit(write::MAX_BATCH_BODY_BYTES);
    let (timed, mut document) = OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .routes(routes!(observe::get_metrics))
        .routes(routes!(openapi::openapi_json))
        .routes(routes!(log_routes::get_log))
        .routes(routes!(log_routes::get_checkpoint))
        .routes(routes!(log_routes::list_entries))
        .routes(routes!(log_routes::get_entry))
        .routes(routes!(log_routes::get_inclusion_proof))
        .routes(routes!(log_routes::get_consistency_proof))
        .routes(routes!(tiles::get_checkpoint))
        .routes(routes!(admin::register_org))
        .routes(routes!(admin::state_org_key))
        .routes(routes!(admin::reissue_org_token, admin::revoke_org_token))
        .routes(routes!(orgs::list_orgs))
        .routes(routes!(orgs::get_org))
        .routes(routes!(
            beneficiaries::create_beneficiary,
            beneficiaries::list_beneficiaries
        ))
        .routes(routes!(beneficiaries::create_beneficiaries_batch).layer(batch_limit()))
        .routes(routes!(beneficiaries::get_beneficiary))
        .routes(routes!(
            campaigns::create_campaign,
            campaigns::list_campaigns
        ))
        .routes(routes!(campaigns::get_campaign))
        .routes(routes!(campaigns::state_beneficiaries))
        .routes(routes!(
            donations::create_donation,
            donations::list_donations
        ))
        .routes(routes!(donations::create_donations_batch).layer(batch_limit()))
        .routes(routes!(donations::get_donation))
        .routes(routes!(donations::trace_donation))
        .routes(routes!(donations::donation_receipt))
        .routes(routes!(
            disbursements::create_disbursement,
            disbursements::list_disbursements
        ))
        .routes(routes!(disbursements::create_disbursements_batch).layer(batch_limit()))
        .routes(routes!(disbursements::get_disbursement))
        .routes(routes!(disbursements::disbursement_sources))
        .routes(routes!(corrections::create_correction))
        .routes(routes!(donations::donor_lookup))
        .routes(routes!(statements::acknowledge_disbursement))
        .routes(routes!(
            statements::publish_report,
            statements::list_reports
        ))
        .routes(routes!(statements::get_report))
        .routes(routes!(statements::get_report_figures))
        .routes(routes!(statements::rotate_org_key))
        .split_for_parts();
    let (untimed, exports) = OpenApiRouter::new()
        .routes(routes!(exports::get_export))
        .split_for_parts();
    document.merge(exports);
    // A tile path is matched by a wildcard, which OpenAPI cannot spell: the route is
    // added here, its description comes from the same handler's #[utoipa::path].
    let timed = timed.route(tiles::TILE_ROUTE, axum::routing::get(tiles::get_tile));
    document.merge(tiles::TileDoc::openapi());
    openapi::document_timeouts(&mut document);
    Api {
        timed: timed.merge(openapi::docs_routes()),
        untimed,
        document,
    }
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
