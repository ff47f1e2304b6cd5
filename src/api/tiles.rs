//! The log as C2SP tlog-tiles under the prefix `/log` (DESIGN.md "Public surface";
//! `../shared/standards/c2sp/tlog-tiles.md`): `/log/checkpoint`, which changes, and
//! `/log/tile/…`, which never does. A tile is answered from the [`TileCache`] when it
//! holds it, so a warm cache answers without touching the database; a CDN in front
//! caches every tile for a year.
//!
//! [`TileCache`]: crate::read::tiles::TileCache

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};

use super::error::{ApiError, Problem};
use super::extract::ApiPath;
use super::openapi::{PROBLEM_JSON, problem};
use crate::app::AppState;
use crate::input::PathParams;
use crate::log::tiles::{TileId, TileKind};
use crate::read::tiles::{ServedTile, read_tile};

/// Seconds a cache may keep `/log/checkpoint`: the spec asks for no more than a few.
pub const CHECKPOINT_MAX_AGE_S: u32 = 2;
/// What every tile and bundle is: immutable content.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// `GET /log/checkpoint`: the latest signed checkpoint, as at `/v1/checkpoint`; on a
/// witnessed log, the latest witnessed one with its cosignatures (as at
/// `/v1/checkpoint?witnessed=true`), so that tile clients and static copies see only
/// checkpoints the witnesses vouch for.
#[utoipa::path(
    get,
    path = "/log/checkpoint",
    operation_id = "get_tiles_checkpoint",
    tag = "tiles",
    summary = "The latest signed checkpoint (tlog-tiles)",
    description = "The latest signed checkpoint, verbatim (the same note as \
        `/v1/checkpoint`); on a log with a witness policy, the latest witnessed checkpoint \
        with its cosignatures (as `/v1/checkpoint?witnessed=true`). Cached for at most a \
        few seconds.",
    responses(
        (status = 200, description = "A C2SP signed-note checkpoint.", body = String,
            content_type = "text/plain; charset=utf-8"),
        (status = 503, response = problem::NotWitnessedYet),
    ),
)]
pub async fn get_checkpoint(State(state): State<AppState>) -> Result<Response, ApiError> {
    let checkpoint = if state.witness_policy.is_some() {
        super::log_routes::witnessed_checkpoint(&state, 0).await?
    } else {
        state.store.latest_checkpoint().await?
    };
    let mut response = checkpoint.note.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_str(&format!("public, max-age={CHECKPOINT_MAX_AGE_S}"))
            .expect("a header value"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    Ok(response)
}

/// The router's spelling of the tile route (the rest of the path is one parameter).
pub const TILE_ROUTE: &str = "/log/tile/{*path}";

/// The tile route's OpenAPI description, merged into the API's document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(get_tile))]
pub struct TileDoc;

/// `GET /log/tile/{path}`: a hash tile (`<L>/<N>[.p/<W>]`) or an entry bundle
/// (`entries/<N>[.p/<W>]`).
#[utoipa::path(
    get,
    path = "/log/tile/{path}",
    tag = "tiles",
    summary = "A Merkle tree tile or an entry bundle (tlog-tiles)",
    description = "`<L>/<N>[.p/<W>]` is the tile at level L (0 to 63), index N written in \
        3-digit groups (`x001/x234/067`), width W (1 to 255) when partial: W or 256 hashes \
        of 32 bytes. `entries/<N>[.p/<W>]` is the entry bundle of the same entries as the \
        level-0 tile N: each entry's exact bytes after its length as a big-endian u16; \
        gzip-compressed when the request accepts gzip. Every tile is immutable.",
    // The pattern promises indexes up to 18 digits (the parser also takes the few longer
    // ones below 2^64): level 0-63 or `entries`, the index in 3-digit groups without a
    // leading `x000`, an optional `.p/<1-255>`.
    params(("path" = String, Path,
        pattern = r"^(entries|[0-9]|[1-5][0-9]|6[0-3])/(x(00[1-9]|0[1-9][0-9]|[1-9][0-9]{2})/(x[0-9]{3}/){0,4})?[0-9]{3}(\.p/([1-9]|[1-9][0-9]|1[0-9]{2}|2[0-4][0-9]|25[0-5]))?$",
        description = "The tile's path below `/log/tile/`, e.g. `0/x001/234` or `entries/005.p/17`.")),
    responses(
        (status = 200, description = "The tile's bytes.", body = Vec<u8>,
            content_type = "application/octet-stream"),
        (status = 400, description = "The path is not a tile path (`field` is `path`).",
            body = Problem, content_type = PROBLEM_JSON),
        (status = 404, description = "The latest checkpoint does not hold this tile.",
            body = Problem, content_type = PROBLEM_JSON),
        (status = 503, response = problem::Unavailable),
    ),
)]
pub async fn get_tile(
    State(state): State<AppState>,
    PathParams(tile, _): ApiPath<TileId>,
    request: HeaderMap,
) -> Result<Response, ApiError> {
    // A cached tile exists: the log never shrinks, so no checkpoint needs reading.
    let served = match state.tiles.get(&tile) {
        Some(served) => served,
        None => {
            let checkpoint = state.store.latest_checkpoint().await?;
            if !tile.exists_in(checkpoint.size) {
                return Err(ApiError::not_found(format!(
                    "the latest checkpoint ({} entries) does not hold tile/{}",
                    checkpoint.size,
                    tile.path().trim_start_matches("tile/")
                )));
            }
            let served = ServedTile::new(tile, read_tile(&state.store, tile).await?);
            state.tiles.insert(tile, served.clone());
            served
        }
    };
    let gzip = served.gzip.filter(|_| accepts_gzip(&request));
    let compressed = gzip.is_some();
    let mut response = gzip.unwrap_or(served.bytes).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(IMMUTABLE));
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    if tile.kind == TileKind::Entries {
        headers.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    }
    if compressed {
        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    Ok(response)
}

/// Whether `Accept-Encoding` allows gzip: named (or `*`) without `q=0`.
fn accepts_gzip(request: &HeaderMap) -> bool {
    let mut gzip = None;
    let mut any = None;
    for value in request.get_all(header::ACCEPT_ENCODING) {
        let Ok(value) = value.to_str() else { continue };
        for item in value.split(',') {
            let mut parts = item.split(';').map(str::trim);
            let coding = parts.next().unwrap_or("").to_ascii_lowercase();
            let refused = parts.any(|p| {
                p.strip_prefix("q=").is_some_and(|q| {
                    q == "0"
                        || q.strip_prefix("0.")
                            .is_some_and(|d| d.bytes().all(|b| b == b'0'))
                })
            });
            match coding.as_str() {
                "gzip" | "x-gzip" => gzip = Some(!refused),
                "*" => any = Some(!refused),
                _ => {}
            }
        }
    }
    gzip.or(any).unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzip_is_used_only_when_accepted() {
        let accepts = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(
                header::ACCEPT_ENCODING,
                HeaderValue::from_str(value).unwrap(),
            );
            accepts_gzip(&headers)
        };
        for yes in [
            "gzip",
            "gzip, identity",
            "br;q=1.0, GZIP;q=0.5",
            "*",
            "identity, *;q=0.1",
        ] {
            assert!(accepts(yes), "{yes}");
        }
        for no in [
            "identity",
            "br",
            "gzip;q=0",
            "gzip; q=0.000",
            "*, gzip;q=0",
            "*;q=0",
            "",
        ] {
            assert!(!accepts(no), "{no}");
        }
        assert!(!accepts_gzip(&HeaderMap::new()));
    }
}
