//! What every request leaves behind for the operator: a request id (the client's
//! `x-request-id` if it is sane, a fresh one otherwise) echoed in the answer and attached
//! to every log line the request causes, a log line when it ends, and its metrics.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tracing::Instrument as _;

use crate::app::AppState;

/// The header carrying the request id, both ways.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// Longest client-supplied request id that is kept; longer ones are replaced.
pub const MAX_REQUEST_ID_LEN: usize = 64;

/// A client's id is kept only if it is short and made of characters that cannot forge
/// log structure (letters, digits, `-`, `_`, `.`, `:`).
fn acceptable_request_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_REQUEST_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

/// 128 random bits in hex.
fn fresh_request_id() -> String {
    let mut bytes = [0u8; 16];
    if getrandom::fill(&mut bytes).is_err() {
        // Not security relevant: ids only correlate log lines. Fall back to the clock.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        bytes = nanos.to_be_bytes();
    }
    hex::encode(bytes)
}

/// The request id a request carries, once [`observe`] has run.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Middleware: request id, a span around the handler, the closing log line, metrics.
pub async fn observe(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = request
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| acceptable_request_id(v))
        .map(str::to_owned)
        .unwrap_or_else(fresh_request_id);
    let method = request.method().as_str().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned());
    request.extensions_mut().insert(RequestId(id.clone()));
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = %method,
        route = route.as_deref().unwrap_or("unmatched"),
    );
    let mut response = next.run(request).instrument(span.clone()).await;
    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    span.in_scope(|| {
        let latency_us = crate::metrics::micros(elapsed);
        if status >= 500 {
            tracing::error!(status, latency_us, "request failed");
        } else {
            tracing::debug!(status, latency_us, "request finished");
        }
    });
    state
        .metrics
        .record_request(&method, route.as_deref(), status, elapsed);
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    response
}

/// `GET /metrics`: the Prometheus text exposition.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "meta",
    responses((status = 200, description = "Prometheus metrics (text format 0.0.4): appends, \
        batch sizes, commit and request latencies, answers by route and status.",
        body = String, content_type = "text/plain; version=0.0.4; charset=utf-8")),
)]
pub async fn get_metrics(State(state): State<AppState>) -> Response {
    let mut text = state.metrics.render();
    if let Some(file) = state.store.tree_file() {
        crate::metrics::render_tree_file(&mut text, file.len(), file.is_usable());
    }
    crate::metrics::render_tile_cache(&mut text, &state.tiles.stats());
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_that_could_forge_logs_are_replaced() {
        assert!(acceptable_request_id("abc-123_x.y:z"));
        assert!(acceptable_request_id(&"a".repeat(MAX_REQUEST_ID_LEN)));
        assert!(!acceptable_request_id(&"a".repeat(MAX_REQUEST_ID_LEN + 1)));
        assert!(!acceptable_request_id(""));
        assert!(!acceptable_request_id("a b"));
        assert!(!acceptable_request_id("a\"}"));
        let fresh = fresh_request_id();
        assert_eq!(fresh.len(), 32);
        assert!(acceptable_request_id(&fresh));
        assert_ne!(fresh, fresh_request_id());
    }
}
