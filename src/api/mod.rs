//! The HTTP surface: one module per resource, each handler one action. Routes are
//! declared in [`router`]; every response error goes through [`error::ApiError`].

pub mod admin;
pub mod auth;
pub mod error;
pub mod extract;
pub mod log_routes;
pub mod write;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::routing::{get, post};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::sequencer::Sequencer;
use crate::store::Store;
use error::ApiError;

/// Largest request body: a single write carries one entry of at most 16 KiB of fields,
/// so 64 KiB leaves room for JSON escaping and never needs more.
pub const MAX_REQUEST_BODY_BYTES: usize = 64 * 1024;

/// Longest a request may take before it is answered 408; appends normally take
/// milliseconds, so 30 s only cuts off a stuck client or a stalled database.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Shared by every handler.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub sequencer: Sequencer,
    pub log: Arc<LogIdentity>,
}

/// The log's public identity, fixed for the life of the process.
#[derive(Debug, Clone)]
pub struct LogIdentity {
    pub origin: String,
    pub verifier_key: String,
}

/// Builds the whole application router.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
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
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_REQUEST_BODY_BYTES))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Liveness: answers without touching storage.
async fn healthz() -> &'static str {
    "ok\n"
}

async fn not_found() -> ApiError {
    ApiError::not_found("no such route; see /openapi.json for the API")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method-not-allowed",
        "this route does not accept that method",
    )
}
