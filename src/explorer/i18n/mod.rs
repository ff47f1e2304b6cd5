//! The explorer's languages. Every text a visitor reads comes from one message catalogue
//! per language (Project Fluent files in `catalogues/<tag>/`, compiled into the binary),
//! and amounts, counts and dates are written the reader's way ([`format`]).
//!
//! A request's language is chosen once, by [`choose_language`] (a layer over the
//! explorer's routes): the `lang` cookie the page's language switch sets, else the
//! browser's `Accept-Language`, else English. The page code reads it from the request's
//! task ([`current`]), so no function needs it passed along. How to add a language:
//! docs/translating.md.

pub mod format;

use std::sync::LazyLock;

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};

/// A language the explorer speaks completely.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Locale {
    En,
    Fr,
    Sw,
}

impl Locale {
    pub const ALL: [Locale; 3] = [Locale::En, Locale::Fr, Locale::Sw];

    /// The BCP 47 tag (`<html lang>`, `Content-Language`, the cookie's value).
    pub fn tag(self) -> &'static str {
        match self {
            Locale::En => "en",
            Locale::Fr => "fr",
            Locale::Sw => "sw",
        }
    }

    /// The language's name in itself, for the switch.
    pub fn endonym(self) -> &'static str {
        match self {
            Locale::En => "English",
            Locale::Fr => "Français",
            Locale::Sw => "Kiswahili",
        }
    }

    /// The language a tag names (`fr`, `fr-CA`, `SW-ke`), if the explorer speaks it.
    pub fn from_tag(tag: &str) -> Option<Locale> {
        let primary = tag.split(['-', '_']).next()?.trim();
        Locale::ALL
            .into_iter()
            .find(|l| l.tag().eq_ignore_ascii_case(primary))
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// What a page needs to know about the request it answers: its language and its own
/// path and query (for the language switch's way back).
#[derive(Debug, Clone)]
pub struct PageRequest {
    pub locale: Locale,
    pub path_and_query: String,
}

tokio::task_local! {
    static REQUEST: PageRequest;
}

/// The language of the request being answered (English outside a request).
pub fn current() -> Locale {
    REQUEST.try_with(|r| r.locale).unwrap_or(Locale::En)
}

/// The path and query of the request being answered (`/` outside a request).
pub fn current_path() -> String {
    REQUEST
        .try_with(|r| r.path_and_query.clone())
        .unwrap_or_else(|_| "/".to_string())
}

/// The name of the cookie that remembers a visitor's choice of language.
pub const COOKIE: &str = "lang";

/// The language for a request: the `lang` cookie if it names one the explorer speaks,
/// else the first language of `Accept-Language` (by quality, then order) it speaks, else
/// English.
pub fn negotiate(headers: &HeaderMap) -> Locale {
    if let Some(chosen) = cookie(headers, COOKIE).and_then(Locale::from_tag) {
        return chosen;
    }
    let Some(accept) = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
    else {
        return Locale::En;
    };
    let mut best: Option<(u16, Locale)> = None;
    for item in accept.split(',').take(32) {
        let mut parts = item.split(';');
        let Some(locale) = parts.next().and_then(Locale::from_tag) else {
            continue;
        };
        let quality = parts
            .find_map(|p| p.trim().strip_prefix("q="))
            .map_or(Some(1000), quality_permille);
        if let Some(q) = quality.filter(|q| *q > 0)
            && best.is_none_or(|(b, _)| q > b)
        {
            best = Some((q, locale));
        }
    }
    best.map_or(Locale::En, |(_, l)| l)
}

/// An `Accept-Language` quality (`1`, `0.8`, `0.125`) in thousandths; `None` if malformed.
fn quality_permille(q: &str) -> Option<u16> {
    let (whole, fraction) = q.trim().split_once('.').unwrap_or((q.trim(), ""));
    if fraction.len() > 3 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let fraction: u16 = format!("{fraction:0<3}").parse().ok()?;
    match whole {
        "0" => Some(fraction),
        "1" if fraction == 0 => Some(1000),
        _ => None,
    }
}

/// The value of cookie `name` in the request's `Cookie` headers.
fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (k, v) = pair.trim().split_once('=')?;
            (k == name).then_some(v)
        })
}

/// The layer over the explorer's routes: chooses the request's language, answers in it,
/// and says that the answer depends on the headers that chose it.
pub async fn choose_language(request: Request, next: Next) -> Response {
    let page = PageRequest {
        locale: negotiate(request.headers()),
        path_and_query: request
            .uri()
            .path_and_query()
            .map_or_else(|| "/".to_string(), |p| p.as_str().to_string()),
    };
    let locale = page.locale;
    let mut response = REQUEST.scope(page, next.run(request)).await;
    let headers = response.headers_mut();
    headers.insert(
        header::VARY,
        HeaderValue::from_static("Accept-Language, Cookie"),
    );
    headers.insert(
        header::CONTENT_LANGUAGE,
        HeaderValue::from_static(locale.tag()),
    );
    response
}

/// Each language's catalogue files, in the order they are loaded.
const CATALOGUES: [[&str; FILES]; 3] = [
    catalogue_files!("en"),
    catalogue_files!("fr"),
    catalogue_files!("sw"),
];

/// Files per language: one per part of the explorer.
const FILES: usize = 9;

/// The files of one language's catalogue, compiled in.
macro_rules! catalogue_files {
    ($tag:literal) => {
        [
            include_str!(concat!("catalogues/", $tag, "/common.ftl")),
            include_str!(concat!("catalogues/", $tag, "/home.ftl")),
            include_str!(concat!("catalogues/", $tag, "/lookup.ftl")),
            include_str!(concat!("catalogues/", $tag, "/org.ftl")),
            include_str!(concat!("catalogues/", $tag, "/campaign.ftl")),
            include_str!(concat!("catalogues/", $tag, "/caps.ftl")),
            include_str!(concat!("catalogues/", $tag, "/downloads.ftl")),
            include_str!(concat!("catalogues/", $tag, "/errors.ftl")),
            include_str!(concat!("catalogues/", $tag, "/browser.ftl")),
        ]
    };
}
use catalogue_files;

type Bundle = FluentBundle<FluentResource>;

/// The catalogues, parsed once. The files are part of the binary and tests parse them
/// all (`catalogues_parse_and_agree`), so a file that does not parse is a build defect.
static BUNDLES: LazyLock<Vec<Bundle>> = LazyLock::new(|| {
    Locale::ALL
        .iter()
        .map(|locale| bundle(*locale).unwrap_or_else(|e| panic!("catalogue {}: {e}", locale.tag())))
        .collect()
});

/// Parses one language's catalogue.
fn bundle(locale: Locale) -> Result<Bundle, String> {
    let tag: unic_langid::LanguageIdentifier = locale
        .tag()
        .parse()
        .map_err(|e| format!("language tag: {e}"))?;
    let mut bundle = FluentBundle::new_concurrent(vec![tag]);
    // Pages are HTML: no Unicode isolation marks around placeables.
    bundle.set_use_isolating(false);
    bundle.set_formatter(Some(format::number_formatter(locale)));
    for (n, source) in CATALOGUES[locale.index()].iter().enumerate() {
        let resource = FluentResource::try_new((*source).to_string())
            .map_err(|(_, errors)| format!("file {n}: {errors:?}"))?;
        bundle
            .add_resource(resource)
            .map_err(|errors| format!("file {n}: {errors:?}"))?;
    }
    Ok(bundle)
}

/// An argument of a message: text (escaped where the message is markup) or a number
/// (which also chooses a plural form).
pub enum Arg<'a> {
    Text(&'a str),
    Number(i64),
}

impl<'a> From<&'a str> for Arg<'a> {
    fn from(s: &'a str) -> Arg<'a> {
        Arg::Text(s)
    }
}

impl<'a> From<&'a String> for Arg<'a> {
    fn from(s: &'a String) -> Arg<'a> {
        Arg::Text(s)
    }
}

impl From<i64> for Arg<'_> {
    fn from(n: i64) -> Self {
        Arg::Number(n)
    }
}

impl From<u64> for Arg<'_> {
    fn from(n: u64) -> Self {
        Arg::Number(i64::try_from(n).unwrap_or(i64::MAX))
    }
}

impl From<usize> for Arg<'_> {
    fn from(n: usize) -> Self {
        Arg::Number(i64::try_from(n).unwrap_or(i64::MAX))
    }
}

/// Message `id` in the request's language, as plain text (escape it where it goes).
pub fn t(id: &str) -> String {
    message(current(), id, &[], false)
}

/// Message `id` with arguments, as plain text.
pub fn t_args(id: &str, args: &[(&str, Arg<'_>)]) -> String {
    message(current(), id, args, false)
}

/// Message `id` as markup: the catalogue's own markup kept, every text argument escaped.
/// Only [`super::html::Html::message`] takes it.
pub(super) fn markup(id: &str, args: &[(&str, Arg<'_>)]) -> String {
    message(current(), id, args, true)
}

/// The messages the visitor's browser shows (`js-…`, `browser.ftl`) in the request's
/// language, as a JSON object of id to text, each `{ $name }` left as `{name}` for the
/// browser to fill in. They depend on the language only, so each is built once.
pub fn browser_messages() -> &'static str {
    static MESSAGES: LazyLock<Vec<String>> =
        LazyLock::new(|| Locale::ALL.into_iter().map(browser_messages_in).collect());
    &MESSAGES[current().index()]
}

fn browser_messages_in(locale: Locale) -> String {
    let english = &BUNDLES[Locale::En.index()];
    let placeholders: Vec<(&str, Arg<'_>)> = BROWSER_VARIABLES
        .iter()
        .map(|(name, token)| (*name, Arg::Text(token)))
        .collect();
    let map: serde_json::Map<String, serde_json::Value> = CATALOGUES[Locale::En.index()][FILES - 1]
        .lines()
        .filter_map(|line| line.split_once(" = ").map(|(id, _)| id))
        .filter(|id| id.starts_with("js-") && english.has_message(id))
        .map(|id| {
            let text = message(locale, id, &placeholders, false);
            (id.to_string(), serde_json::Value::String(text))
        })
        .collect();
    serde_json::Value::Object(map).to_string()
}

/// Every variable a browser message takes, with the token the browser replaces.
const BROWSER_VARIABLES: [(&str, &str); 14] = [
    ("seq", "{seq}"),
    ("reason", "{reason}"),
    ("size", "{size}"),
    ("seen", "{seen}"),
    ("root_seen", "{root_seen}"),
    ("root", "{root}"),
    ("key", "{key}"),
    ("pinned", "{pinned}"),
    ("server", "{server}"),
    ("witnesses", "{witnesses}"),
    ("steps", "{steps}"),
    ("failed", "{failed}"),
    ("detail", "{detail}"),
    ("name", "{name}"),
];

/// Formats a message, falling back to English and then to the id itself if a catalogue
/// lacks it (which `catalogues_parse_and_agree` keeps from happening).
fn message(locale: Locale, id: &str, args: &[(&str, Arg<'_>)], escape: bool) -> String {
    let mut fluent_args = FluentArgs::new();
    for (name, arg) in args {
        let value = match arg {
            Arg::Text(text) if escape => FluentValue::from(super::html::escape(text)),
            Arg::Text(text) => FluentValue::from(*text),
            // Formatted the reader's way; the raw number still picks the plural form.
            Arg::Number(n) => FluentValue::from(*n),
        };
        fluent_args.set(*name, value);
    }
    for locale in [locale, Locale::En] {
        let bundle = &BUNDLES[locale.index()];
        if let Some(pattern) = bundle.get_message(id).and_then(|m| m.value()) {
            let mut errors = Vec::new();
            let text = bundle.format_pattern(pattern, Some(&fluent_args), &mut errors);
            if errors.is_empty() {
                return text.into_owned();
            }
            tracing::warn!(id, locale = locale.tag(), ?errors, "message did not format");
        }
    }
    id.to_string()
}

#[cfg(test)]
mod tests;
