//! The whole application router: the API's routes and the explorer's pages, under the
//! request body limit and the request timeout; the export downloads, which stream for as
//! long as the log takes, outside the timeout (and limited in number instead); and the
//! layers every answer passes: bare errors made problem+json, `Connection: close` when a
//! request body was left unread, and the metrics and access log.

use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use tower_http::timeout::TimeoutLayer;

use super::AppState;
use crate::api::{self, error, observe, unread_body};
use crate::explorer;

/// Builds the router; a request that takes longer than `request_timeout` (exports aside)
/// is answered 408.
pub fn router(state: AppState, request_timeout: Duration) -> Router {
    let api = api::api();
    api.timed
        .merge(explorer::router())
        .fallback(api::not_found)
        .method_not_allowed_fallback(api::method_not_allowed)
        .layer(api::body_limit(api::MAX_REQUEST_BODY_BYTES))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            request_timeout,
        ))
        .merge(api.untimed)
        .layer(axum::middleware::map_response(
            error::problem_for_bare_errors,
        ))
        .layer(axum::middleware::from_fn(unread_body::close_if_body_unread))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            observe::observe,
        ))
        .with_state(state)
}
