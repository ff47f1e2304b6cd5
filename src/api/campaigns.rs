//! Campaigns (restricted funds): opened with their stated beneficiaries, extended with
//! more, and read with their running totals.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Serialize;

use super::AppState;
use super::auth::OrgWriter;
use super::error::{ApiError, Problem};
use super::extract::{ApiJson, ApiQuery};
use super::inputs::{CampaignInput, StatementInput};
use super::openapi::{PROBLEM_JSON, problem};
use super::views::{MAX_LIST_PAGE, Page, effective_fields, text};
use super::write::{WriteResponse, append_one};
use crate::ledger::records::{Campaign, Record, Statement};
use crate::store::CampaignRow;

/// `POST /v1/orgs/{org}/campaigns`
#[utoipa::path(
    post,
    path = "/v1/orgs/{org}/campaigns",
    tag = "campaigns",
    summary = "Open a campaign",
    description = "Opens a restricted fund in one currency, stating the beneficiaries it may pay.",
    params(
        ("org" = String, Path, description = "The org's id."),
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
        ("org" = String, Path, description = "The org's id."),
        ("campaign" = crate::api::openapi::formats::Id, Path, description = "The campaign's id."),
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
    Path((_, campaign)): Path<(String, String)>,
    ApiJson(input): ApiJson<StatementInput>,
) -> Result<(StatusCode, Json<WriteResponse>), ApiError> {
    let record = Statement::parse(&campaign, input.into()).map_err(ApiError::invalid_field)?;
    append_one(&state, &org, Record::Statement(record)).await
}

/// A campaign's money, all in minor units of its currency.
#[derive(Serialize, utoipa::ToSchema)]
pub struct CampaignTotalsView {
    pub received: i64,
    pub fees: i64,
    pub net: i64,
    pub disbursed: i64,
    pub held: i64,
    pub donations: u64,
    pub disbursements: u64,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct StatedBeneficiaryView {
    pub beneficiary: String,
    pub kind: String,
    /// Seq of the entry that stated it for this campaign.
    pub stated_at: u64,
    pub disbursed: i64,
    pub disbursements: u64,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CampaignView {
    pub org: String,
    pub id: String,
    pub title: String,
    pub purpose: String,
    pub currency: String,
    pub seq: u64,
    pub opened_at: String,
    pub corrections: Vec<u64>,
    pub totals: CampaignTotalsView,
    /// Up to 500 stated beneficiaries, in the order they were stated.
    pub beneficiaries: Vec<StatedBeneficiaryView>,
    /// What the beneficiaries themselves said of the payouts (signed acknowledgements).
    pub acknowledgements: AcknowledgementsView,
}

/// Payouts the beneficiaries confirmed, and disputed, by their own signature.
#[derive(Serialize, utoipa::ToSchema)]
pub struct AcknowledgementsView {
    pub acknowledged: AckLine,
    pub disputed: AckLine,
    /// Disbursed and neither acknowledged nor disputed, in minor units.
    pub unconfirmed: i64,
}

#[derive(Serialize, utoipa::ToSchema, Default)]
pub struct AckLine {
    pub disbursements: u64,
    /// Disbursed amount these statements cover, in minor units.
    pub amount: i64,
    /// What the beneficiaries say arrived, in minor units.
    pub amount_received: i64,
    /// `amount` as a share of everything disbursed, in tenths of a percent (integer).
    pub share_permille: i64,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CampaignList {
    pub campaigns: Vec<CampaignView>,
    #[schema(required = true)]
    pub next: Option<u64>,
}

pub(crate) async fn campaign_view(
    state: &AppState,
    row: CampaignRow,
    with_beneficiaries: bool,
) -> Result<CampaignView, ApiError> {
    let e = effective_fields(&state.store, row.seq).await?;
    let beneficiaries = if with_beneficiaries {
        state
            .store
            .stated(&row.org, &row.id, MAX_LIST_PAGE)
            .await?
            .into_iter()
            .map(|s| StatedBeneficiaryView {
                beneficiary: s.beneficiary,
                kind: s.kind,
                stated_at: s.stated_at,
                disbursed: s.disbursed,
                disbursements: s.disbursements,
            })
            .collect()
    } else {
        Vec::new()
    };
    let mut acknowledged = AckLine::default();
    let mut disputed = AckLine::default();
    for (status, count, amount, received) in state.store.ack_totals(&row.org, &row.id).await? {
        let line = if status == "disputed" {
            &mut disputed
        } else {
            &mut acknowledged
        };
        *line = AckLine {
            disbursements: count,
            amount,
            amount_received: received,
            share_permille: if row.disbursed > 0 {
                amount * 1000 / row.disbursed
            } else {
                0
            },
        };
    }
    let acknowledgements = AcknowledgementsView {
        unconfirmed: row.disbursed - acknowledged.amount - disputed.amount,
        acknowledged,
        disputed,
    };
    Ok(CampaignView {
        acknowledgements,
        title: text(&e.fields, "title").unwrap_or_default(),
        purpose: text(&e.fields, "purpose").unwrap_or_default(),
        opened_at: e.time,
        corrections: e.corrections,
        totals: CampaignTotalsView {
            received: row.received,
            fees: row.fees,
            net: row.net,
            disbursed: row.disbursed,
            held: row.net - row.disbursed,
            donations: row.donations,
            disbursements: row.disbursements,
        },
        beneficiaries,
        org: row.org,
        id: row.id,
        currency: row.currency,
        seq: row.seq,
    })
}

/// `GET /v1/orgs/{org}/campaigns/{campaign}`
#[utoipa::path(
    get,
    path = "/v1/orgs/{org}/campaigns/{campaign}",
    tag = "campaigns",
    summary = "One campaign",
    params(
        ("org" = String, Path, description = "The org's id."),
        ("campaign" = String, Path, description = "The campaign's id."),
    ),
    responses(
        (status = 200, description = "The campaign with its totals and stated beneficiaries.",
            body = CampaignView),
        (status = 404, description = "The org has no campaign with this id.",
            body = Problem, content_type = PROBLEM_JSON),
        (status = 503, response = problem::Unavailable),
    ),
)]
pub async fn get_campaign(
    State(state): State<AppState>,
    Path((org, id)): Path<(String, String)>,
) -> Result<Json<CampaignView>, ApiError> {
    let row = state.store.campaign(&org, &id).await?.ok_or_else(|| {
        ApiError::not_found(format!("campaign {id:?} of org {org:?} does not exist"))
    })?;
    Ok(Json(campaign_view(&state, row, true).await?))
}

/// `GET /v1/orgs/{org}/campaigns`: in log order, totals without the beneficiary lists.
#[utoipa::path(
    get,
    path = "/v1/orgs/{org}/campaigns",
    tag = "campaigns",
    summary = "An org's campaigns",
    description = "In log order, with running totals (without the beneficiary lists).",
    params(
        ("org" = String, Path, description = "The org's id."),
        ("after" = Option<u64>, Query, description = "The `next` cursor of the previous page."),
        ("limit" = Option<u64>, Query, minimum = 1, maximum = 500,
            description = "Page size (default 100, at most 500)."),
    ),
    responses(
        (status = 200, description = "A page of campaigns (empty for an unknown org).",
            body = CampaignList),
        (status = 400, response = problem::BadQuery),
        (status = 503, response = problem::Unavailable),
    ),
)]
pub async fn list_campaigns(
    State(state): State<AppState>,
    Path(org): Path<String>,
    query: ApiQuery,
) -> Result<Json<CampaignList>, ApiError> {
    let page = Page::from_query(&query, &[])?;
    let rows = state.store.campaigns(&org, page.after, page.limit).await?;
    let next = page.next(&rows, |r| r.seq);
    let mut campaigns = Vec::with_capacity(rows.len());
    for row in rows {
        campaigns.push(campaign_view(&state, row, false).await?);
    }
    Ok(Json(CampaignList { campaigns, next }))
}
