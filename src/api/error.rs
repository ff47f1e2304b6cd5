//! The one error shape of the API: RFC 9457 `application/problem+json`, with a `field`
//! member when one field of the request is at fault. Every failure, from a malformed body
//! to a storage outage, is built here; internal details are logged, never sent.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::ledger::FieldError;
use crate::sequencer::AppendError;
use crate::store::StoreError;

/// A failed request, rendered as problem+json.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    /// Short, stable slug naming the problem type (`invalid-field`, `conflict`, …).
    pub kind: &'static str,
    pub detail: String,
    pub field: Option<String>,
    /// The money or log rule broken, for 422s from the ledger rules.
    pub rule: Option<&'static str>,
    /// Seconds to wait, for 429 answers (sent as the Retry-After header).
    pub retry_after_s: Option<u64>,
}

/// An RFC 9457 problem: the body of every error answer (`application/problem+json`).
/// A 401 also carries `WWW-Authenticate: Bearer`, and a 429 `Retry-After` in seconds.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Problem<'a> {
    /// `urn:pennytrail:problem:<slug>`, e.g. `invalid-field`, `rule-violation`, `conflict`.
    #[serde(rename = "type")]
    #[schema(example = "urn:pennytrail:problem:invalid-field")]
    type_uri: String,
    /// The HTTP reason phrase of `status`.
    #[schema(example = "Unprocessable Entity")]
    title: &'a str,
    /// The HTTP status code, repeated.
    #[schema(example = 422)]
    status: u16,
    /// What went wrong, for a person to read.
    detail: &'a str,
    /// The request field, path or query parameter at fault, as a path such as
    /// `donations[3].amount`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    field: Option<&'a str>,
    /// The money or log rule broken, on 422 `rule-violation` answers.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    rule: Option<&'a str>,
}

impl ApiError {
    pub fn new(status: StatusCode, kind: &'static str, detail: impl Into<String>) -> ApiError {
        ApiError {
            status,
            kind,
            detail: detail.into(),
            field: None,
            rule: None,
            retry_after_s: None,
        }
    }

    pub fn with_field(mut self, field: impl Into<String>) -> ApiError {
        self.field = Some(field.into());
        self
    }

    pub fn bad_request(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "bad-request", detail)
    }

    /// A parameter in the path or query string that does not parse.
    pub fn bad_parameter(field: &str, detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "bad-parameter", detail).with_field(field)
    }

    pub fn invalid_field(error: FieldError) -> ApiError {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-field",
            error.to_string(),
        )
        .with_field(error.field)
    }

    /// 422 `rule-violation`: the record breaks the money or log rule `rule` at `field`.
    pub fn rule_violation(
        rule: crate::ledger::Rule,
        field: impl Into<String>,
        detail: impl Into<String>,
    ) -> ApiError {
        let mut error = ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "rule-violation", detail)
            .with_field(field);
        error.rule = Some(rule.as_str());
        error
    }

    pub fn not_found(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not-found", detail)
    }

    pub fn unauthorized(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", detail)
    }

    pub fn forbidden(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, "forbidden", detail)
    }

    /// A server-side failure: logged in full, reported to the client without details.
    pub fn unavailable(context: &str, error: &dyn std::fmt::Display) -> ApiError {
        tracing::error!(%error, "{context}");
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            crate::store::OUTAGE_DETAIL,
        )
    }
}

impl From<crate::input::BadInput> for ApiError {
    fn from(e: crate::input::BadInput) -> Self {
        match e.field {
            Some(field) => ApiError::bad_parameter(&field, e.detail),
            None => ApiError::bad_request(e.detail),
        }
    }
}

impl From<crate::limits::RateLimited> for ApiError {
    fn from(e: crate::limits::RateLimited) -> Self {
        let mut error = ApiError::new(StatusCode::TOO_MANY_REQUESTS, "rate-limited", e.to_string());
        error.retry_after_s = Some(e.retry_after_s);
        error
    }
}

impl From<crate::read::ReadError> for ApiError {
    fn from(e: crate::read::ReadError) -> Self {
        use crate::read::ReadError;
        match e {
            ReadError::NotFound(detail) => ApiError::not_found(detail),
            ReadError::Invalid(field) => ApiError::invalid_field(field),
            ReadError::Limited(limited) => limited.into(),
            ReadError::Busy {
                retry_after_s,
                detail,
            } => {
                let mut error = ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "busy", detail);
                error.retry_after_s = Some(retry_after_s);
                error
            }
            ReadError::NotWitnessedYet(detail) => {
                let mut error =
                    ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "not-witnessed-yet", detail);
                error.retry_after_s = Some(crate::read::witnessed::RETRY_AFTER_S);
                error
            }
            ReadError::Store(store) => store.into(),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        ApiError::unavailable("storage error", &e)
    }
}

impl ApiError {
    /// The answer to a refused append. `items` names the request's list for batch
    /// endpoints, so a field reads `donations[3].amount`; single writes pass `None`.
    pub fn from_append(e: AppendError, items: Option<&str>) -> ApiError {
        let path = |index: usize, field: &str| match items {
            Some(list) => format!("{list}[{index}].{field}"),
            None => field.to_string(),
        };
        let detail = match (&e, items) {
            (
                AppendError::Conflict { index, .. }
                | AppendError::DuplicateInJob { index, .. }
                | AppendError::Rule { index, .. }
                | AppendError::Entry { index, .. },
                Some(list),
            ) => format!("{list}[{index}]: {e}"),
            _ => e.to_string(),
        };
        match e {
            AppendError::Conflict { index, .. } => {
                ApiError::new(StatusCode::CONFLICT, "conflict", detail)
                    .with_field(path(index, "id"))
            }
            AppendError::DuplicateInJob { index, .. } => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "duplicate-id", detail)
                    .with_field(path(index, "id"))
            }
            AppendError::Rule {
                index,
                ref violation,
            } => ApiError::rule_violation(violation.rule, path(index, &violation.field), detail),
            AppendError::Entry { .. } => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid-entry", detail)
            }
            AppendError::Unavailable(reason) => ApiError::unavailable("append failed", &reason),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let title = self.status.canonical_reason().unwrap_or("Error");
        let body = serde_json::to_vec(&Problem {
            type_uri: format!("urn:pennytrail:problem:{}", self.kind),
            title,
            status: self.status.as_u16(),
            detail: &self.detail,
            field: self.field.as_deref(),
            rule: self.rule,
        })
        .unwrap_or_default();
        let mut response = (self.status, body).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(seconds) = self.retry_after_s
            && let Ok(value) = HeaderValue::from_str(&seconds.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// Gives every error response the one problem+json shape, including those produced
/// outside our handlers (the request timeout, framework rejections). An explorer page
/// (HTML) already explains its error to a person and is left alone.
pub async fn problem_for_bare_errors(response: Response) -> Response {
    let status = response.status();
    let is_explained = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| {
            v.as_bytes().starts_with(b"application/problem+json")
                || v.as_bytes().starts_with(b"text/html")
        });
    if !(status.is_client_error() || status.is_server_error()) || is_explained {
        return response;
    }
    let (kind, detail) = match status {
        StatusCode::REQUEST_TIMEOUT => (
            "timeout",
            "the request took too long and was cancelled".to_string(),
        ),
        StatusCode::NOT_FOUND => ("not-found", "not found".to_string()),
        s if s.is_server_error() => {
            tracing::error!(status = %s, "an error response without a problem body");
            (
                "unavailable",
                "the service failed to answer this request".to_string(),
            )
        }
        s => (
            "bad-request",
            s.canonical_reason()
                .unwrap_or("request refused")
                .to_string(),
        ),
    };
    let mut problem = ApiError::new(status, kind, detail).into_response();
    for name in [header::RETRY_AFTER, header::WWW_AUTHENTICATE, header::ALLOW] {
        if let Some(v) = response.headers().get(&name) {
            problem.headers_mut().insert(name, v.clone());
        }
    }
    problem
}
