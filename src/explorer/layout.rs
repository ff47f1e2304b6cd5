//! The page shell every explorer page shares: document head, navigation, footer, and the
//! headers that make a page safe to serve (a Content-Security-Policy allowing only this
//! service's own scripts and styles, so even a string that slipped past escaping could
//! not run; no referrer, so a lookup's URL never travels to another site).

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use super::assets;
use super::html::{Html, percent_encode};
use super::i18n::{self, Locale};

/// Only this service's own files; no inline script or style, no frames, no plugins.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
    style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; \
    base-uri 'none'; frame-ancestors 'none'";

/// A whole page: `title` (outside text, escaped), the `main` content, and the embedded
/// scripts (module scripts, by asset name) it runs.
pub fn page(title: &str, main: Html, scripts: &[&'static str]) -> Response {
    let locale = i18n::current();
    let mut html = Html::new();
    html.raw("<!doctype html>\n<html lang=\"")
        .raw(locale.tag())
        .raw("\">\n<head>\n<meta charset=\"utf-8\">\n")
        .raw("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
        .raw("<title>")
        .text(title)
        .raw(" · ")
        .t("page-title-suffix")
        .raw("</title>\n")
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
    html.raw("</head>\n<body>\n<a class=\"skip\" href=\"#main\">")
        .t("site-skip")
        .raw("</a>\n<header class=\"site\"><nav aria-label=\"")
        .t("nav-main")
        .raw("\"><ul>")
        .raw("<li><a href=\"/\" class=\"brand\">pennytrail</a></li>")
        .raw("<li><a href=\"/lookup\">")
        .t("nav-lookup")
        .raw("</a></li><li><a href=\"/downloads\">")
        .t("nav-downloads")
        .raw("</a></li><li><a href=\"/docs\">")
        .t("nav-api")
        .raw("</a></li></ul></nav>\n")
        .append(language_switch(locale))
        .raw("</header>\n<main id=\"main\">\n")
        .append(main)
        .raw("</main>\n<footer class=\"site\"><p>")
        .message("footer", &[])
        .raw("</p></footer>\n</body>\n</html>\n");
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

/// Links to this page in each language the explorer speaks, each named in its own
/// language; following one remembers the choice (`/language`).
fn language_switch(current: Locale) -> Html {
    let back = percent_encode(&i18n::current_path());
    let mut html = Html::new();
    html.raw("<nav class=\"langs\" aria-label=\"")
        .t("nav-language")
        .raw("\"><ul>");
    for locale in Locale::ALL {
        html.raw("<li><a lang=\"")
            .raw(locale.tag())
            .raw("\" hreflang=\"")
            .raw(locale.tag())
            .raw("\" href=\"/language?set=")
            .raw(locale.tag())
            .raw("&amp;back=")
            .text(&back)
            .raw("\"");
        if locale == current {
            html.raw(" aria-current=\"true\"");
        }
        html.raw(">").raw(locale.endonym()).raw("</a></li>");
    }
    html.raw("</ul></nav>\n");
    html
}
