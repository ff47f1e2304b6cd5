//! Corrections of non-money fields (a typo in a purpose); money is never edited.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

use super::AppState;
use super::auth::OrgWriter;
use super::error::ApiError;
use super::extract::ApiJson;
use super::write::{WriteResponse, append_one};
use crate::ledger::records::{Correction, CorrectionInput, Record};

/// `POST /v1/orgs/{org}/corrections`: `{"id","corrects":seq,"fields":{"purpose":"…"}}`
pub async fn create_correction(
    State(state): State<AppState>,
    OrgWriter(org): OrgWriter,
    ApiJson(input): ApiJson<CorrectionInput>,
) -> Result<(StatusCode, Json<WriteResponse>), ApiError> {
    let record = Correction::parse(input).map_err(ApiError::invalid_field)?;
    append_one(&state, &org, Record::Correction(record)).await
}
