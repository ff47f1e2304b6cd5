//! Disbursements: paid out by their org to stated beneficiaries (singly or in batches of
//! micro-payouts), read by anyone, and traced back to the donations that funded them.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::auth::OrgWriter;
use super::donations::trace_page;
use super::error::{ApiError, Problem};
use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::inputs::DisbursementInput;
use super::openapi::{PROBLEM_JSON, problem};
use super::page::Page;
use super::write::{BatchResponse, WriteResponse, append_batch, append_one, parse_batch};
use crate::app::AppState;
use crate::input::{Id, PathParams};
use crate::ledger::records::{Disbursement, Record};
use crate::read::disbursements::{
    DisbursementRecordView, Sources, disbursement_view, find_disbursement, sources,
};

/// `POST /v1/orgs/{org}/disbursements`
#[utoipa::path(
    post,
    path = "/v1/orgs/{org}/disbursements",
    tag = "disbursements",
    summary = "Record a disbursement",
    description = "To a beneficiary stated for the campaign before this entry, and never more \
        than the campaign still holds; the log derives `disbursed_before` (its place on the \
        money line).",
    params(
        ("org" = crate::formats::Id, Path, description = "The org's id."),
    ),
    request_body = DisbursementInput,
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
pub async fn create_disbursement(
    State(state): State<AppState>,
    OrgWriter(org): OrgWriter,
    ApiJson(input): ApiJson<DisbursementInput>,
) -> Result<(StatusCode, Json<WriteResponse>), ApiError> {
    let record = Disbursement::parse(input.into()).map_err(ApiError::invalid_field)?;
    append_one(&state, &org, Record::Disbursement(record)).await
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DisbursementBatch {
    /// 1 to 1000 items, logged all or none.
    // The limits are `super::write::MAX_BATCH_ITEMS` (schema attributes take literals).
    #[schema(min_items = 1, max_items = 1000)]
    pub disbursements: Vec<DisbursementInput>,
}

/// `POST /v1/orgs/{org}/disbursements/batch`: all or nothing, contiguous seqs.
#[utoipa::path(
    post,
    path = "/v1/orgs/{org}/disbursements/batch",
    tag = "disbursements",
    summary = "Record up to 1000 disbursements at once",
    description = "All or nothing: either every item is logged, with contiguous seqs and one \
        checkpoint covering all, or none is.",
    params(
        ("org" = crate::formats::Id, Path, description = "The org's id."),
    ),
    request_body = DisbursementBatch,
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
pub async fn create_disbursements_batch(
    State(state): State<AppState>,
    OrgWriter(org): OrgWriter,
    ApiJson(batch): ApiJson<DisbursementBatch>,
) -> Result<(StatusCode, Json<BatchResponse>), ApiError> {
    let records = parse_batch("disbursements", batch.disbursements, |d| {
        Disbursement::parse(d.into()).map(Record::Disbursement)
    })?;
    append_batch(&state, &org, records, "disbursements").await
}

/// `GET /v1/orgs/{org}/disbursements/{id}`
#[utoipa::path(
    get,
    path = "/v1/orgs/{org}/disbursements/{id}",
    tag = "disbursements",
    summary = "One disbursement",
    params(
        ("org" = crate::formats::Id, Path, description = "The org's id."),
        ("id" = crate::formats::Id, Path, description = "The disbursement's id."),
    ),
    responses(
        (status = 400, response = problem::BadPath),
        (status = 200, description = "The disbursement.", body = DisbursementRecordView),
        (status = 404, description = "The org has no disbursement with this id.",
            body = Problem, content_type = PROBLEM_JSON),
        (status = 503, response = problem::Unavailable),
    ),
)]
pub async fn get_disbursement(
    State(state): State<AppState>,
    PathParams((org, id), _): ApiPath<(Id, Id)>,
) -> Result<Json<DisbursementRecordView>, ApiError> {
    let row = find_disbursement(&state.store, &org, &id).await?;
    Ok(Json(disbursement_view(&state.store, row).await?))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct DisbursementList {
    pub disbursements: Vec<DisbursementRecordView>,
    #[schema(required = true)]
    pub next: Option<u64>,
}

/// `GET /v1/orgs/{org}/disbursements`: in log order.
#[utoipa::path(
    get,
    path = "/v1/orgs/{org}/disbursements",
    tag = "disbursements",
    summary = "An org's disbursements",
    description = "In log order.",
    params(
        ("org" = crate::formats::Id, Path, description = "The org's id."),
        ("after" = Option<u64>, Query, description = "The `next` cursor of the previous page."),
        ("limit" = Option<u64>, Query, minimum = 1, maximum = 500,
            description = "Page size (default 100, at most 500)."),
    ),
    responses(
        (status = 200, description = "A page of disbursements.",
            body = DisbursementList),
        (status = 404, description = "No org has this id.",
            body = Problem, content_type = PROBLEM_JSON),
        (status = 400, response = problem::BadQuery),
        (status = 503, response = problem::Unavailable),
    ),
)]
pub async fn list_disbursements(
    State(state): State<AppState>,
    PathParams(org, _): ApiPath<Id>,
    query: ApiQuery,
) -> Result<Json<DisbursementList>, ApiError> {
    let page = Page::from_query(&query, &[])?;
    crate::read::orgs::known(&state.store, &org).await?;
    let rows = state
        .store
        .disbursements(&org, page.after, page.limit)
        .await?;
    let next = page.next(&rows, |r| r.seq);
    let mut disbursements = Vec::with_capacity(rows.len());
    for row in rows {
        disbursements.push(disbursement_view(&state.store, row).await?);
    }
    Ok(Json(DisbursementList {
        disbursements,
        next,
    }))
}

/// `GET /v1/orgs/{org}/disbursements/{id}/sources`: the donations behind a disbursement.
#[utoipa::path(
    get,
    path = "/v1/orgs/{org}/disbursements/{id}/sources",
    tag = "disbursements",
    summary = "The donations behind a disbursement",
    description = "The donations that funded this disbursement under the allocation rule, with \
        how much of each, and receipts (C2SP tlog-proof) of the disbursement and every donation \
        against one signed checkpoint.",
    params(
        ("org" = crate::formats::Id, Path, description = "The org's id."),
        ("id" = crate::formats::Id, Path, description = "The disbursement's id."),
        ("after" = Option<u64>, Query, maximum = 9007199254740991_i64,
            description = "The `next` cursor of the previous page (a place on the money line)."),
        ("limit" = Option<u64>, Query, minimum = 1, maximum = 100,
            description = "Page size (default and at most 100)."),
    ),
    responses(
        (status = 200, description = "A page of sources with receipts.", body = Sources),
        (status = 400, response = problem::BadQuery),
        (status = 404, description = "The org has no disbursement with this id.",
            body = Problem, content_type = PROBLEM_JSON),
        (status = 503, response = problem::Unavailable),
    ),
)]
pub async fn disbursement_sources(
    State(state): State<AppState>,
    PathParams((org, id), _): ApiPath<(Id, Id)>,
    query: ApiQuery,
) -> Result<Json<Sources>, ApiError> {
    let (after, limit) = trace_page(&query)?;
    Ok(Json(
        sources(
            &state.store,
            org.into_string(),
            &id,
            after,
            limit,
            state.witness_policy.as_deref(),
        )
        .await?,
    ))
}
