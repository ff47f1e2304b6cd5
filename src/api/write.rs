//! The answer to every write: the entry, its seq and leaf hash, and a receipt (C2SP
//! tlog-proof) against the checkpoint of the batch that appended it. A replay rebuilds
//! the very same bytes from storage, since that checkpoint is stored forever.

use axum::Json;
use axum::http::StatusCode;
use serde::Serialize;
use serde_json::value::RawValue;

use super::error::ApiError;
use crate::log::hash::leaf_hash;
use crate::log::merkle::{inclusion_proof, inclusion_proof_indexes};
use crate::log::receipt::Receipt;
use crate::sequencer::AppendOutcome;
use crate::store::{Store, StoreError, StoredCheckpoint};

/// `{"seq","leaf_hash","entry","receipt"}` plus, once only, a new org's `api_token`.
#[derive(Serialize)]
pub struct WriteResponse {
    pub seq: u64,
    pub leaf_hash: String,
    pub entry: Box<RawValue>,
    pub receipt: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_token: Option<String>,
}

/// Builds the receipt of entry `seq` against a stored checkpoint that includes it.
pub async fn receipt(
    store: &Store,
    seq: u64,
    checkpoint: &StoredCheckpoint,
) -> Result<Receipt, StoreError> {
    let indexes = inclusion_proof_indexes(checkpoint.size, seq)
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let hashes = store.tree_hashes(&indexes).await?;
    let proof = inclusion_proof(checkpoint.size, seq, &hashes)
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    Ok(Receipt {
        index: seq,
        proof,
        checkpoint_note: checkpoint.note.clone(),
    })
}

/// 201 with the new entry, or 200 with the original answer for a replay.
pub async fn respond(
    store: &Store,
    outcome: &AppendOutcome,
) -> Result<(StatusCode, Json<WriteResponse>), ApiError> {
    let (status, seq, checkpoint) = match outcome {
        AppendOutcome::Appended {
            seq, checkpoint, ..
        } => (StatusCode::CREATED, *seq, (**checkpoint).clone()),
        AppendOutcome::Replayed { seq } => {
            let checkpoint = store
                .checkpoint_covering(*seq)
                .await?
                .ok_or_else(|| StoreError::Corrupt(format!("no checkpoint covers entry {seq}")))?;
            (StatusCode::OK, *seq, checkpoint)
        }
    };
    let bytes = store
        .entry(seq)
        .await?
        .ok_or_else(|| StoreError::Corrupt(format!("entry {seq} is missing")))?;
    let text = String::from_utf8(bytes)
        .map_err(|_| StoreError::Corrupt(format!("entry {seq} is not UTF-8")))?;
    let leaf = leaf_hash(text.as_bytes());
    let receipt = receipt(store, seq, &checkpoint).await?;
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
