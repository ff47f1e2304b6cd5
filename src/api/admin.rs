//! Operator actions: registering a charity (which issues its API token).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

use super::AppState;
use super::auth::{ORG_TOKEN_PREFIX, Operator, new_token};
use super::error::ApiError;
use super::extract::ApiJson;
use super::openapi::problem;
use super::write::{WriteResponse, respond};
use crate::ledger::org::{OrgRegistration, OrgRegistrationInput};
use crate::ledger::records::Record;
use crate::sequencer::{AppendOutcome, AppendRequest, SideEffect};

/// `POST /v1/admin/orgs`: appends `org.registered` and returns the org's API token once.
#[utoipa::path(
    post,
    path = "/v1/admin/orgs",
    tag = "admin",
    summary = "Register a charity",
    description = "Logs `org.registered` and answers with the org's API token (`api_token`), in \
        the 201 answer only: a replay (200) leaves it out.",
    request_body = OrgRegistrationInput,
    security(("operator_token" = [])),
    responses(
        (status = 201, description = "Registered: the entry, its receipt and the org's API token.",
            body = WriteResponse),
        (status = 200, description = "A replay: this id was already logged with the same content; \
            the original answer.", body = WriteResponse),
        (status = 400, response = problem::MalformedBody),
        (status = 401, response = problem::Unauthorized),
        (status = 409, response = problem::Conflict),
        (status = 413, response = problem::BodyTooLarge),
        (status = 415, response = problem::UnsupportedMediaType),
        (status = 422, response = problem::InvalidInput),
        (status = 503, response = problem::Unavailable),
    ),
)]
pub async fn register_org(
    State(state): State<AppState>,
    _operator: Operator,
    ApiJson(input): ApiJson<OrgRegistrationInput>,
) -> Result<(StatusCode, Json<WriteResponse>), ApiError> {
    let org = OrgRegistration::parse(input).map_err(ApiError::invalid_field)?;
    let (token, token_hash) =
        new_token(ORG_TOKEN_PREFIX).map_err(|e| ApiError::unavailable("token generation", &e))?;
    let request = AppendRequest {
        org: org.id.clone(),
        side_effect: Some(SideEffect::IssueOrgToken {
            org: org.id.clone(),
            token_hash,
        }),
        record: Record::Org(org),
    };
    let outcomes = state
        .sequencer
        .append(vec![request])
        .await
        .map_err(|e| ApiError::from_append(e, None))?;
    let outcome = &outcomes[0];
    let (status, Json(mut response)) = respond(&state.store, outcome).await?;
    if matches!(outcome, AppendOutcome::Appended { .. }) {
        response.api_token = Some(token);
    }
    Ok((status, Json(response)))
}
