//! The explorer's static files (stylesheet, icon, the in-browser verifier), embedded in
//! the binary so the explorer works offline and needs no CDN. They are served under
//! `/assets/<version>/<name>`, where the version is a hash of all of them: a page always
//! loads the files it was written for, and browsers may cache them for good.

use std::sync::LazyLock;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::PagePath;
use crate::input::{FileName, PathParams};
use crate::log::hash::sha256;

/// One embedded file.
pub struct Asset {
    pub name: &'static str,
    pub content_type: &'static str,
    pub bytes: &'static [u8],
}

/// Every embedded file. `verify.js` holds the pure verification functions (also run by
/// Node in tests/e2e); `lookup.js` wires them to the lookup page.
pub const ASSETS: [Asset; 4] = [
    Asset {
        name: "explorer.css",
        content_type: "text/css; charset=utf-8",
        bytes: include_bytes!("assets/explorer.css"),
    },
    Asset {
        name: "favicon.svg",
        content_type: "image/svg+xml",
        bytes: include_bytes!("assets/favicon.svg"),
    },
    Asset {
        name: "verify.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("assets/verify.js"),
    },
    Asset {
        name: "lookup.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("assets/lookup.js"),
    },
];

/// A year: the longest lifetime caches honour; a new build changes the version anyway.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// First 12 hex digits of SHA-256 over every asset's name and bytes.
static VERSION: LazyLock<String> = LazyLock::new(|| {
    let mut all = Vec::new();
    for asset in &ASSETS {
        all.extend_from_slice(asset.name.as_bytes());
        all.push(0);
        all.extend_from_slice(&(asset.bytes.len() as u64).to_be_bytes());
        all.extend_from_slice(asset.bytes);
    }
    sha256(&all).to_hex()[..12].to_string()
});

pub fn version() -> &'static str {
    &VERSION
}

/// The URL of the embedded file `name`.
pub fn url(name: &str) -> String {
    debug_assert!(
        ASSETS.iter().any(|a| a.name == name),
        "{name} is not embedded"
    );
    format!("/assets/{}/{name}", version())
}

/// `GET /assets/{version}/{file}`. A page of an older version (open in a tab across an
/// upgrade) still gets the current file, but marked for revalidation, not for a year.
pub async fn serve(
    PathParams((asked_version, name), _): PagePath<(FileName, FileName)>,
) -> Response {
    let Some(asset) = ASSETS.iter().find(|a| a.name == name.as_str()) else {
        return (StatusCode::NOT_FOUND, "no such asset").into_response();
    };
    let mut response = asset.bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    let cache = if asked_version.as_str() == version() {
        IMMUTABLE
    } else {
        "no-cache"
    };
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    if let Ok(etag) = HeaderValue::from_str(&format!("\"{}\"", version())) {
        headers.insert(header::ETAG, etag);
    }
    response
}
