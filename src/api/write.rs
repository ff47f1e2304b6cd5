//! The answer to every write: the entry, its seq and leaf hash, and a receipt (C2SP
//! tlog-proof) against the checkpoint of the batch that appended it. A replay rebuilds
//! the very same bytes from storage, since that checkpoint is stored forever.

use axum::Json;
use axum::http::StatusCode;
use serde::Serialize;
use serde_json::value::RawValue;

use super::error::ApiError;
use crate::app::AppState;
use crate::ledger::records::Record;
use crate::log::hash::leaf_hash;
use crate::log::receipt::Receipt;
use crate::read::entries::receipt;
use crate::sequencer::AppendOutcome;
use crate::sequencer::AppendRequest;
use crate::store::{Store, StoreError, StoredCheckpoint};

/// `{"seq","leaf_hash","entry","receipt"}` plus, once only, a new org's `api_token`.
#[derive(Serialize, utoipa::ToSchema)]
pub struct WriteResponse {
    /// The entry's index in the log.
    pub seq: u64,
    /// The entry's RFC 6962 leaf hash, lowercase hex.
    pub leaf_hash: String,
    /// The entry as logged, byte for byte its canonical JSON.
    #[schema(value_type = super::openapi::CanonicalEntry)]
    pub entry: Box<RawValue>,
    /// A C2SP `tlog-proof` receipt: the inclusion proof of the entry in the signed
    /// checkpoint of the batch that appended it. A replay carries the same receipt.
    pub receipt: String,
    /// The new org's API token: only in the 201 answer to an org registration, never again.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub api_token: Option<String>,
}

/// 201 with the new entry, or 200 with the original answer for a replay. A new entry's
/// answer comes from the sequencer without a read; a replay is rebuilt from storage.
pub async fn respond(
    store: &Store,
    outcome: &AppendOutcome,
) -> Result<(StatusCode, Json<WriteResponse>), ApiError> {
    // A new entry's leaf hash comes from the sequencer; a replay's is computed again.
    let (status, seq, bytes, receipt, leaf) = match outcome {
        AppendOutcome::Appended {
            seq,
            leaf_hash,
            batch,
        } => {
            let bytes = batch
                .entry(*seq)
                .ok_or_else(|| StoreError::Corrupt(format!("entry {seq} is not in its batch")))?;
            let receipt = match batch.proof(*seq) {
                Some(proof) => Receipt {
                    index: *seq,
                    proof,
                    checkpoint_note: batch.checkpoint.note.clone(),
                },
                None => receipt(store, *seq, &batch.checkpoint).await?,
            };
            let bytes = bytes.to_vec();
            (StatusCode::CREATED, *seq, bytes, receipt, *leaf_hash)
        }
        AppendOutcome::Replayed { seq } => {
            let checkpoint = store
                .checkpoint_covering(*seq)
                .await?
                .ok_or_else(|| StoreError::Corrupt(format!("no checkpoint covers entry {seq}")))?;
            let bytes = store
                .entry(*seq)
                .await?
                .ok_or_else(|| StoreError::Corrupt(format!("entry {seq} is missing")))?;
            let receipt = receipt(store, *seq, &checkpoint).await?;
            let leaf = leaf_hash(&bytes);
            (StatusCode::OK, *seq, bytes, receipt, leaf)
        }
    };
    let text = String::from_utf8(bytes)
        .map_err(|_| StoreError::Corrupt(format!("entry {seq} is not UTF-8")))?;
    let entry = RawValue::from_string(text)
        .map_err(|e| StoreError::Corrupt(format!("entry {seq}: {e}")))?;
    Ok((
        status,
        Json(WriteResponse {
            seq,
            leaf_hash: leaf.to_hex(),
            entry,
            receipt: receipt.format(),
            api_token: None,
        }),
    ))
}

/// Appends one record of `org` and answers 201 (or 200 for a replay).
pub async fn append_one(
    state: &AppState,
    org: &str,
    record: Record,
) -> Result<(StatusCode, Json<WriteResponse>), ApiError> {
    let request = AppendRequest {
        org: org.to_string(),
        record,
        side_effect: None,
    };
    let outcomes = state
        .sequencer
        .append(vec![request])
        .await
        .map_err(|e| ApiError::from_append(e, None))?;
    respond(&state.store, &outcomes[0]).await
}

/// Most records in one batch request. 1,000 donations of ~350 bytes make a ~350 KB
/// request and a quarter of one sequencer batch ([`crate::sequencer::MAX_BATCH_ENTRIES`]).
pub const MAX_BATCH_ITEMS: usize = 1000;

/// Largest batch request body: 1,000 items of up to 2 KiB of JSON each.
pub const MAX_BATCH_BODY_BYTES: usize = 2 * 1024 * 1024;

/// One item of a batch answer.
#[derive(Serialize, utoipa::ToSchema)]
pub struct BatchItem {
    /// The item's position in the request's list.
    pub index: usize,
    pub seq: u64,
    pub leaf_hash: String,
    /// `created`, or `replayed` for an item already logged with identical content.
    #[schema(value_type = String, pattern = "^(created|replayed)$")]
    pub status: &'static str,
}

/// `{"items":[{"index","seq","leaf_hash","status"}],"checkpoint"}`: the checkpoint
/// covers every item, so each can be proven with `GET /v1/entries/{seq}/proof?size=N`.
#[derive(Serialize, utoipa::ToSchema)]
pub struct BatchResponse {
    /// One item per request item, in request order.
    pub items: Vec<BatchItem>,
    /// A signed checkpoint (C2SP signed note) that includes every item.
    pub checkpoint: String,
}

/// Appends `records` of `org` atomically, with contiguous seqs for the new ones.
pub async fn append_batch(
    state: &AppState,
    org: &str,
    records: Vec<Record>,
    list: &str,
) -> Result<(StatusCode, Json<BatchResponse>), ApiError> {
    let requests = records
        .into_iter()
        .map(|record| AppendRequest {
            org: org.to_string(),
            record,
            side_effect: None,
        })
        .collect();
    let outcomes = state
        .sequencer
        .append(requests)
        .await
        .map_err(|e| ApiError::from_append(e, Some(list)))?;
    let mut items = Vec::with_capacity(outcomes.len());
    let mut checkpoint: Option<StoredCheckpoint> = None;
    let mut max_seq = 0;
    for (index, outcome) in outcomes.iter().enumerate() {
        let (seq, leaf, status) = match outcome {
            AppendOutcome::Appended {
                seq,
                leaf_hash,
                batch,
            } => {
                checkpoint = Some((*batch.checkpoint).clone());
                (*seq, *leaf_hash, "created")
            }
            AppendOutcome::Replayed { seq } => {
                let bytes = state
                    .store
                    .entry(*seq)
                    .await?
                    .ok_or_else(|| StoreError::Corrupt(format!("entry {seq} is missing")))?;
                (*seq, leaf_hash(&bytes), "replayed")
            }
        };
        max_seq = max_seq.max(seq);
        items.push(BatchItem {
            index,
            seq,
            leaf_hash: leaf.to_hex(),
            status,
        });
    }
    let created = checkpoint.is_some();
    let checkpoint = match checkpoint {
        Some(cp) => cp,
        None => state
            .store
            .checkpoint_covering(max_seq)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("no checkpoint covers entry {max_seq}")))?,
    };
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(BatchResponse {
            items,
            checkpoint: checkpoint.note,
        }),
    ))
}

/// Parses every item of a batch, naming the first bad one as `list[i].field`.
pub fn parse_batch<I, T>(
    list: &str,
    inputs: Vec<I>,
    parse: impl Fn(I) -> Result<T, crate::ledger::FieldError>,
) -> Result<Vec<T>, ApiError> {
    if inputs.is_empty() {
        return Err(ApiError::invalid_field(crate::ledger::FieldError::new(
            list,
            "send at least one item",
        )));
    }
    if inputs.len() > MAX_BATCH_ITEMS {
        return Err(ApiError::invalid_field(crate::ledger::FieldError::new(
            list,
            format!(
                "at most {MAX_BATCH_ITEMS} items per batch (got {})",
                inputs.len()
            ),
        )));
    }
    inputs
        .into_iter()
        .enumerate()
        .map(|(i, input)| {
            parse(input).map_err(|mut e| {
                e.field = format!("{list}[{i}].{}", e.field);
                ApiError::invalid_field(e)
            })
        })
        .collect()
}
