//! Operator actions: registering a charity (which issues its API token).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};

use super::AppState;
use super::auth::{ORG_TOKEN_PREFIX, new_token, require_operator};
use super::error::ApiError;
use super::extract::ApiJson;
use super::write::{WriteResponse, respond};
use crate::ledger::org::{OrgRegistration, OrgRegistrationInput};
use crate::ledger::records::Record;
use crate::sequencer::{AppendOutcome, AppendRequest, SideEffect};

/// `POST /v1/admin/orgs`: appends `org.registered` and returns the org's API token once.
pub async fn register_org(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiJson(input): ApiJson<OrgRegistrationInput>,
) -> Result<(StatusCode, Json<WriteResponse>), ApiError> {
    require_operator(&state.store, &headers).await?;
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
