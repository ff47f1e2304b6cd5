//! Request extractors that turn every malformed input into an [`ApiError`] naming the
//! field: JSON bodies (with unknown fields refused) here, query strings and path
//! parameters through the extractors the explorer shares ([`crate::input`]).

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{StatusCode, header};
use serde::de::DeserializeOwned;

use super::BodyLimit;
use super::error::ApiError;
use super::json_words;

/// A JSON request body of type `T`.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
        if !is_json {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "send the body as JSON with Content-Type: application/json",
            ));
        }
        let limit = req.extensions().get::<BodyLimit>().copied();
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            let status = rejection.status();
            match limit {
                Some(BodyLimit(bytes)) if status == StatusCode::PAYLOAD_TOO_LARGE => {
                    ApiError::new(status, "body-too-large", too_large(bytes))
                }
                _ => ApiError::new(status, "body-unreadable", rejection.body_text()),
            }
        })?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// The 413 detail: the route's limit, in the units a person reads.
fn too_large(limit: usize) -> String {
    let size = if limit.is_multiple_of(1024 * 1024) {
        format!("{} MiB", limit / (1024 * 1024))
    } else {
        format!("{} KiB", limit / 1024)
    };
    let advice = if limit > super::MAX_REQUEST_BODY_BYTES {
        "; send the items in several smaller batches"
    } else {
        ""
    };
    format!("the body is larger than {size} ({limit} bytes), the most this route takes{advice}")
}

/// Deserialises JSON and reports the path of the first field at fault.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    // Good bodies take the plain parser; only a refused one is parsed again, tracking
    // the path, to name its field (tracking it on every body cost two thirds more
    // instructions per donation body: 5,240 against 3,171 under callgrind).
    if let Ok(value) = serde_json::from_slice(bytes) {
        return Ok(value);
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let inner = e.inner();
        let message = inner.to_string();
        let path = e.path().to_string();
        let field = named_field(&message)
            .map(|name| {
                if path == "." {
                    name.to_string()
                } else if path == name || path.ends_with(&format!(".{name}")) {
                    path.clone()
                } else {
                    format!("{path}.{name}")
                }
            })
            .unwrap_or(path);
        let broken = inner.is_syntax() || inner.is_eof();
        // Broken JSON has no field to blame (the path ends in `?` where no key was read),
        // nor has a body that is valid JSON but not an object (its path is `.`): both are
        // the body as a whole, 400. A 422 always names its field.
        let field = (!broken && field != "." && !field.contains('?')).then_some(field);
        let status = if field.is_none() {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        };
        let detail = json_words::describe(inner, field.as_deref());
        match field {
            Some(field) => ApiError::new(status, "invalid-body", format!("{field}: {detail}"))
                .with_field(field),
            None => ApiError::new(status, "invalid-body", detail),
        }
    })?;
    de.end()
        .map_err(|e| ApiError::bad_request(format!("trailing data after the JSON body: {e}")))?;
    Ok(value)
}

/// The field serde names in an unknown-field or missing-field message (the error's path
/// is the object holding it).
fn named_field(message: &str) -> Option<&str> {
    let rest = message
        .strip_prefix("unknown field `")
        .or_else(|| message.strip_prefix("missing field `"))?;
    rest.split('`').next()
}

/// Path parameters (ids, seqs, file names), answered with problem+json when they do not
/// parse.
pub type ApiPath<T> = crate::input::PathParams<T, ApiError>;

/// Query-string parameters, answered with problem+json when they do not parse.
pub type ApiQuery = crate::input::Query<ApiError>;

/// A non-negative decimal integer path or query parameter (see [`crate::input::parse_u64`]).
///
/// # Errors
/// 400 naming the parameter.
pub fn parse_u64(name: &str, value: &str) -> Result<u64, ApiError> {
    crate::input::parse_u64(name, value).map_err(ApiError::from)
}
