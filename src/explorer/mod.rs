//! The public explorer: server-rendered pages for people who will never run a CLI — the
//! log's identity, each charity and campaign with a flow diagram, a donation lookup whose
//! receipts the visitor's own browser verifies against a key the visitor pinned, and the
//! downloads. Pages read the store through the same views the JSON API answers from
//! ([`crate::read`]), so a page can never show a figure the API would not.
//!
//! Everything a page needs is in this binary: the CSS and the verifier's JavaScript are
//! embedded ([`assets`]), nothing is fetched from elsewhere, and every page reads without
//! JavaScript except for the in-browser verification. Routes are declared in [`router`];
//! pages are not part of the OpenAPI document (they are not an API).

pub mod assets;
mod campaign;
mod caps;
pub mod downloads;
mod home;
pub mod html;
pub mod i18n;
mod language;
mod layout;
mod lookup;
mod names;
mod org;
mod qr;
pub mod sankey;

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::app::AppState;
use crate::input::BadInput;
use crate::read::ReadError;
use crate::store::StoreError;
use html::Html;

/// The explorer's routes, merged with the API's in [`crate::app::router`]: answered in the
/// visitor's language ([`i18n::choose_language`]) and compressed (gzip or brotli, as the
/// browser accepts; a page is a few kilobytes over a slow connection).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(home::home))
        .route("/orgs/{org}", get(org::org_page))
        .route(
            "/orgs/{org}/campaigns/{campaign}",
            get(campaign::campaign_page),
        )
        .route(
            "/lookup",
            get(lookup::lookup_page).post(lookup::donor_lookup_form),
        )
        .route("/downloads", get(downloads::downloads_page))
        .route("/language", get(language::choose))
        .route("/assets/{version}/{file}", get(assets::serve))
        .layer(axum::middleware::from_fn(i18n::choose_language))
        .layer(tower_http::compression::CompressionLayer::new())
}

/// A page that could not be shown, rendered as an HTML page with the reason (and the
/// field at fault); a server-side failure says only that the log is unavailable (the
/// details are logged by [`PageError::unavailable`]). The explorer's own reasons come from
/// the catalogues; a reason written by the layers it shares with the API (a malformed
/// parameter, a limit) is in English, and the page says so in the reader's language.
#[derive(Debug)]
pub struct PageError {
    status: StatusCode,
    detail: String,
    /// Whether `detail` is the API's English rather than a catalogue message.
    in_english: bool,
    field: Option<String>,
    retry_after_s: Option<u64>,
}

impl PageError {
    pub fn new(status: StatusCode, detail: impl Into<String>) -> PageError {
        PageError {
            status,
            detail: detail.into(),
            in_english: false,
            field: None,
            retry_after_s: None,
        }
    }

    /// The same error, its detail being the API's English.
    fn in_english(self) -> PageError {
        PageError {
            in_english: true,
            ..self
        }
    }

    pub fn not_found(detail: impl Into<String>) -> PageError {
        PageError::new(StatusCode::NOT_FOUND, detail)
    }

    /// A server-side failure: logged in full, shown to the visitor without details.
    pub fn unavailable(context: &str, error: &dyn std::fmt::Display) -> PageError {
        tracing::error!(%error, "{context}");
        PageError::new(StatusCode::SERVICE_UNAVAILABLE, i18n::t("error-outage"))
    }

    /// 400: the query parameter or form field `field` is wrong.
    pub fn bad_field(field: &str, detail: impl Into<String>) -> PageError {
        PageError {
            field: Some(field.to_string()),
            ..PageError::new(StatusCode::BAD_REQUEST, detail)
        }
    }
}

impl From<BadInput> for PageError {
    fn from(e: BadInput) -> PageError {
        PageError {
            field: e.field,
            ..PageError::new(StatusCode::BAD_REQUEST, e.detail).in_english()
        }
    }
}

impl From<ReadError> for PageError {
    fn from(e: ReadError) -> PageError {
        let page = match e {
            ReadError::NotFound(detail) => PageError::not_found(detail),
            // A field the visitor typed is a bad request to a person (the JSON API's 422
            // means "valid JSON, invalid value").
            ReadError::Invalid(field) => PageError::bad_field(&field.field, field.to_string()),
            ReadError::Limited(limited) => PageError {
                retry_after_s: Some(limited.retry_after_s),
                ..PageError::new(StatusCode::TOO_MANY_REQUESTS, limited.to_string())
            },
            ReadError::Busy {
                retry_after_s,
                detail,
            } => PageError {
                retry_after_s: Some(retry_after_s),
                ..PageError::new(StatusCode::SERVICE_UNAVAILABLE, detail)
            },
            ReadError::NotWitnessedYet(detail) => PageError {
                retry_after_s: Some(crate::read::witnessed::RETRY_AFTER_S),
                ..PageError::new(StatusCode::SERVICE_UNAVAILABLE, detail)
            },
            ReadError::Store(store) => return store.into(),
        };
        page.in_english()
    }
}

impl From<StoreError> for PageError {
    fn from(e: StoreError) -> PageError {
        PageError::unavailable("storage error", &e)
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let title = i18n::t(match self.status.as_u16() {
            400 => "error-title-400",
            404 => "error-title-404",
            415 => "error-title-415",
            429 => "error-title-429",
            503 => "error-title-503",
            _ => "error-title-other",
        });
        let mut body = Html::new();
        body.raw("<h1>").text(&title).raw("</h1>\n");
        if self.in_english && i18n::current() != i18n::Locale::En {
            body.raw("<p>").t("error-in-english").raw("</p>\n");
        }
        body.raw("<p class=\"error-detail\">")
            .text(&self.detail)
            .raw("</p>\n");
        if let Some(field) = &self.field {
            body.raw("<p>")
                .t("error-field")
                .raw(" <code class=\"error-field\">")
                .text(field)
                .raw("</code></p>\n");
        }
        body.raw("<p>").message("error-way-on", &[]).raw("</p>\n");
        let mut response = layout::page(&title, body, &[]);
        *response.status_mut() = self.status;
        if let Some(seconds) = self.retry_after_s {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// Query parameters of a page: parsed as the API's are, but a malformed query string is
/// answered with an HTML page naming the parameter.
pub type PageQuery = crate::input::Query<PageError>;

/// Path parameters of a page: parsed as the API's are, but a malformed one is answered
/// with an HTML page naming it.
pub type PagePath<T> = crate::input::PathParams<T, PageError>;

pub use i18n::format::{amount, count, date_time, permille};
