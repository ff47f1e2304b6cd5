//! Public, read-only log endpoints (DESIGN.md "Public surface"): the log's identity, the
//! latest checkpoint, entries by seq, inclusion proofs (receipts) and consistency proofs.
//! Everything served comes from the database, never from one process's memory.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::AppState;
use super::error::ApiError;
use super::extract::{ApiQuery, parse_u64};
use super::write::receipt;
use crate::log::merkle::{consistency_proof, consistency_proof_indexes};
use crate::store::StoreError;

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

#[derive(Serialize)]
pub struct LogInfo {
    pub origin: String,
    pub verifier_key: String,
    pub size: u64,
}

/// `GET /v1/log`
pub async fn get_log(State(state): State<AppState>) -> Result<Json<LogInfo>, ApiError> {
    let checkpoint = state.store.latest_checkpoint().await?;
    Ok(Json(LogInfo {
        origin: state.log.origin.clone(),
        verifier_key: state.log.verifier_key.clone(),
        size: checkpoint.size,
    }))
}

/// `GET /v1/checkpoint`: the latest signed checkpoint, verbatim.
pub async fn get_checkpoint(State(state): State<AppState>) -> Result<Response, ApiError> {
    let checkpoint = state.store.latest_checkpoint().await?;
    Ok(with_type(checkpoint.note, "text/plain; charset=utf-8"))
}

/// `GET /v1/entries/{seq}`: the exact canonical bytes.
pub async fn get_entry(
    State(state): State<AppState>,
    Path(seq): Path<String>,
) -> Result<Response, ApiError> {
    let seq = parse_u64("seq", &seq)?;
    let bytes = state
        .store
        .entry(seq)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("entry {seq} does not exist")))?;
    Ok(with_type(bytes, "application/json"))
}

/// `GET /v1/entries?from=&limit=`: NDJSON, one entry's exact bytes per line.
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

/// `GET /v1/entries/{seq}/proof[?size=N]`: a C2SP tlog-proof against the latest stored
/// checkpoint, or against the stored checkpoint of size N.
pub async fn get_inclusion_proof(
    State(state): State<AppState>,
    Path(seq): Path<String>,
    query: ApiQuery,
) -> Result<Response, ApiError> {
    query.only(&["size"])?;
    let seq = parse_u64("seq", &seq)?;
    let checkpoint = match query.u64("size")? {
        Some(size) => state.store.checkpoint_at(size).await?.ok_or_else(|| {
            ApiError::not_found(format!("no signed checkpoint of size {size} is stored"))
                .with_field("size")
        })?,
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

#[derive(Serialize)]
pub struct ConsistencyProof {
    pub from: u64,
    pub to: u64,
    pub hashes: Vec<String>,
}

/// `GET /v1/proofs/consistency?from=A&to=B`: `to` must be a stored checkpoint size.
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
