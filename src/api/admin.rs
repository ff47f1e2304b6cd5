//! Operator actions: registering a charity (which issues its API token), stating the
//! first key of one registered without a key, and revoking or reissuing an org's token.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

use super::auth::{ORG_TOKEN_PREFIX, Operator, new_token};
use super::error::{ApiError, Problem};
use super::extract::{ApiJson, ApiPath};
use super::inputs::{OrgKeyInput, OrgRegistrationInput};
use super::openapi::{PROBLEM_JSON, problem};
use super::write::{WriteResponse, append_one, respond};
use crate::app::AppState;
use crate::input::{Id, PathParams};
use crate::ledger::attestations::KeyStatement;
use crate::ledger::org::OrgRegistration;
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
    let org = OrgRegistration::parse(input.into()).map_err(ApiError::invalid_field)?;
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

/// `POST /v1/admin/orgs/{org}/key`: appends `org.key_stated`, the first key of an org
/// registered without one.
#[utoipa::path(
    post,
    path = "/v1/admin/orgs/{org}/key",
    tag = "admin",
    summary = "State the first key of an org registered without one",
    description = "Logs `org.key_stated`: from then on the org signs its reports with this \
        key. An org that already has a key is refused with rule `org-key-exists`: the org \
        rotates its key itself (`POST /v1/orgs/{org}/key`).",
    params(("org" = crate::formats::Id, Path, description = "The org's id.")),
    request_body = OrgKeyInput,
    security(("operator_token" = [])),
    responses(
        (status = 201, description = "Logged: the entry with its receipt.", body = WriteResponse),
        (status = 200, description = "A replay: this key was already stated; the original answer.",
            body = WriteResponse),
        (status = 400, response = problem::MalformedBody),
        (status = 401, response = problem::Unauthorized),
        (status = 409, response = problem::Conflict),
        (status = 413, response = problem::BodyTooLarge),
        (status = 415, response = problem::UnsupportedMediaType),
        (status = 422, response = problem::InvalidInput),
        (status = 503, response = problem::Unavailable),
    ),
)]
pub async fn state_org_key(
    State(state): State<AppState>,
    _operator: Operator,
    PathParams(org, _): ApiPath<Id>,
    ApiJson(input): ApiJson<OrgKeyInput>,
) -> Result<(StatusCode, Json<WriteResponse>), ApiError> {
    let statement = KeyStatement::parse(&input.public_key).map_err(ApiError::invalid_field)?;
    append_one(&state, &org, Record::KeyStatement(statement)).await
}

/// A newly issued org token.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct IssuedToken {
    pub org: String,
    /// The org's new API token, shown once; the previous one no longer works.
    pub api_token: String,
}

/// `POST /v1/admin/orgs/{org}/token`: revokes the org's token and issues a new one.
#[utoipa::path(
    post,
    path = "/v1/admin/orgs/{org}/token",
    tag = "admin",
    summary = "Reissue an org's API token",
    description = "Issues the org a new API token, shown once in this answer; the previous \
        token stops working at once (in other processes sharing a PostgreSQL database, \
        within a second). Tokens are stored only as hashes.",
    params(("org" = crate::formats::Id, Path, description = "The org's id.")),
    security(("operator_token" = [])),
    responses(
        (status = 400, response = problem::BadPath),
        (status = 201, description = "The new token.", body = IssuedToken),
        (status = 401, response = problem::Unauthorized),
        (status = 404, description = "No org has this id.", body = Problem, content_type = PROBLEM_JSON),
        (status = 503, response = problem::Unavailable),
    ),
)]
pub async fn reissue_org_token(
    State(state): State<AppState>,
    _operator: Operator,
    PathParams(org, _): ApiPath<Id>,
) -> Result<(StatusCode, Json<IssuedToken>), ApiError> {
    let (token, token_hash) =
        new_token(ORG_TOKEN_PREFIX).map_err(|e| ApiError::unavailable("token generation", &e))?;
    let now = crate::sequencer::now();
    if !state
        .store
        .reissue_org_token(&org, &token_hash, now)
        .await?
    {
        return Err(ApiError::not_found(format!(
            "org {org:?} is not registered"
        )));
    }
    state.tokens.forget_org(&org);
    tracing::info!(org = org.as_str(), "org token reissued");
    Ok((
        StatusCode::CREATED,
        Json(IssuedToken {
            org: org.into_string(),
            api_token: token,
        }),
    ))
}

/// `DELETE /v1/admin/orgs/{org}/token`: revokes the org's token; it writes nothing until
/// one is reissued.
#[utoipa::path(
    delete,
    path = "/v1/admin/orgs/{org}/token",
    tag = "admin",
    summary = "Revoke an org's API token",
    description = "The org's token stops working at once (in other processes sharing a \
        PostgreSQL database, within a second); the org cannot write until the operator \
        reissues one.",
    params(("org" = crate::formats::Id, Path, description = "The org's id.")),
    security(("operator_token" = [])),
    responses(
        (status = 400, response = problem::BadPath),
        (status = 204, description = "Revoked."),
        (status = 401, response = problem::Unauthorized),
        (status = 404, description = "The org has no token (unknown or already revoked).",
            body = Problem, content_type = PROBLEM_JSON),
        (status = 503, response = problem::Unavailable),
    ),
)]
pub async fn revoke_org_token(
    State(state): State<AppState>,
    _operator: Operator,
    PathParams(org, _): ApiPath<Id>,
) -> Result<StatusCode, ApiError> {
    if !state.store.revoke_org_token(&org).await? {
        return Err(ApiError::not_found(format!(
            "org {org:?} has no token (unknown, or already revoked)"
        )));
    }
    state.tokens.forget_org(&org);
    tracing::info!(org = org.as_str(), "org token revoked");
    Ok(StatusCode::NO_CONTENT)
}
