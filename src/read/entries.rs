//! What every view reads of an entry: its fields with corrections applied, and receipts
//! (C2SP tlog-proof) of entries against one stored checkpoint.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::log::entry::{self, COMMON_FIELDS};
use crate::log::receipt::Receipt;
use crate::store::{Store, StoreError, StoredCheckpoint};

/// An entry's own fields (common fields removed), with every correction applied in log
/// order, and the seqs of those corrections.
#[derive(Debug, Clone, Serialize)]
pub struct EffectiveFields {
    pub fields: Map<String, Value>,
    pub corrections: Vec<u64>,
    pub time: String,
}

pub async fn effective_fields(store: &Store, seq: u64) -> Result<EffectiveFields, StoreError> {
    let read = |seq: u64| async move {
        let bytes = store
            .entry(seq)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("entry {seq} is missing")))?;
        entry::parse(&bytes).map_err(|e| StoreError::Corrupt(format!("entry {seq}: {e}")))
    };
    let original = read(seq).await?;
    let mut fields: Map<String, Value> = original
        .fields
        .iter()
        .filter(|(k, _)| !COMMON_FIELDS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let corrections = store.corrections_of(seq).await?;
    for &c in &corrections {
        let correction = read(c).await?;
        for (k, v) in &correction.fields {
            if !COMMON_FIELDS.contains(&k.as_str()) && k != "correction" && k != "corrects" {
                fields.insert(k.clone(), v.clone());
            }
        }
    }
    Ok(EffectiveFields {
        fields,
        corrections,
        time: original.time.format(),
    })
}

pub fn text(fields: &Map<String, Value>, name: &str) -> Option<String> {
    fields.get(name).and_then(Value::as_str).map(str::to_string)
}

/// Receipts (C2SP tlog-proof) for `seqs`, all against the same stored checkpoint.
pub async fn receipts(
    store: &Store,
    seqs: impl IntoIterator<Item = u64>,
    checkpoint: &StoredCheckpoint,
) -> Result<BTreeMap<u64, String>, StoreError> {
    let mut out = BTreeMap::new();
    for seq in seqs {
        if let std::collections::btree_map::Entry::Vacant(slot) = out.entry(seq) {
            slot.insert(receipt(store, seq, checkpoint).await?.format());
        }
    }
    Ok(out)
}

/// Builds the receipt of entry `seq` against a stored checkpoint that includes it.
pub async fn receipt(
    store: &Store,
    seq: u64,
    checkpoint: &StoredCheckpoint,
) -> Result<Receipt, StoreError> {
    let proof = store.inclusion_proof(seq, checkpoint).await?;
    Ok(Receipt {
        index: seq,
        proof,
        checkpoint_note: checkpoint.note.clone(),
    })
}
