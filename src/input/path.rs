//! Path parameters, parsed like the fields of a body before a handler (or a database)
//! sees them: an id as ids are everywhere (`[A-Za-z0-9][A-Za-z0-9._:-]{0,63}`), a seq
//! as a canonical number, a file name as one. A malformed value is a [`BadInput`] naming
//! the parameter, so bad input is a 400, never a lookup that finds nothing (or, on
//! PostgreSQL, a NUL byte the database refuses as an outage).

use std::marker::PhantomData;

use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::request::Parts;
use axum::response::IntoResponse;

use super::BadInput;
use crate::log::entry::{MAX_ID_LEN, is_valid_id};
use crate::log::tiles::TileId;

/// Longest file name a path may carry (bundle files, assets).
pub const MAX_FILE_NAME_LEN: usize = 64;

/// An id from the path, checked as body ids are. It prints as the text it is (`{:?}`
/// quotes it like a string), so messages name it as they name any id.
#[derive(Clone, PartialEq, Eq)]
pub struct Id(String);

impl std::fmt::Debug for Id {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&self.0, f)
    }
}

impl Id {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl std::ops::Deref for Id {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Id {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A file name from the path: 1 to [`MAX_FILE_NAME_LEN`] of `A-Z a-z 0-9 . _ -`, not
/// starting with a dot (so never `..`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileName(String);

impl FileName {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One path parameter's kind: how a value of it parses.
pub trait FromPathParam: Sized {
    /// # Errors
    /// A [`BadInput`] naming `name` and saying what the value must be.
    fn from_param(name: &str, value: &str) -> Result<Self, BadInput>;
}

/// A value for people to read in an error: short, and with control characters shown
/// escaped (a path can carry any byte).
fn shown(value: &str) -> String {
    let mut cut: String = value.chars().take(40).collect();
    if cut.len() < value.len() {
        cut.push('…');
    }
    format!("{cut:?}")
}

impl FromPathParam for Id {
    fn from_param(name: &str, value: &str) -> Result<Id, BadInput> {
        if is_valid_id(value) {
            Ok(Id(value.to_string()))
        } else {
            Err(BadInput::parameter(
                name,
                format!(
                    "{name} {} is not an id: ids are 1 to {MAX_ID_LEN} of A-Z a-z 0-9 . _ : - and start with a letter or digit",
                    shown(value)
                ),
            ))
        }
    }
}

impl FromPathParam for u64 {
    fn from_param(name: &str, value: &str) -> Result<u64, BadInput> {
        super::parse_u64(name, value).map_err(|_| {
            BadInput::parameter(
                name,
                format!(
                    "{name} must be a non-negative integer, got {}",
                    shown(value)
                ),
            )
        })
    }
}

impl FromPathParam for FileName {
    fn from_param(name: &str, value: &str) -> Result<FileName, BadInput> {
        let valid = (1..=MAX_FILE_NAME_LEN).contains(&value.len())
            && !value.starts_with('.')
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if valid {
            Ok(FileName(value.to_string()))
        } else {
            Err(BadInput::parameter(
                name,
                format!(
                    "{name} {} is not a file name: 1 to {MAX_FILE_NAME_LEN} of A-Z a-z 0-9 . _ - , not starting with a dot",
                    shown(value)
                ),
            ))
        }
    }
}

impl FromPathParam for TileId {
    /// The rest of the path after `/log/tile/`.
    fn from_param(name: &str, value: &str) -> Result<TileId, BadInput> {
        TileId::parse(&format!("tile/{value}")).map_err(|e| {
            BadInput::parameter(
                name,
                format!("{name} {} is not a tile path: {e}", shown(value)),
            )
        })
    }
}

/// What a handler takes from its path: one parameter, or a tuple of them in the route's
/// order.
pub trait FromPathParams: Sized {
    /// # Errors
    /// The first parameter that does not parse, or a route with other parameters.
    fn from_params(params: &[(&str, &str)]) -> Result<Self, BadInput>;
}

/// The route's parameters, exactly `N` of them.
fn exactly<'a, const N: usize>(
    params: &[(&'a str, &'a str)],
) -> Result<[(&'a str, &'a str); N], BadInput> {
    params.try_into().map_err(|_| BadInput {
        field: None,
        detail: format!("this route takes {N} path parameters, not {}", params.len()),
    })
}

/// A route with one parameter takes it as itself.
macro_rules! one_param {
    ($($kind:ty),*) => {$(
        impl FromPathParams for $kind {
            fn from_params(params: &[(&str, &str)]) -> Result<Self, BadInput> {
                let [(name, value)] = exactly(params)?;
                <$kind>::from_param(name, value)
            }
        }
    )*};
}

one_param!(Id, u64, FileName, TileId);

impl<A: FromPathParam, B: FromPathParam> FromPathParams for (A, B) {
    fn from_params(params: &[(&str, &str)]) -> Result<Self, BadInput> {
        let [(a, va), (b, vb)] = exactly(params)?;
        Ok((A::from_param(a, va)?, B::from_param(b, vb)?))
    }
}

/// A route's path parameters, parsed as `T`; `E` is the rejection the handler answers
/// with (problem+json for the API, an HTML page for the explorer).
pub struct PathParams<T, E>(pub T, pub PhantomData<fn() -> E>);

impl<T, E> PathParams<T, E> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<S, T, E> FromRequestParts<S> for PathParams<T, E>
where
    S: Send + Sync,
    T: FromPathParams,
    E: From<BadInput> + IntoResponse,
{
    type Rejection = E;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, E> {
        let raw = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|rejection| {
                // The one failure a matched route's parameters can have: a percent-escape
                // that does not decode to UTF-8. axum names the parameter only in its
                // text (`Invalid UTF-8 in `org``).
                let text = rejection.body_text();
                match text.split('`').nth(1) {
                    Some(name) => BadInput::parameter(
                        name,
                        format!("{name} is not UTF-8 text once percent-decoded"),
                    ),
                    None => BadInput {
                        field: None,
                        detail: format!("path: {text}"),
                    },
                }
            })?;
        let params: Vec<(&str, &str)> = raw.iter().collect();
        Ok(PathParams(T::from_params(&params)?, PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_parse_like_body_fields() {
        assert_eq!(
            Id::from_param("org", "a.b:c-d_1").unwrap().as_str(),
            "a.b:c-d_1"
        );
        for bad in [
            "",
            "\0",
            "a\0b",
            "..",
            "-x",
            "=1",
            "é",
            "a b",
            &"x".repeat(65),
        ] {
            let e = Id::from_param("org", bad).unwrap_err();
            assert_eq!(e.field.as_deref(), Some("org"), "{bad:?}");
        }
        assert_eq!(u64::from_param("seq", "7").unwrap(), 7);
        for bad in ["", "07", "-1", "18446744073709551616", "1e3", "٣"] {
            assert!(u64::from_param("seq", bad).is_err(), "{bad:?}");
        }
        assert!(FileName::from_param("file", "donations.csv").is_ok());
        for bad in ["..", ".x", "a/b", "a\0", "", &"x".repeat(65)] {
            assert!(FileName::from_param("file", bad).is_err(), "{bad:?}");
        }
        // A long value is shown cut, control characters escaped.
        let e = Id::from_param("org", &format!("\u{202e}{}", "x".repeat(10_000))).unwrap_err();
        assert!(e.detail.len() < 300, "{}", e.detail);
        assert!(e.detail.contains("\\u{202e}"), "{}", e.detail);
    }
}
