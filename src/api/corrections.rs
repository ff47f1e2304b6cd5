//! Corrections of non-money fields (a typo in a purpose); money is never edited.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

use super::auth::OrgWriter;
use super::error::ApiError;
use super::extract::ApiJson;
use super::inputs::CorrectionInput;
use super::openapi::problem;
use super::write::{WriteResponse, append_one};
use crate::app::AppState;
use crate::ledger::records::{Correction, Record};

/// `POST /v1/orgs/{org}/corrections`: `{"id","corrects":seq,"fields":{"purpose":"…"}}`
#[utoipa::path(
    post,
    path = "/v1/orgs/{org}/corrections",
    tag = "corrections",
    summary = "Correct text fields of an earlier entry",
    description = "Logs `entry.corrected`: new values for text fields of an earlier entry of the \
        same org (a name, label, title or purpose). Money and ids are never corrected; reads \
        show the corrected values and list the corrections' seqs.",
    params(
        ("org" = crate::formats::Id, Path, description = "The org's id."),
    ),
    request_body = CorrectionInput,
    security(("org_token" = [])),
    responses(
        (status = 201, description = "Logged: the entry with its receipt.", body = WriteResponse),
        (status = 200, description = "A replay: this id was already logged with the same content; \
            the original answer.", body = WriteResponse),
        (status = 400, response = problem::MalformedBody),
        (status = 401, response = problem::Unauthorized),
        (status = 403, response = problem::Forbidden),
        (status = 409, response = problem::Conflict),
        (status = 413, response = problem::BodyTooLarge),
        (status = 415, response = problem::UnsupportedMediaType),
        (status = 422, response = problem::InvalidInput),
        (status = 429, response = problem::OrgWritesRateLimited),
        (status = 503, response = problem::Unavailable),
    ),
)]
pub async fn create_correction(
    State(state): State<AppState>,
    OrgWriter(org): OrgWriter,
    ApiJson(input): ApiJson<CorrectionInput>,
) -> Result<(StatusCode, Json<WriteResponse>), ApiError> {
    let record = Correction::parse(input.into()).map_err(ApiError::invalid_field)?;
    append_one(&state, &org, Record::Correction(record)).await
}
