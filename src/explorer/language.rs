//! `/language?set=fr&back=/lookup`: the language switch. Remembers the choice in the
//! `lang` cookie for a year and sends the visitor back to the page they were on (a path
//! on this site only: never a redirect elsewhere).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::i18n::{self, Arg, Locale};
use super::{PageError, PageQuery};

/// Longest way back accepted, in bytes (a page's own path and query).
const MAX_BACK_BYTES: usize = 2048;

pub async fn choose(query: PageQuery) -> Result<Response, PageError> {
    query.only(&["set", "back"])?;
    let languages: Vec<&str> = Locale::ALL.iter().map(|l| l.tag()).collect();
    let refused = || {
        PageError::bad_field(
            "set",
            i18n::t_args(
                "error-language",
                &[("languages", Arg::Text(&languages.join(", ")))],
            ),
        )
    };
    let locale = query
        .get("set")
        .and_then(|tag| Locale::ALL.into_iter().find(|l| l.tag() == tag))
        .ok_or_else(refused)?;
    let back = query.get("back").unwrap_or("/");
    if !is_local_path(back) {
        return Err(PageError::bad_field("back", i18n::t("error-back")));
    }
    let mut response = (StatusCode::SEE_OTHER, [(header::LOCATION, back)]).into_response();
    let cookie = format!(
        "{}={}; Path=/; Max-Age=31536000; SameSite=Lax; HttpOnly",
        i18n::COOKIE,
        locale.tag()
    );
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    Ok(response)
}

/// A path on this site: one leading `/` (not `//` or `/\`, which browsers read as another
/// host), printable ASCII only, not too long.
fn is_local_path(back: &str) -> bool {
    back.len() <= MAX_BACK_BYTES
        && back.starts_with('/')
        && !back.starts_with("//")
        && !back.starts_with("/\\")
        && back.bytes().all(|b| b.is_ascii_graphic())
}

#[cfg(test)]
mod tests {
    use super::is_local_path;

    #[test]
    fn only_paths_on_this_site_are_ways_back() {
        assert!(is_local_path("/"));
        assert!(is_local_path("/lookup?org=a&donation=b"));
        for elsewhere in [
            "",
            "https://evil.example/",
            "//evil.example",
            "/\\evil",
            "/a b",
            "lookup",
        ] {
            assert!(!is_local_path(elsewhere), "{elsewhere}");
        }
        assert!(!is_local_path(&format!("/{}", "a".repeat(3000))));
    }
}
