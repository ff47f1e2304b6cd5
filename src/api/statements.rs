//! Signed statements (`ledger::attestations`): an org's reports and key rotations,
//! and beneficiaries' acknowledgements or disputes of disbursements.
//!
//! A report is appended only if every figure equals what the log implies over its range
//! (checked here, against the committed entries, which never change) and its signature
//! is valid under the org's current key (checked by the rules, in the sequencer).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Serialize;

use super::AppState;
use super::auth::OrgWriter;
use super::error::{ApiError, Problem};
use super::extract::{ApiJson, ApiQuery};
use super::inputs::{
    AcknowledgementInput, CampaignFigures, KeyRotationInput, KindFigures, ReportInput, figure_lists,
};
use super::openapi::{PROBLEM_JSON, problem};
use super::views::Page;
use super::write::{WriteResponse, append_one};
use crate::ledger::attestations::{
    Acknowledgement, KeyRotation, Report, ReportFigures, signature_valid,
};
use crate::ledger::records::{Record, RecordKey};
use crate::ledger::report_book::ReportBook;
use crate::log::entry;
use crate::store::{Store, StoreError};

/// Entries read per query while recomputing a report's figures.
const FIGURES_PAGE: u64 = 1000;

/// The figures a report of `org` over `[from, to)` must state, recomputed from the org's
/// committed entries.
pub async fn figures_from_store(
    store: &Store,
    org: &str,
    from: u64,
    to: u64,
) -> Result<ReportFigures, StoreError> {
    let mut book = ReportBook::every_org();
    let mut next = 0;
    while next < to {
        let page = store.org_entries(org, next, to, FIGURES_PAGE).await?;
        let Some((last, _)) = page.last() else { break };
        next = last + 1;
        for (seq, bytes) in &page {
            let e = entry::parse(bytes)
                .map_err(|e| StoreError::Corrupt(format!("entry {seq}: {e}")))?;
            let (record, derived) = Record::from_entry(&e)
                .map_err(|e| StoreError::Corrupt(format!("entry {seq}: {e}")))?;
            book.push(org, *seq, &record, &derived);
        }
    }
    Ok(book.figures(org, from, to))
}

/// The figures for a report, for `pennytrail report draft`.
#[derive(Serialize, utoipa::ToSchema)]
pub struct FiguresView {
    /// The log's origin, which the report's signed message names.
    pub origin: String,
    pub org: String,
    pub from_size: u64,
    pub to_size: u64,
    // The figures' two lists, spelled out rather than `#[serde(flatten)]`: a flattened
    // `ReportFigures` documents itself as `allOf` with a schema that allows no other
    // properties, which every answer would then violate.
    pub campaigns: Vec<CampaignFigures>,
    pub beneficiary_kinds: Vec<KindFigures>,
}

/// Resolves `from`/`to` of a report range: `to` defaults to, and may not pass, the
/// latest signed checkpoint (a report covers only entries everyone can verify). Errors
/// name the fields as the request spelled them (`names`: the query's `from`/`to`, a
/// report body's `from_size`/`to_size`).
async fn report_range(
    store: &Store,
    from: u64,
    to: Option<u64>,
    names: (&str, &str),
) -> Result<(u64, u64), ApiError> {
    let (from_name, to_name) = names;
    let size = store.latest_checkpoint().await?.size;
    let to = to.unwrap_or(size);
    if to > size {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-field",
            format!("{to_name} {to} is past the latest signed checkpoint's size {size}"),
        )
        .with_field(to_name));
    }
    if from > to {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-field",
            format!("{from_name} {from} is after {to_name} {to}"),
        )
        .with_field(from_name));
    }
    Ok((from, to))
}

/// `GET /v1/orgs/{org}/report-figures?from=&to=`
#[utoipa::path(
    get,
    path = "/v1/orgs/{org}/report-figures",
    tag = "reports",
    summary = "The figures a report over a log range must state",
    description = "Recomputed from the log: per campaign opened before `to`, what it received, \
        paid in fees, netted and disbursed in [`from`, `to`) and what it held at `to`; per \
        currency and beneficiary kind, what was disbursed in the range. `pennytrail report \
        draft` fetches this; a report is accepted only if it states exactly these figures.",
    params(
        ("org" = String, Path, description = "The org's id."),
        ("from" = Option<u64>, Query, description = "First entry covered (default 0)."),
        ("to" = Option<u64>, Query, description = "End of the range, exclusive (default: the latest checkpoint's size)."),
    ),
    responses(
        (status = 200, description = "The figures.", body = FiguresView),
        (status = 400, response = problem::BadQuery),
        (status = 404, description = "No such org.", body = Problem, content_type = PROBLEM_JSON),
        (status = 422, description = "The range is past the latest checkpoint or reversed.",
            body = Problem, content_type = PROBLEM_JSON),
        (status = 503, response = problem::Unavailable),
    ),
)]
pub async fn get_report_figures(
    State(state): State<AppState>,
    Path(org): Path<String>,
    query: ApiQuery,
) -> Result<Json<FiguresView>, ApiError> {
    query.only(&["from", "to"])?;
    if state.store.org_seq(&org).await?.is_none() {
        return Err(ApiError::not_found(format!("org {org:?} does not exist")));
    }
    let (from, to) = report_range(
        &state.store,
        query.u64("from")?.unwrap_or(0),
        query.u64("to")?,
        ("from", "to"),
    )
    .await?;
    let (campaigns, beneficiary_kinds) =
        figure_lists(figures_from_store(&state.store, &org, from, to).await?);
    Ok(Json(FiguresView {
        origin: state.log.origin.clone(),
        org,
        from_size: from,
        to_size: to,
        campaigns,
        beneficiary_kinds,
    }))
}

/// `POST /v1/orgs/{org}/reports`
#[utoipa::path(
    post,
    path = "/v1/orgs/{org}/reports",
    tag = "reports",
    summary = "Publish a signed report",
    description = "Logs `report.published`: the org's figures over [`from_size`, `to_size`), \
        signed with the org's key over `pennytrail/report/v1\\n<origin>\\n<canonical JSON of \
        the report without its signature, with org>\\n`. Every figure is recomputed from the \
        log first: one that differs is refused (422, rule `report-figure`, naming the figure \
        and both values); so is a signature not valid under the org's current key (rule \
        `bad-signature`) or an org without a key (`no-org-key`).",
    params(("org" = String, Path, description = "The org's id.")),
    request_body = ReportInput,
    security(("org_token" = [])),
    responses(
        (status = 201, description = "Logged: the entry with its receipt.", body = WriteResponse),
        (status = 200, description = "A replay of the same report: the original answer.", body = WriteResponse),
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
pub async fn publish_report(
    State(state): State<AppState>,
    OrgWriter(org): OrgWriter,
    ApiJson(input): ApiJson<ReportInput>,
) -> Result<(StatusCode, Json<WriteResponse>), ApiError> {
    let report = Report::parse(input.into()).map_err(ApiError::invalid_field)?;
    if state
        .store
        .org_key_at(&org, i64::MAX as u64)
        .await?
        .is_none()
    {
        return Err(ApiError::rule_violation(
            "no-org-key",
            "signature",
            format!("org {org:?} has no key: the operator registers one with the org"),
        ));
    }
    // A replay is answered as such, even once the log has grown.
    if state
        .store
        .record_seq(&Record::Report(report.clone()).key(&org))
        .await?
        .is_none()
    {
        report_range(
            &state.store,
            report.from_size,
            Some(report.to_size),
            ("from_size", "to_size"),
        )
        .await?;
        let actual =
            figures_from_store(&state.store, &org, report.from_size, report.to_size).await?;
        if let Some((field, said, implied)) = report.figures.first_difference(&actual) {
            let detail = format!(
                "{field}: the report says {said} but the log over [{}, {}) implies {implied}",
                report.from_size, report.to_size
            );
            return Err(ApiError::rule_violation("report-figure", field, detail));
        }
    }
    append_one(&state, &org, Record::Report(report)).await
}

/// A report as logged, with its verification.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ReportView {
    pub report: String,
    pub seq: u64,
    pub from_size: u64,
    pub to_size: u64,
    /// As in [`FiguresView`].
    pub campaigns: Vec<CampaignFigures>,
    pub beneficiary_kinds: Vec<KindFigures>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document_sha256: Option<String>,
    pub signature: String,
    /// The org key valid when the report was logged, and the seq of the entry that set it.
    pub signed_by: Option<String>,
    pub signed_by_seq: Option<u64>,
    pub verification: ReportVerification,
}

/// What a fresh check of a logged report found.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ReportVerification {
    /// `verified` when both checks pass, else `failed`.
    pub status: &'static str,
    /// Whether the signature is valid under the key valid at that point of the log.
    pub signature_valid: bool,
    /// Whether every figure equals what the log implies (only on `GET …/reports/{id}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub figures_match: Option<bool>,
    /// The first figure that differs, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub difference: Option<String>,
}

pub(crate) async fn report_view(
    state: &AppState,
    org: &str,
    seq: u64,
    recompute: bool,
) -> Result<ReportView, ApiError> {
    let bytes = state
        .store
        .entry(seq)
        .await?
        .ok_or_else(|| StoreError::Corrupt(format!("entry {seq} is missing")))?;
    let e = entry::parse(&bytes).map_err(|e| StoreError::Corrupt(format!("entry {seq}: {e}")))?;
    let Ok((Record::Report(r), _)) = Record::from_entry(&e) else {
        return Err(StoreError::Corrupt(format!("entry {seq} is not a report")).into());
    };
    let key = state.store.org_key_at(org, seq).await?;
    let signature_ok = key.as_ref().is_some_and(|(k, _)| {
        signature_valid(k, &r.signed_message(&state.log.origin, org), &r.signature)
    });
    let (figures_match, difference) = if recompute {
        let actual = figures_from_store(&state.store, org, r.from_size, r.to_size).await?;
        let difference = r
            .figures
            .first_difference(&actual)
            .map(|(f, said, log)| format!("{f}: the report says {said}, the log implies {log}"));
        (Some(difference.is_none()), difference)
    } else {
        (None, None)
    };
    let verified = signature_ok && figures_match != Some(false);
    let (campaigns, beneficiary_kinds) = figure_lists(r.figures);
    Ok(ReportView {
        report: r.id,
        seq,
        from_size: r.from_size,
        to_size: r.to_size,
        campaigns,
        beneficiary_kinds,
        document_sha256: r.document_sha256,
        signature: r.signature,
        signed_by: key.as_ref().map(|(k, _)| k.clone()),
        signed_by_seq: key.map(|(_, s)| s),
        verification: ReportVerification {
            status: if verified { "verified" } else { "failed" },
            signature_valid: signature_ok,
            figures_match,
            difference,
        },
    })
}

/// A page of reports.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ReportList {
    pub reports: Vec<ReportView>,
    /// Cursor for the next page (`after=`), absent on the last page.
    pub next: Option<u64>,
}

/// `GET /v1/orgs/{org}/reports`
#[utoipa::path(
    get,
    path = "/v1/orgs/{org}/reports",
    tag = "reports",
    summary = "An org's reports",
    description = "In log order, each with its signature checked again against the org key \
        valid when it was logged (figures are re-checked on `GET …/reports/{id}`).",
    params(
        ("org" = String, Path, description = "The org's id."),
        ("after" = Option<u64>, Query, description = "The `next` cursor of the previous page."),
        ("limit" = Option<u64>, Query, minimum = 1, maximum = 500,
            description = "Page size (default 100, at most 500)."),
    ),
    responses(
        (status = 200, description = "A page of reports.", body = ReportList),
        (status = 400, response = problem::BadQuery),
        (status = 503, response = problem::Unavailable),
    ),
)]
pub async fn list_reports(
    State(state): State<AppState>,
    Path(org): Path<String>,
    query: ApiQuery,
) -> Result<Json<ReportList>, ApiError> {
    let page = Page::from_query(&query, &[])?;
    let seqs = state
        .store
        .org_record_seqs(&org, "report", page.after, page.limit)
        .await?;
    let next = page.next(&seqs, |s| *s);
    let mut reports = Vec::with_capacity(seqs.len());
    for seq in seqs {
        reports.push(report_view(&state, &org, seq, false).await?);
    }
    Ok(Json(ReportList { reports, next }))
}

/// `GET /v1/orgs/{org}/reports/{id}`
#[utoipa::path(
    get,
    path = "/v1/orgs/{org}/reports/{id}",
    tag = "reports",
    summary = "One report, verified afresh",
    description = "The report with its verification: the signature checked against the org \
        key valid when it was logged, and every figure recomputed from the log.",
    params(
        ("org" = String, Path, description = "The org's id."),
        ("id" = String, Path, description = "The report's id."),
    ),
    responses(
        (status = 200, description = "The report.", body = ReportView),
        (status = 404, description = "The org has no report with this id.",
            body = Problem, content_type = PROBLEM_JSON),
        (status = 503, response = problem::Unavailable),
    ),
)]
pub async fn get_report(
    State(state): State<AppState>,
    Path((org, id)): Path<(String, String)>,
) -> Result<Json<ReportView>, ApiError> {
    let key = RecordKey {
        org: org.clone(),
        scope: "report",
        id: id.clone(),
    };
    let seq = state.store.record_seq(&key).await?.ok_or_else(|| {
        ApiError::not_found(format!("report {id:?} of org {org:?} does not exist"))
    })?;
    Ok(Json(report_view(&state, &org, seq, true).await?))
}

/// `POST /v1/orgs/{org}/disbursements/{id}/acknowledgement`
#[utoipa::path(
    post,
    path = "/v1/orgs/{org}/disbursements/{id}/acknowledgement",
    tag = "disbursements",
    summary = "A beneficiary acknowledges or disputes a disbursement",
    description = "Logs `disbursement.acknowledged`. No token: the beneficiary's Ed25519 \
        signature, by the key its org stated for it, over exactly \
        `pennytrail/ack/v1\\n<origin>\\n<seq>\\n<hex leaf hash>\\n<status>\\n<amount_received>\\n` \
        (seq and leaf hash of the disbursement entry) is the authentication. `received` \
        confirms the whole amount; `disputed` states what arrived. One per disbursement.",
    params(
        ("org" = String, Path, description = "The org's id."),
        ("id" = String, Path, description = "The disbursement's id."),
    ),
    request_body = AcknowledgementInput,
    responses(
        (status = 201, description = "Logged: the entry with its receipt.", body = WriteResponse),
        (status = 200, description = "A replay: the original answer.", body = WriteResponse),
        (status = 400, response = problem::MalformedBody),
        (status = 404, description = "The org has no disbursement with this id.",
            body = Problem, content_type = PROBLEM_JSON),
        (status = 409, response = problem::Conflict),
        (status = 413, response = problem::BodyTooLarge),
        (status = 415, response = problem::UnsupportedMediaType),
        (status = 422, response = problem::InvalidInput),
        (status = 429, description = "More than 60 acknowledgements a minute from this client \
            (see `Retry-After`).", body = Problem, content_type = PROBLEM_JSON,
            headers(("Retry-After" = u64, description = "Seconds to wait."))),
        (status = 503, response = problem::Unavailable),
    ),
)]
pub async fn acknowledge_disbursement(
    State(state): State<AppState>,
    axum::extract::ConnectInfo(client): axum::extract::ConnectInfo<std::net::SocketAddr>,
    Path((org, id)): Path<(String, String)>,
    ApiJson(input): ApiJson<AcknowledgementInput>,
) -> Result<(StatusCode, Json<WriteResponse>), ApiError> {
    state.acknowledgements.check(client.ip())?;
    let disbursement = state.store.disbursement(&org, &id).await?.ok_or_else(|| {
        ApiError::not_found(format!("disbursement {id:?} of org {org:?} does not exist"))
    })?;
    let ack = Acknowledgement::parse(&id, &disbursement.beneficiary, input.into())
        .map_err(ApiError::invalid_field)?;
    append_one(&state, &org, Record::Acknowledgement(ack)).await
}

/// `POST /v1/orgs/{org}/key`
#[utoipa::path(
    post,
    path = "/v1/orgs/{org}/key",
    tag = "orgs",
    summary = "Rotate the org's signing key",
    description = "Logs `org.key_rotated`: the new key, signed by the current one over \
        `pennytrail/org-key/v1\\n<origin>\\n<org>\\n<seq of the entry that set the current \
        key>\\n<new key>\\n`. Reports after it must be signed by the new key; a key once \
        rotated away cannot come back.",
    params(("org" = String, Path, description = "The org's id.")),
    request_body = KeyRotationInput,
    security(("org_token" = [])),
    responses(
        (status = 201, description = "Logged: the entry with its receipt.", body = WriteResponse),
        (status = 200, description = "A replay: the original answer.", body = WriteResponse),
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
pub async fn rotate_org_key(
    State(state): State<AppState>,
    OrgWriter(org): OrgWriter,
    ApiJson(input): ApiJson<KeyRotationInput>,
) -> Result<(StatusCode, Json<WriteResponse>), ApiError> {
    let rotation = KeyRotation::parse(input.into()).map_err(ApiError::invalid_field)?;
    append_one(&state, &org, Record::KeyRotation(rotation)).await
}
