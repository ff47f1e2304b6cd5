//! Donations: recorded by their org (singly or in batches of micro-donations), looked up
//! by anyone, traced to the disbursements they funded, and found by a donor's own
//! reference (which travels in a request body and is never stored).

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};

use super::auth::OrgWriter;
use super::error::{ApiError, Problem};
use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::inputs::DonationInput;
use super::openapi::{PROBLEM_JSON, problem};
use super::page::Page;
use super::write::{BatchResponse, WriteResponse, append_batch, append_one, parse_batch};
use crate::app::AppState;
use crate::input::{ClientAddr, Id, PathParams};
use crate::ledger::donor::commitment;
use crate::ledger::records::{Donation, Record};
use crate::log::canonical::MAX_SAFE_INTEGER;
use crate::read::MAX_TRACE_PAGE;
use crate::read::donations::{
    DonationRecordView, Trace, donation_view, donations_of_donor, find_donation, trace,
};

fn parse_donation(
    state: &AppState,
    org: &str,
    input: DonationInput,
) -> Result<Donation, crate::ledger::FieldError> {
    Donation::parse(input.into(), |reference| {
        commitment(&state.donor_secret, org, reference).to_hex()
    })
}

/// `POST /v1/orgs/{org}/donations`
#[utoipa::path(
    post,
    path = "/v1/orgs/{org}/donations",
    tag = "donations",
    summary = "Record a donation",
    description = "A `donor_ref` is turned into a per-org HMAC commitment and never stored; the \
        log derives `net`, `received_before` (its place on the money line) and `currency`.",
    params(
        ("org" = crate::formats::Id, Path, description = "The org's id."),
    ),
    request_body = DonationInput,
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
pub async fn create_donation(
    State(state): State<AppState>,
    OrgWriter(org): OrgWriter,
    ApiJson(input): ApiJson<DonationInput>,
) -> Result<(StatusCode, Json<WriteResponse>), ApiError> {
    let record = parse_donation(&state, &org, input).map_err(ApiError::invalid_field)?;
    append_one(&state, &org, Record::Donation(record)).await
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DonationBatch {
    /// 1 to 1000 items, logged all or none.
    // The limits are `super::write::MAX_BATCH_ITEMS` (schema attributes take literals).
    #[schema(min_items = 1, max_items = 1000)]
    pub donations: Vec<DonationInput>,
}

/// `POST /v1/orgs/{org}/donations/batch`: all or nothing, contiguous seqs.
#[utoipa::path(
    post,
    path = "/v1/orgs/{org}/donations/batch",
    tag = "donations",
    summary = "Record up to 1000 donations at once",
    description = "All or nothing: either every item is logged, with contiguous seqs and one \
        checkpoint covering all, or none is.",
    params(
        ("org" = crate::formats::Id, Path, description = "The org's id."),
    ),
    request_body = DonationBatch,
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
pub async fn create_donations_batch(
    State(state): State<AppState>,
    OrgWriter(org): OrgWriter,
    ApiJson(batch): ApiJson<DonationBatch>,
) -> Result<(StatusCode, Json<BatchResponse>), ApiError> {
    let records = parse_batch("donations", batch.donations, |d| {
        parse_donation(&state, &org, d).map(Record::Donation)
    })?;
    append_batch(&state, &org, records, "donations").await
}

/// `GET /v1/orgs/{org}/donations/{id}`
#[utoipa::path(
    get,
    path = "/v1/orgs/{org}/donations/{id}",
    tag = "donations",
    summary = "One donation",
    params(
        ("org" = crate::formats::Id, Path, description = "The org's id."),
        ("id" = crate::formats::Id, Path, description = "The donation's id."),
    ),
    responses(
        (status = 400, response = problem::BadPath),
        (status = 200, description = "The donation.", body = DonationRecordView),
        (status = 404, description = "The org has no donation with this id.",
            body = Problem, content_type = PROBLEM_JSON),
        (status = 503, response = problem::Unavailable),
    ),
)]
pub async fn get_donation(
    State(state): State<AppState>,
    PathParams((org, id), _): ApiPath<(Id, Id)>,
) -> Result<Json<DonationRecordView>, ApiError> {
    let row = find_donation(&state.store, &org, &id).await?;
    Ok(Json(donation_view(&state.store, row).await?))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct DonationList {
    pub donations: Vec<DonationRecordView>,
    #[schema(required = true)]
    pub next: Option<u64>,
}

/// `GET /v1/orgs/{org}/donations`: in log order.
#[utoipa::path(
    get,
    path = "/v1/orgs/{org}/donations",
    tag = "donations",
    summary = "An org's donations",
    description = "In log order.",
    params(
        ("org" = crate::formats::Id, Path, description = "The org's id."),
        ("after" = Option<u64>, Query, description = "The `next` cursor of the previous page."),
        ("limit" = Option<u64>, Query, minimum = 1, maximum = 500,
            description = "Page size (default 100, at most 500)."),
    ),
    responses(
        (status = 200, description = "A page of donations.",
            body = DonationList),
        (status = 404, description = "No org has this id.",
            body = Problem, content_type = PROBLEM_JSON),
        (status = 400, response = problem::BadQuery),
        (status = 503, response = problem::Unavailable),
    ),
)]
pub async fn list_donations(
    State(state): State<AppState>,
    PathParams(org, _): ApiPath<Id>,
    query: ApiQuery,
) -> Result<Json<DonationList>, ApiError> {
    let page = Page::from_query(&query, &[])?;
    crate::read::orgs::known(&state.store, &org).await?;
    let rows = state.store.donations(&org, page.after, page.limit).await?;
    let next = page.next(&rows, |r| r.seq);
    let mut donations = Vec::with_capacity(rows.len());
    for row in rows {
        donations.push(donation_view(&state.store, row).await?);
    }
    Ok(Json(DonationList { donations, next }))
}

/// `after` (a position on the campaign's money line, from the previous page's `next`) and
/// `limit` (at most [`MAX_TRACE_PAGE`]) of a trace or sources page.
pub fn trace_page(query: &ApiQuery) -> Result<(Option<i64>, u64), ApiError> {
    query.only(&["after", "limit"])?;
    let limit = query.u64("limit")?.unwrap_or(MAX_TRACE_PAGE);
    if !(1..=MAX_TRACE_PAGE).contains(&limit) {
        return Err(ApiError::bad_parameter(
            "limit",
            format!("limit must be between 1 and {MAX_TRACE_PAGE}"),
        ));
    }
    let after = match query.u64("after")? {
        Some(after) if after > MAX_SAFE_INTEGER as u64 => {
            return Err(ApiError::bad_parameter(
                "after",
                format!("after is a place on a money line, at most {MAX_SAFE_INTEGER}"),
            ));
        }
        after => after.map(|a| a as i64),
    };
    Ok((after, limit))
}

/// `GET /v1/orgs/{org}/donations/{id}/trace`: where the money went, with receipts.
#[utoipa::path(
    get,
    path = "/v1/orgs/{org}/donations/{id}/trace",
    tag = "donations",
    summary = "Where a donation went",
    description = "The disbursements this donation funded under the allocation rule, in payout \
        order, with how much of it went to each, what is still held, and receipts (C2SP \
        tlog-proof) of the donation and of every disbursement against one signed checkpoint.",
    params(
        ("org" = crate::formats::Id, Path, description = "The org's id."),
        ("id" = crate::formats::Id, Path, description = "The donation's id."),
        ("after" = Option<u64>, Query, maximum = 9007199254740991_i64,
            description = "The `next` cursor of the previous page (a place on the money line)."),
        ("limit" = Option<u64>, Query, minimum = 1, maximum = 100,
            description = "Page size (default and at most 100)."),
    ),
    responses(
        (status = 200, description = "A page of flows with receipts.", body = Trace),
        (status = 400, response = problem::BadQuery),
        (status = 404, description = "The org has no donation with this id.",
            body = Problem, content_type = PROBLEM_JSON),
        (status = 503, response = problem::Unavailable),
    ),
)]
pub async fn trace_donation(
    State(state): State<AppState>,
    PathParams((org, id), _): ApiPath<(Id, Id)>,
    query: ApiQuery,
) -> Result<Json<Trace>, ApiError> {
    let (after, limit) = trace_page(&query)?;
    Ok(Json(
        trace(
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

/// `GET /v1/orgs/{org}/donations/{id}/receipt`: one file a donor keeps.
#[utoipa::path(
    get,
    path = "/v1/orgs/{org}/donations/{id}/receipt",
    tag = "donations",
    summary = "A donation's receipt, as one file",
    description = "The donation entry's exact bytes, one LF, then its C2SP tlog-proof against \
        the latest checkpoint (on a witnessed log, the latest checkpoint the witness quorum \
        cosigned that includes the entry, carrying the cosignatures). Check it offline with \
        `pennytrail-verify receipt FILE --key <the log's verifier key>`.",
    params(
        ("org" = crate::formats::Id, Path, description = "The org's id."),
        ("id" = crate::formats::Id, Path, description = "The donation's id."),
    ),
    responses(
        (status = 200, description = "The receipt file (sent as an attachment).", body = String,
            content_type = "text/plain; charset=utf-8"),
        (status = 400, response = problem::BadPath),
        (status = 404, description = "The org has no donation with this id.",
            body = Problem, content_type = PROBLEM_JSON),
        (status = 503, description = "The log is witnessed and no cosigned checkpoint includes \
            the donation yet (`Retry-After` says when to ask again), or the store failed.",
            body = Problem, content_type = PROBLEM_JSON),
    ),
)]
pub async fn donation_receipt(
    State(state): State<AppState>,
    PathParams((org, id), _): ApiPath<(Id, Id)>,
) -> Result<impl IntoResponse, ApiError> {
    let (file, name) = crate::read::receipts::donation_receipt(
        &state.store,
        state.witness_policy.as_deref(),
        &org,
        &id,
    )
    .await?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "text/plain; charset=utf-8".to_string(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        file,
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"org": "helping-hands", "donor_ref": "ada@example.org"}))]
pub struct DonorLookup {
    #[schema(value_type = crate::formats::Id)]
    pub org: String,
    /// The donor's own reference, as they gave it to the charity.
    #[schema(value_type = crate::formats::DonorRef)]
    pub donor_ref: String,
}

/// `POST /v1/donors/lookup`: a donor's donations at one org. The reference is in the
/// body so it never reaches a URL or an access log; lookups are rate-limited per client.
#[utoipa::path(
    post,
    path = "/v1/donors/lookup",
    tag = "donors",
    summary = "A donor's donations at one org",
    description = "The donor reference travels in the body so it never reaches a URL or an \
        access log. At most 30 lookups per client and minute; up to 500 matches, in log order.",
    request_body = DonorLookup,
    responses(
        (status = 200, description = "The matching donations (`next` is always null).",
            body = DonationList),
        (status = 400, response = problem::MalformedBody),
        (status = 413, response = problem::BodyTooLarge),
        (status = 415, response = problem::UnsupportedMediaType),
        (status = 422, description = "`org` or `donor_ref` is invalid (`field` names it).",
            body = Problem, content_type = PROBLEM_JSON),
        (status = 429, description = "Too many lookups from this client; retry after \
            `Retry-After` seconds.", body = Problem, content_type = PROBLEM_JSON,
            headers(("Retry-After" = u64, description = "Seconds to wait."))),
        (status = 503, response = problem::Unavailable),
    ),
)]
pub async fn donor_lookup(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    ApiJson(lookup): ApiJson<DonorLookup>,
) -> Result<Json<DonationList>, ApiError> {
    let donations = donations_of_donor(&state, client, &lookup.org, &lookup.donor_ref).await?;
    Ok(Json(DonationList {
        donations,
        next: None,
    }))
}
