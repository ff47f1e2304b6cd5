//! Beneficiaries: registered by their org (one at a time or thousands per batch, for
//! micro-payout programmes), and read by anyone.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::auth::OrgWriter;
use super::error::{ApiError, Problem};
use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::inputs::BeneficiaryInput;
use super::openapi::{PROBLEM_JSON, problem};
use super::page::Page;
use super::write::{BatchResponse, WriteResponse, append_batch, append_one, parse_batch};
use crate::app::AppState;
use crate::input::{Id, PathParams};
use crate::ledger::records::{Beneficiary, Record};
use crate::read::entries::{effective_fields, text};

/// `POST /v1/orgs/{org}/beneficiaries`
#[utoipa::path(
    post,
    path = "/v1/orgs/{org}/beneficiaries",
    tag = "beneficiaries",
    summary = "Register a beneficiary",
    params(
        ("org" = crate::formats::Id, Path, description = "The org's id."),
    ),
    request_body = BeneficiaryInput,
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
pub async fn create_beneficiary(
    State(state): State<AppState>,
    OrgWriter(org): OrgWriter,
    ApiJson(input): ApiJson<BeneficiaryInput>,
) -> Result<(StatusCode, Json<WriteResponse>), ApiError> {
    let record = Beneficiary::parse(input.into()).map_err(ApiError::invalid_field)?;
    append_one(&state, &org, Record::Beneficiary(record)).await
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BeneficiaryBatch {
    /// 1 to 1000 items, logged all or none.
    // The limits are `super::write::MAX_BATCH_ITEMS` (schema attributes take literals).
    #[schema(min_items = 1, max_items = 1000)]
    pub beneficiaries: Vec<BeneficiaryInput>,
}

/// `POST /v1/orgs/{org}/beneficiaries/batch`: all or nothing, contiguous seqs.
#[utoipa::path(
    post,
    path = "/v1/orgs/{org}/beneficiaries/batch",
    tag = "beneficiaries",
    summary = "Register up to 1000 beneficiaries at once",
    description = "All or nothing: either every item is logged, with contiguous seqs and one \
        checkpoint covering all, or none is.",
    params(
        ("org" = crate::formats::Id, Path, description = "The org's id."),
    ),
    request_body = BeneficiaryBatch,
    security(("org_token" = [])),
    responses(
        (status = 201, description = "Logged atomically, with contiguous seqs (items already \
            logged with the same content are `replayed`).", body = BatchResponse),
        (status = 200, description = "Every item was already logged with identical content.",
            body = BatchResponse),
        (status = 400, response = problem::MalformedBody),
        (status = 401, response = problem::Unauthorized),
        (status = 403, response = problem::Forbidden),
        (status = 409, response = problem::Conflict),
        (status = 413, response = problem::BatchTooLarge),
        (status = 415, response = problem::UnsupportedMediaType),
        (status = 422, response = problem::InvalidBatch),
        (status = 429, response = problem::OrgWritesRateLimited),
        (status = 503, response = problem::Unavailable),
    ),
)]
pub async fn create_beneficiaries_batch(
    State(state): State<AppState>,
    OrgWriter(org): OrgWriter,
    ApiJson(batch): ApiJson<BeneficiaryBatch>,
) -> Result<(StatusCode, Json<BatchResponse>), ApiError> {
    let records = parse_batch("beneficiaries", batch.beneficiaries, |b| {
        Beneficiary::parse(b.into()).map(Record::Beneficiary)
    })?;
    append_batch(&state, &org, records, "beneficiaries").await
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CampaignReceipt {
    pub campaign: String,
    pub currency: String,
    /// Minor units received from this campaign.
    pub amount: i64,
    pub disbursements: u64,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct BeneficiaryView {
    pub org: String,
    pub id: String,
    pub label: String,
    pub kind: String,
    pub country: String,
    /// The beneficiary's C2SP verifier key, if its org stated one.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub public_key: Option<String>,
    /// Where the key came from: it is the org's statement, so an acknowledgement signed
    /// with it is only as strong as the org's honesty about whose key it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub public_key_provenance: Option<String>,
    pub seq: u64,
    pub registered_at: String,
    pub corrections: Vec<u64>,
    /// What it received, per campaign that stated it.
    pub received: Vec<CampaignReceipt>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct BeneficiaryList {
    pub beneficiaries: Vec<BeneficiaryView>,
    #[schema(required = true)]
    pub next: Option<u64>,
}

async fn beneficiary_view(
    state: &AppState,
    org: &str,
    id: &str,
    seq: u64,
    kind: String,
) -> Result<BeneficiaryView, ApiError> {
    let e = effective_fields(&state.store, seq).await?;
    let public_key = text(&e.fields, "public_key");
    let received = state
        .store
        .beneficiary_receipts(org, id)
        .await?
        .into_iter()
        .map(
            |(campaign, currency, amount, disbursements)| CampaignReceipt {
                campaign,
                currency,
                amount,
                disbursements,
            },
        )
        .collect();
    Ok(BeneficiaryView {
        org: org.to_string(),
        id: id.to_string(),
        label: text(&e.fields, "label").unwrap_or_default(),
        kind,
        country: text(&e.fields, "country").unwrap_or_default(),
        public_key_provenance: public_key
            .as_ref()
            .map(|_| format!("stated by org {org:?} in entry {seq}; not independently verified")),
        public_key,
        seq,
        registered_at: e.time,
        corrections: e.corrections,
        received,
    })
}

/// `GET /v1/orgs/{org}/beneficiaries/{id}`
#[utoipa::path(
    get,
    path = "/v1/orgs/{org}/beneficiaries/{id}",
    tag = "beneficiaries",
    summary = "One beneficiary",
    params(
        ("org" = crate::formats::Id, Path, description = "The org's id."),
        ("id" = crate::formats::Id, Path, description = "The beneficiary's id."),
    ),
    responses(
        (status = 400, response = problem::BadPath),
        (status = 200, description = "The beneficiary, with what it received per campaign.",
            body = BeneficiaryView),
        (status = 404, description = "The org has no beneficiary with this id.",
            body = Problem, content_type = PROBLEM_JSON),
        (status = 503, response = problem::Unavailable),
    ),
)]
pub async fn get_beneficiary(
    State(state): State<AppState>,
    PathParams((org, id), _): ApiPath<(Id, Id)>,
) -> Result<Json<BeneficiaryView>, ApiError> {
    let row = state.store.beneficiary(&org, &id).await?.ok_or_else(|| {
        ApiError::not_found(format!("beneficiary {id:?} of org {org:?} does not exist"))
    })?;
    Ok(Json(
        beneficiary_view(&state, &org, &id, row.seq, row.kind).await?,
    ))
}

/// `GET /v1/orgs/{org}/beneficiaries`: in log order.
#[utoipa::path(
    get,
    path = "/v1/orgs/{org}/beneficiaries",
    tag = "beneficiaries",
    summary = "An org's beneficiaries",
    description = "In log order, with what each received per campaign.",
    params(
        ("org" = crate::formats::Id, Path, description = "The org's id."),
        ("after" = Option<u64>, Query, description = "The `next` cursor of the previous page."),
        ("limit" = Option<u64>, Query, minimum = 1, maximum = 500,
            description = "Page size (default 100, at most 500)."),
    ),
    responses(
        (status = 200, description = "A page of beneficiaries.",
            body = BeneficiaryList),
        (status = 404, description = "No org has this id.",
            body = Problem, content_type = PROBLEM_JSON),
        (status = 400, response = problem::BadQuery),
        (status = 503, response = problem::Unavailable),
    ),
)]
pub async fn list_beneficiaries(
    State(state): State<AppState>,
    PathParams(org, _): ApiPath<Id>,
    query: ApiQuery,
) -> Result<Json<BeneficiaryList>, ApiError> {
    let page = Page::from_query(&query, &[])?;
    crate::read::orgs::known(&state.store, &org).await?;
    let rows = state
        .store
        .beneficiaries(&org, page.after, page.limit)
        .await?;
    let next = page.next(&rows, |r| r.seq);
    let mut beneficiaries = Vec::with_capacity(rows.len());
    for r in rows {
        beneficiaries.push(beneficiary_view(&state, &org, &r.id, r.seq, r.kind).await?);
    }
    Ok(Json(BeneficiaryList {
        beneficiaries,
        next,
    }))
}
