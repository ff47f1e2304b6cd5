//! Signed statements (`ledger::attestations`): an org's reports and key rotations,
//! and beneficiaries' acknowledgements or disputes of disbursements.
//!
//! A report is appended only if every figure equals what the log implies over its range
//! (checked here, against the committed entries, which never change) and its signature
//! is valid under the org's current key (checked by the rules, in the sequencer).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;

use super::auth::OrgWriter;
use super::error::{ApiError, Problem};
use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::inputs::{AcknowledgementInput, KeyRotationInput, ReportInput};
use super::openapi::{PROBLEM_JSON, problem};
use super::page::Page;
use super::write::{WriteResponse, append_one};
use crate::app::AppState;
use crate::input::{ClientAddr, Id, PathParams};
use crate::ledger::attestations::{Acknowledgement, KeyRotation, Report};
use crate::ledger::records::{Record, RecordKey, Scope};
use crate::read::figures::{CampaignFigures, KindFigures, figure_lists};
use crate::read::reports::{ReportView, report_view};
use crate::store::Store;

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
        ("org" = crate::formats::Id, Path, description = "The org's id."),
        ("from" = Option<u64>, Query, description = "First entry covered (default 0)."),
        ("to" = Option<u64>, Query, description = "End of the range, exclusive (default: the latest checkpoint's size)."),
    ),
    responses(
        (status = 200, description = "The figures.", body = FiguresView),
        (status = 404, description = "No org has this id.",
            body = Problem, content_type = PROBLEM_JSON),
        (status = 400, response = problem::BadQuery),
        (status = 404, description = "No such org.", body = Problem, content_type = PROBLEM_JSON),
        (status = 422, description = "The range is past the latest checkpoint or reversed.",
            body = Problem, content_type = PROBLEM_JSON),
        (status = 503, description = "Too many report figures are being recomputed at once \
            (see `Retry-After`), or the log is temporarily unavailable.",
            body = Problem, content_type = PROBLEM_JSON,
            headers(("Retry-After" = u64, description = "Seconds to wait, when busy."))),
    ),
)]
pub async fn get_report_figures(
    State(state): State<AppState>,
    PathParams(org, _): ApiPath<Id>,
    query: ApiQuery,
) -> Result<Json<FiguresView>, ApiError> {
    query.only(&["from", "to"])?;
    if state.store.org_seq(&org).await?.is_none() {
        return Err(ApiError::not_found(format!("org {org:?} does not exist")));
    }
    crate::read::orgs::known(&state.store, &org).await?;
    let (from, to) = report_range(
        &state.store,
        query.u64("from")?.unwrap_or(0),
        query.u64("to")?,
        ("from", "to"),
    )
    .await?;
    let (campaigns, beneficiary_kinds) = figure_lists(
        state
            .figures
            .figures(&state.store, &org, from, to)
            .await?
            .as_ref()
            .clone(),
    );
    Ok(Json(FiguresView {
        origin: state.log.origin.clone(),
        org: org.into_string(),
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
    params(("org" = crate::formats::Id, Path, description = "The org's id.")),
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
        (status = 503, description = "Too many report figures are being recomputed at once \
            (see `Retry-After`), or the log is temporarily unavailable.",
            body = Problem, content_type = PROBLEM_JSON,
            headers(("Retry-After" = u64, description = "Seconds to wait, when busy."))),
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
            crate::ledger::Rule::NoOrgKey,
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
        let actual = state
            .figures
            .figures(&state.store, &org, report.from_size, report.to_size)
            .await?;
        report.check_figures(&actual).map_err(|v| {
            let detail = format!("{}: {}", v.field, v.message);
            ApiError::rule_violation(v.rule, v.field, detail)
        })?;
    }
    append_one(&state, &org, Record::Report(report)).await
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
        ("org" = crate::formats::Id, Path, description = "The org's id."),
        ("after" = Option<u64>, Query, description = "The `next` cursor of the previous page."),
        ("limit" = Option<u64>, Query, minimum = 1, maximum = 500,
            description = "Page size (default 100, at most 500)."),
    ),
    responses(
        (status = 200, description = "A page of reports.", body = ReportList),
        (status = 404, description = "No org has this id.",
            body = Problem, content_type = PROBLEM_JSON),
        (status = 400, response = problem::BadQuery),
        (status = 503, response = problem::Unavailable),
    ),
)]
pub async fn list_reports(
    State(state): State<AppState>,
    PathParams(org, _): ApiPath<Id>,
    query: ApiQuery,
) -> Result<Json<ReportList>, ApiError> {
    let page = Page::from_query(&query, &[])?;
    crate::read::orgs::known(&state.store, &org).await?;
    let seqs = state
        .store
        .org_record_seqs(&org, Scope::Report, page.after, page.limit)
        .await?;
    let next = page.next(&seqs, |s| *s);
    let mut reports = Vec::with_capacity(seqs.len());
    for seq in seqs {
        reports.push(report_view(&state.store, &state.log.origin, &org, seq, None).await?);
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
        ("org" = crate::formats::Id, Path, description = "The org's id."),
        ("id" = crate::formats::Id, Path, description = "The report's id."),
    ),
    responses(
        (status = 400, response = problem::BadPath),
        (status = 200, description = "The report.", body = ReportView),
        (status = 404, description = "The org has no report with this id.",
            body = Problem, content_type = PROBLEM_JSON),
        (status = 503, description = "Too many report figures are being recomputed at once \
            (see `Retry-After`), or the log is temporarily unavailable.",
            body = Problem, content_type = PROBLEM_JSON,
            headers(("Retry-After" = u64, description = "Seconds to wait, when busy."))),
    ),
)]
pub async fn get_report(
    State(state): State<AppState>,
    PathParams((org, id), _): ApiPath<(Id, Id)>,
) -> Result<Json<ReportView>, ApiError> {
    let key = RecordKey {
        org: org.to_string(),
        scope: Scope::Report,
        id: id.to_string(),
    };
    let seq = state.store.record_seq(&key).await?.ok_or_else(|| {
        ApiError::not_found(format!("report {id:?} of org {org:?} does not exist"))
    })?;
    Ok(Json(
        report_view(
            &state.store,
            &state.log.origin,
            &org,
            seq,
            Some(&state.figures),
        )
        .await?,
    ))
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
        ("org" = crate::formats::Id, Path, description = "The org's id."),
        ("id" = crate::formats::Id, Path, description = "The disbursement's id."),
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
    ClientAddr(client): ClientAddr,
    PathParams((org, id), _): ApiPath<(Id, Id)>,
    ApiJson(input): ApiJson<AcknowledgementInput>,
) -> Result<(StatusCode, Json<WriteResponse>), ApiError> {
    state.acknowledgements.check(client)?;
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
    params(("org" = crate::formats::Id, Path, description = "The org's id.")),
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
