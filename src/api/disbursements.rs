//! Disbursements: paid out by their org to stated beneficiaries (singly or in batches of
//! micro-payouts), read by anyone, and traced back to the donations that funded them.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use super::AppState;
use super::auth::OrgWriter;
use super::donations::MAX_TRACE_PAGE;
use super::error::ApiError;
use super::extract::{ApiJson, ApiQuery};
use super::views::{Page, effective_fields, receipts, text};
use super::write::{BatchResponse, WriteResponse, append_batch, append_one, parse_batch};
use crate::ledger::allocation::Span;
use crate::ledger::records::{Disbursement, DisbursementInput, Record};
use crate::store::DisbursementView;

/// `POST /v1/orgs/{org}/disbursements`
pub async fn create_disbursement(
    State(state): State<AppState>,
    OrgWriter(org): OrgWriter,
    ApiJson(input): ApiJson<DisbursementInput>,
) -> Result<(StatusCode, Json<WriteResponse>), ApiError> {
    let record = Disbursement::parse(input).map_err(ApiError::invalid_field)?;
    append_one(&state, &org, Record::Disbursement(record)).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DisbursementBatch {
    pub disbursements: Vec<DisbursementInput>,
}

/// `POST /v1/orgs/{org}/disbursements/batch`: all or nothing, contiguous seqs.
pub async fn create_disbursements_batch(
    State(state): State<AppState>,
    OrgWriter(org): OrgWriter,
    ApiJson(batch): ApiJson<DisbursementBatch>,
) -> Result<(StatusCode, Json<BatchResponse>), ApiError> {
    let records = parse_batch("disbursements", batch.disbursements, |d| {
        Disbursement::parse(d).map(Record::Disbursement)
    })?;
    append_batch(&state, &org, records, "disbursements").await
}

#[derive(Serialize)]
pub struct DisbursementRecordView {
    pub org: String,
    pub id: String,
    pub campaign: String,
    pub currency: String,
    pub beneficiary: String,
    pub beneficiary_kind: String,
    pub amount: i64,
    /// Position of this disbursement on its campaign's money line (the allocation rule).
    pub disbursed_before: i64,
    pub purpose: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evidence_sha256: Option<String>,
    pub seq: u64,
    pub disbursed_at: String,
    pub corrections: Vec<u64>,
}

async fn disbursement_view(
    state: &AppState,
    row: DisbursementView,
) -> Result<DisbursementRecordView, ApiError> {
    let e = effective_fields(&state.store, row.seq).await?;
    Ok(DisbursementRecordView {
        currency: text(&e.fields, "currency").unwrap_or_default(),
        purpose: text(&e.fields, "purpose").unwrap_or_default(),
        evidence_sha256: text(&e.fields, "evidence_sha256"),
        disbursed_at: e.time,
        corrections: e.corrections,
        org: row.org,
        id: row.id,
        campaign: row.campaign,
        beneficiary: row.beneficiary,
        beneficiary_kind: row.beneficiary_kind,
        amount: row.amount,
        disbursed_before: row.disbursed_before,
        seq: row.seq,
    })
}

async fn find_disbursement(
    state: &AppState,
    org: &str,
    id: &str,
) -> Result<DisbursementView, ApiError> {
    state.store.disbursement(org, id).await?.ok_or_else(|| {
        ApiError::not_found(format!("disbursement {id:?} of org {org:?} does not exist"))
    })
}

/// `GET /v1/orgs/{org}/disbursements/{id}`
pub async fn get_disbursement(
    State(state): State<AppState>,
    Path((org, id)): Path<(String, String)>,
) -> Result<Json<DisbursementRecordView>, ApiError> {
    let row = find_disbursement(&state, &org, &id).await?;
    Ok(Json(disbursement_view(&state, row).await?))
}

#[derive(Serialize)]
pub struct DisbursementList {
    pub disbursements: Vec<DisbursementRecordView>,
    pub next: Option<u64>,
}

/// `GET /v1/orgs/{org}/disbursements`: in log order.
pub async fn list_disbursements(
    State(state): State<AppState>,
    Path(org): Path<String>,
    query: ApiQuery,
) -> Result<Json<DisbursementList>, ApiError> {
    let page = Page::from_query(&query, &[])?;
    let rows = state
        .store
        .disbursements(&org, page.after, page.limit)
        .await?;
    let next = page.next(&rows, |r| r.seq);
    let mut disbursements = Vec::with_capacity(rows.len());
    for row in rows {
        disbursements.push(disbursement_view(&state, row).await?);
    }
    Ok(Json(DisbursementList {
        disbursements,
        next,
    }))
}

/// Part of a disbursement paid from one donation.
#[derive(Serialize)]
pub struct Source {
    pub donation: String,
    /// Minor units of that donation in this disbursement.
    pub amount: i64,
    pub seq: u64,
}

#[derive(Serialize)]
pub struct Sources {
    pub org: String,
    pub disbursement: String,
    pub campaign: String,
    pub amount: i64,
    pub seq: u64,
    pub sources: Vec<Source>,
    pub next: Option<i64>,
    pub checkpoint: String,
    pub receipts: BTreeMap<u64, String>,
}

/// `GET /v1/orgs/{org}/disbursements/{id}/sources`: the donations behind a disbursement.
pub async fn disbursement_sources(
    State(state): State<AppState>,
    Path((org, id)): Path<(String, String)>,
    query: ApiQuery,
) -> Result<Json<Sources>, ApiError> {
    query.only(&["after", "limit"])?;
    let limit = query.u64("limit")?.unwrap_or(MAX_TRACE_PAGE);
    if !(1..=MAX_TRACE_PAGE).contains(&limit) {
        return Err(ApiError::bad_parameter(
            "limit",
            format!("limit must be between 1 and {MAX_TRACE_PAGE}"),
        ));
    }
    let after = query.u64("after")?.map(|a| a as i64);
    let x = find_disbursement(&state, &org, &id).await?;
    // Read after the disbursement: it and all its sources are in this checkpoint.
    let checkpoint = state.store.latest_checkpoint().await?;
    let span = Span {
        start: x.disbursed_before,
        len: x.amount,
    };
    let rows = state
        .store
        .donations_on_line(&org, &x.campaign, span.start, span.end(), after, limit)
        .await?;
    let next = (rows.len() as u64 == limit)
        .then(|| rows.last().map(|r| r.received_before))
        .flatten();
    let sources: Vec<Source> = rows
        .into_iter()
        .map(|d| Source {
            amount: span.overlap(&Span {
                start: d.received_before,
                len: d.net,
            }),
            donation: d.id,
            seq: d.seq,
        })
        .collect();
    let seqs: Vec<u64> = std::iter::once(x.seq)
        .chain(sources.iter().map(|s| s.seq))
        .collect();
    let receipts = receipts(&state.store, seqs, &checkpoint).await?;
    Ok(Json(Sources {
        org,
        disbursement: x.id,
        campaign: x.campaign,
        amount: x.amount,
        seq: x.seq,
        sources,
        next,
        checkpoint: checkpoint.note,
        receipts,
    }))
}
