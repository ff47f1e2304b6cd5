//! Campaigns (restricted funds): opened with their stated beneficiaries, extended with
//! more, and read with their running totals.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;

use super::auth::OrgWriter;
use super::error::{ApiError, Problem};
use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::inputs::{CampaignInput, StatementInput};
use super::openapi::{PROBLEM_JSON, problem};
use super::page::Page;
use super::write::{WriteResponse, append_one};
use crate::app::AppState;
use crate::input::{Id, PathParams};
use crate::ledger::records::{Campaign, Record, Statement};
use crate::read::campaigns::{CampaignView, campaign, campaign_view};

/// `POST /v1/orgs/{org}/campaigns`
#[utoipa::path(
    post,
    path = "/v1/orgs/{org}/campaigns",
    tag = "campaigns",
    summary = "Open a campaign",
    description = "Opens a restricted fund in one currency, stating the beneficiaries it may pay.",
    params(
        ("org" = crate::formats::Id, Path, description = "The org's id."),
    ),
    request_body = CampaignInput,
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
pub async fn create_campaign(
    State(state): State<AppState>,
    OrgWriter(org): OrgWriter,
    ApiJson(input): ApiJson<CampaignInput>,
) -> Result<(StatusCode, Json<WriteResponse>), ApiError> {
    let record = Campaign::parse(input.into()).map_err(ApiError::invalid_field)?;
    append_one(&state, &org, Record::Campaign(record)).await
}

/// `POST /v1/orgs/{org}/campaigns/{campaign}/beneficiaries`: states more beneficiaries,
/// who may receive money from entries after this one.
#[utoipa::path(
    post,
    path = "/v1/orgs/{org}/campaigns/{campaign}/beneficiaries",
    tag = "campaigns",
    summary = "State more beneficiaries for a campaign",
    description = "The stated beneficiaries may receive money from entries after this one. The \
        same list for the same campaign is the same statement (a replay).",
    params(
        ("org" = crate::formats::Id, Path, description = "The org's id."),
        ("campaign" = crate::formats::Id, Path, description = "The campaign's id."),
    ),
    request_body = StatementInput,
    security(("org_token" = [])),
    responses(
        (status = 201, description = "Logged: the entry with its receipt.", body = WriteResponse),
        (status = 200, description = "A replay: this campaign already has this statement; the \
            original answer.", body = WriteResponse),
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
pub async fn state_beneficiaries(
    State(state): State<AppState>,
    OrgWriter(org): OrgWriter,
    PathParams((_, campaign), _): ApiPath<(Id, Id)>,
    ApiJson(input): ApiJson<StatementInput>,
) -> Result<(StatusCode, Json<WriteResponse>), ApiError> {
    let record = Statement::parse(&campaign, input.into()).map_err(ApiError::invalid_field)?;
    append_one(&state, &org, Record::Statement(record)).await
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CampaignList {
    pub campaigns: Vec<CampaignView>,
    #[schema(required = true)]
    pub next: Option<u64>,
}

/// `GET /v1/orgs/{org}/campaigns/{campaign}`
#[utoipa::path(
    get,
    path = "/v1/orgs/{org}/campaigns/{campaign}",
    tag = "campaigns",
    summary = "One campaign",
    params(
        ("org" = crate::formats::Id, Path, description = "The org's id."),
        ("campaign" = crate::formats::Id, Path, description = "The campaign's id."),
    ),
    responses(
        (status = 400, response = problem::BadPath),
        (status = 200, description = "The campaign with its totals and stated beneficiaries.",
            body = CampaignView),
        (status = 404, description = "The org has no campaign with this id.",
            body = Problem, content_type = PROBLEM_JSON),
        (status = 503, response = problem::Unavailable),
    ),
)]
pub async fn get_campaign(
    State(state): State<AppState>,
    PathParams((org, id), _): ApiPath<(Id, Id)>,
) -> Result<Json<CampaignView>, ApiError> {
    Ok(Json(campaign(&state.store, &org, &id).await?))
}

/// `GET /v1/orgs/{org}/campaigns`: in log order, totals without the beneficiary lists.
#[utoipa::path(
    get,
    path = "/v1/orgs/{org}/campaigns",
    tag = "campaigns",
    summary = "An org's campaigns",
    description = "In log order, with running totals (without the beneficiary lists).",
    params(
        ("org" = crate::formats::Id, Path, description = "The org's id."),
        ("after" = Option<u64>, Query, description = "The `next` cursor of the previous page."),
        ("limit" = Option<u64>, Query, minimum = 1, maximum = 500,
            description = "Page size (default 100, at most 500)."),
    ),
    responses(
        (status = 200, description = "A page of campaigns.",
            body = CampaignList),
        (status = 404, description = "No org has this id.",
            body = Problem, content_type = PROBLEM_JSON),
        (status = 400, response = problem::BadQuery),
        (status = 503, response = problem::Unavailable),
    ),
)]
pub async fn list_campaigns(
    State(state): State<AppState>,
    PathParams(org, _): ApiPath<Id>,
    query: ApiQuery,
) -> Result<Json<CampaignList>, ApiError> {
    let page = Page::from_query(&query, &[])?;
    crate::read::orgs::known(&state.store, &org).await?;
    let rows = state.store.campaigns(&org, page.after, page.limit).await?;
    let next = page.next(&rows, |r| r.seq);
    let mut campaigns = Vec::with_capacity(rows.len());
    for row in rows {
        campaigns.push(campaign_view(&state.store, row, false).await?);
    }
    Ok(Json(CampaignList { campaigns, next }))
}
