//! Parsing what a request says outside its body, for the API and the explorer alike: the
//! path's parameters ([`path`]: ids as body ids are, numbers in one canonical form) and
//! the query string (unknown and repeated parameters refused, ids and numbers parsed the
//! same way). A fault is a [`BadInput`] naming the parameter; each side renders it its
//! own way (problem+json for the API, an HTML page for the explorer), so the extractors
//! are generic over the rejection type.

pub mod client;
pub mod path;

pub use client::ClientAddr;
pub use path::{FileName, Id, PathParams};

use std::collections::HashMap;
use std::marker::PhantomData;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::IntoResponse;

/// A query or path parameter that does not parse: 400, naming the parameter (`None` for
/// a query string that is not `name=value&…` at all).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadInput {
    pub field: Option<String>,
    pub detail: String,
}

impl BadInput {
    pub fn parameter(field: &str, detail: impl Into<String>) -> BadInput {
        BadInput {
            field: Some(field.to_string()),
            detail: detail.into(),
        }
    }
}

/// Query-string parameters, with repeated names refused (which one would count?). `E` is
/// the rejection the handler answers with.
pub struct Query<E> {
    pub params: HashMap<String, String>,
    rejection: PhantomData<fn() -> E>,
}

impl<E> Query<E> {
    /// Parses a raw query string (`a=1&b=x`, percent-decoded).
    ///
    /// # Errors
    /// A [`BadInput`] naming a repeated parameter, or the whole string if it is not a
    /// query string.
    pub fn parse(query: &str) -> Result<Query<E>, BadInput> {
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_str(query).map_err(|e| BadInput {
                field: None,
                detail: format!("query string: {e}"),
            })?;
        let mut params = HashMap::new();
        for (k, v) in pairs {
            if params.insert(k.clone(), v).is_some() {
                return Err(BadInput::parameter(
                    &k,
                    format!("{k} is given more than once"),
                ));
            }
        }
        Ok(Query {
            params,
            rejection: PhantomData,
        })
    }
}

impl<E> From<HashMap<String, String>> for Query<E> {
    fn from(params: HashMap<String, String>) -> Query<E> {
        Query {
            params,
            rejection: PhantomData,
        }
    }
}

impl<E: From<BadInput>> Query<E> {
    /// Refuses parameters other than `allowed` (a typo should not be ignored).
    ///
    /// # Errors
    /// The first unknown parameter, with the allowed ones.
    pub fn only(&self, allowed: &[&str]) -> Result<(), E> {
        match self.params.keys().find(|k| !allowed.contains(&k.as_str())) {
            Some(k) => Err(BadInput::parameter(
                k,
                format!(
                    "unknown query parameter {k:?}; allowed: {}",
                    allowed.join(", ")
                ),
            )
            .into()),
            None => Ok(()),
        }
    }

    /// The parameter `name` as a number, if given.
    ///
    /// # Errors
    /// When it is not a canonical non-negative integer (see [`parse_u64`]).
    pub fn u64(&self, name: &str) -> Result<Option<u64>, E> {
        self.params
            .get(name)
            .map(|v| parse_u64(name, v).map_err(E::from))
            .transpose()
    }

    /// The parameter `name` as `true` or `false`, if given.
    ///
    /// # Errors
    /// Any other value.
    pub fn bool(&self, name: &str) -> Result<Option<bool>, E> {
        self.params
            .get(name)
            .map(|v| match v.as_str() {
                "true" => Ok(true),
                "false" => Ok(false),
                other => Err(E::from(BadInput::parameter(
                    name,
                    format!("{name} must be true or false, got {other:?}"),
                ))),
            })
            .transpose()
    }

    /// The parameter `name` as an id, if given.
    ///
    /// # Errors
    /// When it is not an id (as body ids are).
    pub fn id(&self, name: &str) -> Result<Option<Id>, E> {
        use path::FromPathParam as _;
        self.params
            .get(name)
            .map(|v| Id::from_param(name, v).map_err(E::from))
            .transpose()
    }

    /// The parameter `name` as text, if given.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str)
    }
}

impl<S: Send + Sync, E: From<BadInput> + IntoResponse> FromRequestParts<S> for Query<E> {
    type Rejection = E;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, E> {
        Query::parse(parts.uri.query().unwrap_or("")).map_err(E::from)
    }
}

/// A non-negative decimal integer parameter without sign, spaces or leading zeros.
///
/// # Errors
/// A [`BadInput`] naming `name` and the value given.
pub fn parse_u64(name: &str, value: &str) -> Result<u64, BadInput> {
    // Stored seqs and sizes are i64 in the database, hence the upper bound.
    crate::log::checkpoint::parse_canonical_u64(value)
        .filter(|n| *n <= i64::MAX as u64)
        .ok_or_else(|| {
            BadInput::parameter(
                name,
                format!("{name} must be a non-negative integer, got {value:?}"),
            )
        })
}
