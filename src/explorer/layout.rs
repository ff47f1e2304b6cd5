//! The page shell every explorer page shares: document head, navigation, footer, and the
//! headers that make a page safe to serve (a Content-Security-Policy allowing only this
//! service's own scripts and styles, so even a string that slipped past escaping could
//! not run; no referrer, so a lookup's URL never travels to another site).

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use super::assets;
use super::html::Html;

/// Only this service's own files; no inline script or style, no frames, no plugins.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
    style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; \
    base-uri 'none'; frame-ancestors 'none'";

/// A whole page: `title` (outside text, escaped), the `main` content, and the embedded
/// scripts (module scripts, by asset name) it runs.
pub fn page(title: &str, main: Html, scripts: &[&'static str]) -> Response {
    let mut html = Html::new();
    html.raw("<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
        .raw("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
        .raw("<title>")
        .text(title)
        .raw(" · pennytrail</title>\n")
        .raw("<link rel=\"stylesheet\" href=\"")
        .text(&assets::url("explorer.css"))
        .raw("\">\n<link rel=\"icon\" href=\"")
        .text(&assets::url("favicon.svg"))
        .raw("\" type=\"image/svg+xml\">\n");
    for script in scripts {
        html.raw("<script type=\"module\" src=\"")
            .text(&assets::url(script))
            .raw("\"></script>\n");
    }
    html.raw("</head>\n<body>\n<a class=\"skip\" href=\"#main\">Skip to content</a>\n")
        .raw("<header class=\"site\"><nav aria-label=\"Main\"><ul>")
        .raw("<li><a href=\"/\" class=\"brand\">pennytrail</a></li>")
        .raw("<li><a href=\"/lookup\">Find a donation</a></li>")
        .raw("<li><a href=\"/downloads\">Downloads</a></li>")
        .raw("<li><a href=\"/docs\">API</a></li>")
        .raw("</ul></nav></header>\n<main id=\"main\">\n")
        .append(main)
        .raw(
            "</main>\n<footer class=\"site\"><p>Every figure here comes from a public, \
              append-only, signed log. It proves what the charity <em>stated</em> and that \
              everyone sees the same statements — not that a statement is true. \
              <a href=\"/downloads\">Download everything</a> and check it yourself.</p></footer>\n",
        )
        .raw("</body>\n</html>\n");
    let mut response = html.into_string().into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    // Pages show the live log: revalidate every time.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}
