//! Public, read-only log endpoints (DESIGN.md "Public surface"): the log's identity, the
//! latest checkpoint, entries by seq, inclusion proofs (receipts) and consistency proofs.
//! Everything served comes from the database, never from one process's memory.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::error::{ApiError, Problem};
use super::extract::{ApiPath, ApiQuery};
use super::openapi::{CanonicalEntry, PROBLEM_JSON, problem};
use crate::app::AppState;
use crate::input::PathParams;
use crate::log::merkle::{consistency_proof, consistency_proof_indexes};
use crate::read::entries::receipt;
use crate::read::witnessed::{RETRY_AFTER_S, latest_witnessed, witnessed_at};
use crate::store::{StoreError, StoredCheckpoint};

/// Default and largest page of `GET /v1/entries`. 1,000 entries of at most 16 KiB
/// bound one response at 16 MiB; typical entries make it ~300 KB.
pub const DEFAULT_PAGE: u64 = 100;
pub const MAX_PAGE: u64 = 1000;

fn with_type(body: impl IntoResponse, content_type: &'static str) -> Response {
    let mut response = body.into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// The log's identity and current size.
#[derive(Serialize, utoipa::ToSchema)]
pub struct LogInfo {
    /// The log's origin: the first line of its checkpoints.
    pub origin: String,
    /// The C2SP verifier key checkpoints are signed with; pin it.
    pub verifier_key: String,
    /// Entries in the latest signed checkpoint.
    pub size: u64,
}

/// `GET /v1/log`
#[utoipa::path(
    get,
    path = "/v1/log",
    tag = "log",
    summary = "The log's origin, verifier key and size",
    responses(
        (status = 200, description = "The log's identity.", body = LogInfo),
        (status = 503, response = problem::Unavailable),
    ),
)]
pub async fn get_log(State(state): State<AppState>) -> Result<Json<LogInfo>, ApiError> {
    let checkpoint = state.store.latest_checkpoint().await?;
    Ok(Json(LogInfo {
        origin: state.log.origin.clone(),
        verifier_key: state.log.verifier_key.clone(),
        size: checkpoint.size,
    }))
}

/// The latest checkpoint of at least `min_size` entries whose cosignatures meet the log's
/// witness policy, carrying them. 404 naming `witnessed` on a log without a policy; 503
/// with `Retry-After` while none is witnessed yet.
pub async fn witnessed_checkpoint(
    state: &AppState,
    min_size: u64,
) -> Result<StoredCheckpoint, ApiError> {
    let policy = witness_policy(state)?;
    match latest_witnessed(&state.store, policy, min_size).await? {
        Some(witnessed) => Ok(witnessed.into_stored()),
        None => {
            let mut error = ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "not-witnessed-yet",
                if min_size > 0 {
                    format!(
                        "no checkpoint of {min_size} entries or more has been cosigned by the \
                         witness quorum yet; retry shortly"
                    )
                } else {
                    "no checkpoint has been cosigned by the witness quorum yet; retry shortly"
                        .to_string()
                },
            );
            error.retry_after_s = Some(RETRY_AFTER_S);
            Err(error)
        }
    }
}

/// The log's witness policy; 404 naming `witnessed` on a log without one.
fn witness_policy(state: &AppState) -> Result<&crate::log::policy::Policy, ApiError> {
    state.witness_policy.as_deref().ok_or_else(|| {
        ApiError::not_found("this log is not witnessed (the service runs without --witness-policy)")
            .with_field("witnessed")
    })
}

/// `GET /v1/checkpoint[?witnessed=true]`: the latest signed checkpoint, verbatim.
#[utoipa::path(
    get,
    path = "/v1/checkpoint",
    tag = "log",
    summary = "The latest signed checkpoint",
    description = "The latest signed checkpoint, verbatim: a C2SP signed note whose body is \
        the origin, the tree size and the base64 root hash. With `witnessed=true`, the \
        latest checkpoint whose witnesses' cosignatures meet the log's witness policy, \
        with those cosignatures after the log's signature.",
    params(
        ("witnessed" = Option<bool>, Query,
            description = "true for the latest witnessed checkpoint (default false)."),
    ),
    responses(
        (status = 200, description = "A C2SP signed-note checkpoint.", body = String,
            content_type = "text/plain; charset=utf-8"),
        (status = 400, description = "`witnessed` is not true or false, or the query has an \
            unknown parameter.", body = Problem, content_type = PROBLEM_JSON),
        (status = 404, description = "`witnessed=true` on a log that has no witness policy.",
            body = Problem, content_type = PROBLEM_JSON),
        (status = 503, response = problem::NotWitnessedYet),
    ),
)]
pub async fn get_checkpoint(
    State(state): State<AppState>,
    query: ApiQuery,
) -> Result<Response, ApiError> {
    query.only(&["witnessed"])?;
    let checkpoint = if query.bool("witnessed")? == Some(true) {
        witnessed_checkpoint(&state, 0).await?
    } else {
        state.store.latest_checkpoint().await?
    };
    Ok(with_type(checkpoint.note, "text/plain; charset=utf-8"))
}

/// `GET /v1/entries/{seq}`: the exact canonical bytes.
#[utoipa::path(
    get,
    path = "/v1/entries/{seq}",
    tag = "log",
    summary = "One entry's exact canonical bytes",
    description = "The exact canonical bytes of entry `seq`, whose RFC 6962 leaf hash is \
        the tree's leaf `seq`.",
    params(("seq" = u64, Path, description = "The entry's index in the log (from 0).")),
    responses(
        (status = 200, description = "The entry's canonical JSON bytes.", body = CanonicalEntry,
            content_type = "application/json"),
        (status = 400, description = "`seq` is not a non-negative integer.",
            body = Problem, content_type = PROBLEM_JSON),
        (status = 404, description = "No entry has this seq.",
            body = Problem, content_type = PROBLEM_JSON),
        (status = 503, response = problem::Unavailable),
    ),
)]
pub async fn get_entry(
    State(state): State<AppState>,
    PathParams(seq, _): ApiPath<u64>,
) -> Result<Response, ApiError> {
    let bytes = state
        .store
        .entry(seq)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("entry {seq} does not exist")))?;
    Ok(with_type(bytes, "application/json"))
}

/// `GET /v1/entries?from=&limit=`: NDJSON, one entry's exact bytes per line.
#[utoipa::path(
    get,
    path = "/v1/entries",
    tag = "log",
    summary = "Entries in log order, as NDJSON",
    description = "Entries from `from` on, one entry's exact canonical bytes per line \
        (each line ends with `\\n`). Fewer than `limit` lines means the end of the log.",
    params(
        ("from" = Option<u64>, Query, description = "First seq to return (default 0)."),
        ("limit" = Option<u64>, Query, minimum = 1, maximum = 1000,
            description = "Most entries to return (default 100, at most 1000)."),
    ),
    responses(
        (status = 200, description = "Newline-delimited canonical entries.", body = String,
            content_type = "application/x-ndjson"),
        (status = 400, description = "A query parameter is unknown, repeated or out of range.",
            body = Problem, content_type = PROBLEM_JSON),
        (status = 503, response = problem::Unavailable),
    ),
)]
pub async fn list_entries(
    State(state): State<AppState>,
    query: ApiQuery,
) -> Result<Response, ApiError> {
    query.only(&["from", "limit"])?;
    let from = query.u64("from")?.unwrap_or(0);
    let limit = query.u64("limit")?.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiError::bad_parameter(
            "limit",
            format!("limit must be between 1 and {MAX_PAGE}"),
        ));
    }
    let entries = state.store.entries(from, limit).await?;
    let mut body = Vec::with_capacity(entries.iter().map(|(_, b)| b.len() + 1).sum());
    for (_, bytes) in entries {
        body.extend_from_slice(&bytes);
        body.push(b'\n');
    }
    Ok(with_type(body, "application/x-ndjson"))
}

/// `GET /v1/entries/{seq}/proof[?size=N|?witnessed=true]`: a C2SP tlog-proof against the
/// latest stored checkpoint, the stored checkpoint of size N, or the latest witnessed
/// checkpoint that includes the entry.
#[utoipa::path(
    get,
    path = "/v1/entries/{seq}/proof",
    tag = "log",
    summary = "A receipt: the inclusion proof of one entry",
    description = "A C2SP `tlog-proof` receipt of entry `seq`: its index, the inclusion \
        proof hashes and the signed checkpoint they lead to. Without `size` it is against \
        the latest checkpoint; with `size` against the stored checkpoint of that size; with \
        `witnessed=true` against the latest checkpoint that includes the entry and whose \
        cosignatures meet the log's witness policy (they follow the log's signature); with \
        both, against the checkpoint of that size if it is witnessed.",
    params(
        ("seq" = u64, Path, description = "The entry's index in the log."),
        ("size" = Option<u64>, Query,
            description = "Tree size of a stored checkpoint to prove against."),
        ("witnessed" = Option<bool>, Query,
            description = "true to prove against a witnessed checkpoint: the latest, or the \
                one of `size`."),
    ),
    responses(
        (status = 200, description = "A C2SP tlog-proof receipt.", body = String,
            content_type = "text/plain; charset=utf-8"),
        (status = 400, description = "`seq`, `size` or `witnessed` is malformed, or the query \
            has an unknown parameter.", body = Problem, content_type = PROBLEM_JSON),
        (status = 404, description = "No checkpoint of that size is stored (or, with \
            `witnessed=true`, none of that size is witnessed), the entry is not in that tree, \
            or `witnessed=true` on a log without a witness policy.",
            body = Problem, content_type = PROBLEM_JSON),
        (status = 503, response = problem::NotWitnessedYet),
    ),
)]
pub async fn get_inclusion_proof(
    State(state): State<AppState>,
    PathParams(seq, _): ApiPath<u64>,
    query: ApiQuery,
) -> Result<Response, ApiError> {
    query.only(&["size", "witnessed"])?;
    let witnessed = query.bool("witnessed")? == Some(true);
    let checkpoint = match query.u64("size")? {
        Some(size) if witnessed => {
            let policy = witness_policy(&state)?;
            witnessed_at(&state.store, policy, size)
                .await?
                .ok_or_else(|| {
                    ApiError::not_found(format!(
                        "no checkpoint of size {size} cosigned by the witness quorum is stored"
                    ))
                    .with_field("size")
                })?
                .into_stored()
        }
        Some(size) => state.store.checkpoint_at(size).await?.ok_or_else(|| {
            ApiError::not_found(format!("no signed checkpoint of size {size} is stored"))
                .with_field("size")
        })?,
        None if witnessed => {
            // An entry that does not exist is a 404, not a wait for witnesses.
            if seq >= state.store.latest_checkpoint().await?.size {
                return Err(
                    ApiError::not_found(format!("entry {seq} does not exist")).with_field("seq")
                );
            }
            witnessed_checkpoint(&state, seq + 1).await?
        }
        None => state.store.latest_checkpoint().await?,
    };
    if seq >= checkpoint.size {
        return Err(ApiError::not_found(format!(
            "entry {seq} is not in the tree of size {}",
            checkpoint.size
        ))
        .with_field("seq"));
    }
    let receipt = receipt(&state.store, seq, &checkpoint).await?;
    Ok(with_type(receipt.format(), "text/plain; charset=utf-8"))
}

/// An RFC 6962 consistency proof between two tree sizes.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ConsistencyProof {
    pub from: u64,
    pub to: u64,
    /// The proof's hashes, base64 (standard alphabet, padded).
    pub hashes: Vec<String>,
}

/// `GET /v1/proofs/consistency?from=A&to=B`: `to` must be a stored checkpoint size.
#[utoipa::path(
    get,
    path = "/v1/proofs/consistency",
    tag = "log",
    summary = "A consistency proof between two tree sizes",
    description = "Proves that the tree of size `to` extends the tree of size `from`: \
        every checkpoint a client holds can be checked against a later one.",
    params(
        ("from" = u64, Query, description = "The older tree size (at most `to`)."),
        ("to" = u64, Query, description = "The newer tree size: a size a stored checkpoint has."),
    ),
    responses(
        (status = 200, description = "The proof.", body = ConsistencyProof),
        (status = 400, description = "`from` or `to` is missing, malformed or out of range, \
            or the query has an unknown parameter.", body = Problem, content_type = PROBLEM_JSON),
        (status = 404, description = "No checkpoint of size `to` is stored.", body = Problem,
            content_type = PROBLEM_JSON),
        (status = 503, response = problem::Unavailable),
    ),
)]
pub async fn get_consistency_proof(
    State(state): State<AppState>,
    query: ApiQuery,
) -> Result<Json<ConsistencyProof>, ApiError> {
    query.only(&["from", "to"])?;
    let from = query
        .u64("from")?
        .ok_or_else(|| ApiError::bad_parameter("from", "from is required"))?;
    let to = query
        .u64("to")?
        .ok_or_else(|| ApiError::bad_parameter("to", "to is required"))?;
    if from > to {
        return Err(ApiError::bad_parameter(
            "from",
            format!("from ({from}) must not exceed to ({to})"),
        ));
    }
    let latest = state.store.latest_checkpoint().await?;
    if to > latest.size {
        return Err(ApiError::bad_parameter(
            "to",
            format!("to ({to}) exceeds the log size ({})", latest.size),
        ));
    }
    if state.store.checkpoint_at(to).await?.is_none() {
        return Err(
            ApiError::not_found(format!("no signed checkpoint of size {to} is stored"))
                .with_field("to"),
        );
    }
    let indexes =
        consistency_proof_indexes(from, to).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let hashes = state.store.tree_hashes(&indexes).await?;
    let proof =
        consistency_proof(from, to, &hashes).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    Ok(Json(ConsistencyProof {
        from,
        to,
        hashes: proof.iter().map(|h| h.to_base64()).collect(),
    }))
}
