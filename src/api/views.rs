//! Helpers the read endpoints share: pagination, an entry's fields with its corrections
//! applied, and receipts for several entries against one checkpoint.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value};

use super::error::ApiError;
use super::extract::ApiQuery;
use super::write::receipt;
use crate::log::entry::{self, COMMON_FIELDS};
use crate::store::{Store, StoreError, StoredCheckpoint};

/// Default and largest page of the list endpoints. A page of 100 reads 100 entries; 500
/// bounds one response's work while keeping a 100,000-row walk to 200 requests.
pub const DEFAULT_LIST_PAGE: u64 = 100;
pub const MAX_LIST_PAGE: u64 = 500;

/// `after` (a cursor from the previous page's `next`) and `limit`.
pub struct Page {
    pub after: Option<u64>,
    pub limit: u64,
}

impl Page {
    pub fn from_query(query: &ApiQuery, extra: &[&str]) -> Result<Page, ApiError> {
        let mut allowed = vec!["after", "limit"];
        allowed.extend_from_slice(extra);
        query.only(&allowed)?;
        let limit = query.u64("limit")?.unwrap_or(DEFAULT_LIST_PAGE);
        if !(1..=MAX_LIST_PAGE).contains(&limit) {
            return Err(ApiError::bad_parameter(
                "limit",
                format!("limit must be between 1 and {MAX_LIST_PAGE}"),
            ));
        }
        Ok(Page {
            after: query.u64("after")?,
            limit,
        })
    }

    /// The cursor for the next page: the last item's key if the page was full.
    pub fn next<T>(&self, items: &[T], key: impl Fn(&T) -> u64) -> Option<u64> {
        (items.len() as u64 == self.limit)
            .then(|| items.last().map(key))
            .flatten()
    }
}

/// An entry's own fields (common fields removed), with every correction applied in log
/// order, and the seqs of those corrections.
#[derive(Debug, Clone, Serialize)]
pub struct EffectiveFields {
    pub fields: Map<String, Value>,
    pub corrections: Vec<u64>,
    pub time: String,
}

pub async fn effective_fields(store: &Store, seq: u64) -> Result<EffectiveFields, ApiError> {
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
) -> Result<BTreeMap<u64, String>, ApiError> {
    let mut out = BTreeMap::new();
    for seq in seqs {
        if let std::collections::btree_map::Entry::Vacant(slot) = out.entry(seq) {
            slot.insert(receipt(store, seq, checkpoint).await?.format());
        }
    }
    Ok(out)
}
