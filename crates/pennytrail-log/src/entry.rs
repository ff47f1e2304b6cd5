//! Log entries: the common fields every entry carries, sealing a new entry into its
//! canonical bytes, reading stored bytes back, and the hash-chain rule between entries.
//!
//! Common fields: `v` (1), `seq` (its Merkle index), `prev` (hex leaf hash of entry
//! `seq-1`, zeros for entry 0), `time` (never decreasing), `kind`, and `org` where the
//! entry belongs to one. What the other fields of each kind mean is the ledger's business.

use serde_json::{Map, Value};

use super::canonical::{self, CanonicalError};
use super::hash::{Hash, leaf_hash};
use super::time::UnixMillis;

/// The entry format version this code writes and reads.
pub const ENTRY_VERSION: i64 = 1;

/// Field names the log itself sets; a kind's body may not use them.
pub const COMMON_FIELDS: [&str; 6] = ["v", "seq", "prev", "time", "kind", "org"];

/// Longest id: 1 leading character plus 63 more (DESIGN.md's id pattern).
pub const MAX_ID_LEN: usize = 64;

/// Longest kind name; kinds are short dotted words like `donation.received`.
const MAX_KIND_LEN: usize = 64;

/// An id (`org`, `campaign`, `beneficiary`, `donation`, …): `[A-Za-z0-9][A-Za-z0-9._:-]{0,63}`.
/// The first character can never start a spreadsheet formula.
pub fn is_valid_id(id: &str) -> bool {
    let bytes = id.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= MAX_ID_LEN
        && bytes[0].is_ascii_alphanumeric()
        && bytes[1..]
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(b))
}

fn is_valid_kind(kind: &str) -> bool {
    !kind.is_empty()
        && kind.len() <= MAX_KIND_LEN
        && kind
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b == b'.' || b == b'_')
}

/// What is wrong with an entry's bytes or common fields.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum EntryError {
    #[error(transparent)]
    Canonical(#[from] CanonicalError),
    #[error("field {field:?} is missing")]
    MissingField { field: &'static str },
    #[error("field {field:?} has the wrong type or format")]
    BadField { field: &'static str },
    #[error("field {field:?} is reserved for the log")]
    ReservedField { field: String },
    #[error("entry version {0} is not supported (expected {ENTRY_VERSION})")]
    BadVersion(i64),
}

/// What the sequencer decides for a new entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryHeader {
    pub seq: u64,
    pub prev: Hash,
    pub time: UnixMillis,
}

/// Seals a kind's body into canonical entry bytes with the common fields added.
pub fn seal(
    header: &EntryHeader,
    kind: &str,
    org: Option<&str>,
    body: &Map<String, Value>,
) -> Result<Vec<u8>, EntryError> {
    if let Some(field) = body.keys().find(|k| COMMON_FIELDS.contains(&k.as_str())) {
        return Err(EntryError::ReservedField {
            field: field.clone(),
        });
    }
    if !is_valid_kind(kind) {
        return Err(EntryError::BadField { field: "kind" });
    }
    let common = [
        Value::from(ENTRY_VERSION),
        Value::from(header.seq),
        Value::from(header.prev.to_hex()),
        Value::from(header.time.format()),
        Value::from(kind),
    ];
    let org = match org {
        Some(org) if !is_valid_id(org) => return Err(EntryError::BadField { field: "org" }),
        Some(org) => Some(Value::from(org)),
        None => None,
    };
    // The body's fields and the common ones, encoded together without copying the body.
    let mut fields: Vec<(&str, &Value)> = body.iter().map(|(k, v)| (k.as_str(), v)).collect();
    fields.extend(
        ["v", "seq", "prev", "time", "kind"]
            .into_iter()
            .zip(&common),
    );
    fields.extend(org.as_ref().map(|org| ("org", org)));
    let bytes = canonical::encode_fields(&mut fields)?;
    // Both sides of the boundary: what we write must read back as the same entry.
    debug_assert!(parse(&bytes).is_ok_and(|e| e.seq == header.seq && e.prev == header.prev));
    Ok(bytes)
}

/// An entry read back from its bytes, with its common fields checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub seq: u64,
    pub prev: Hash,
    pub time: UnixMillis,
    pub kind: String,
    pub org: Option<String>,
    /// Every field, the common ones included.
    pub fields: Map<String, Value>,
}

impl Entry {
    pub fn str_field(&self, name: &str) -> Option<&str> {
        self.fields.get(name).and_then(Value::as_str)
    }

    pub fn int_field(&self, name: &str) -> Option<i64> {
        self.fields.get(name).and_then(Value::as_i64)
    }
}

/// Parses stored bytes: canonical form, then the common fields.
pub fn parse(bytes: &[u8]) -> Result<Entry, EntryError> {
    let fields = canonical::parse_canonical(bytes)?;
    let get = |field: &'static str| fields.get(field).ok_or(EntryError::MissingField { field });
    let version = get("v")?
        .as_i64()
        .ok_or(EntryError::BadField { field: "v" })?;
    if version != ENTRY_VERSION {
        return Err(EntryError::BadVersion(version));
    }
    let seq = get("seq")?
        .as_u64()
        .ok_or(EntryError::BadField { field: "seq" })?;
    let prev = get("prev")?
        .as_str()
        .and_then(|s| Hash::from_hex(s).ok())
        .ok_or(EntryError::BadField { field: "prev" })?;
    let time = get("time")?
        .as_str()
        .and_then(|s| UnixMillis::parse(s).ok())
        .ok_or(EntryError::BadField { field: "time" })?;
    let kind = get("kind")?
        .as_str()
        .filter(|k| is_valid_kind(k))
        .ok_or(EntryError::BadField { field: "kind" })?
        .to_string();
    let org = match fields.get("org") {
        None => None,
        Some(v) => Some(
            v.as_str()
                .filter(|o| is_valid_id(o))
                .ok_or(EntryError::BadField { field: "org" })?
                .to_string(),
        ),
    };
    Ok(Entry {
        seq,
        prev,
        time,
        kind,
        org,
        fields,
    })
}

/// Where the chain stands after some prefix of the log: what the next entry must link to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainHead {
    /// Number of entries so far (the next entry's `seq`).
    pub size: u64,
    /// Leaf hash of the last entry (zeros for an empty log).
    pub leaf_hash: Hash,
    /// Time of the last entry (the epoch for an empty log).
    pub time: UnixMillis,
}

/// How the next entry breaks the chain.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ChainError {
    #[error("entry has seq {found}, expected {expected}")]
    WrongSeq { expected: u64, found: u64 },
    #[error("entry {seq}: prev {found} is not the leaf hash of entry {} ({expected})", seq.saturating_sub(1))]
    ChainBroken {
        seq: u64,
        expected: Hash,
        found: Hash,
    },
    #[error("entry {seq}: time {found} is earlier than the previous entry's {previous}")]
    TimeWentBackwards {
        seq: u64,
        previous: String,
        found: String,
    },
}

impl ChainHead {
    pub const GENESIS: ChainHead = ChainHead {
        size: 0,
        leaf_hash: Hash::ZERO,
        time: UnixMillis(0),
    };

    /// The header the next entry gets, with `time` = max(clock, previous time).
    pub fn next_header(&self, clock: UnixMillis) -> EntryHeader {
        EntryHeader {
            seq: self.size,
            prev: self.leaf_hash,
            time: clock.max(self.time),
        }
    }

    /// Checks that `entry` (with the given bytes) extends this head, and advances it.
    pub fn advance(&mut self, entry: &Entry, bytes: &[u8]) -> Result<Hash, ChainError> {
        self.advance_with_leaf(entry, leaf_hash(bytes))
    }

    /// [`ChainHead::advance`] with the entry's leaf hash already computed (by a reader
    /// thread that parses and hashes ahead).
    pub fn advance_with_leaf(&mut self, entry: &Entry, leaf: Hash) -> Result<Hash, ChainError> {
        if entry.seq != self.size {
            return Err(ChainError::WrongSeq {
                expected: self.size,
                found: entry.seq,
            });
        }
        if entry.prev != self.leaf_hash {
            return Err(ChainError::ChainBroken {
                seq: entry.seq,
                expected: self.leaf_hash,
                found: entry.prev,
            });
        }
        if entry.time < self.time {
            return Err(ChainError::TimeWentBackwards {
                seq: entry.seq,
                previous: self.time.format(),
                found: entry.time.format(),
            });
        }
        *self = ChainHead {
            size: self.size + 1,
            leaf_hash: leaf,
            time: entry.time,
        };
        Ok(leaf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn seal_then_parse_then_chain() {
        let mut head = ChainHead::GENESIS;
        let mut bytes_seen = Vec::new();
        for i in 0..3 {
            let header = head.next_header(UnixMillis(1_700_000_000_000 - i));
            let bytes = seal(
                &header,
                "org.registered",
                Some("org-1"),
                &body(json!({"name": "A"})),
            )
            .unwrap();
            let entry = parse(&bytes).unwrap();
            assert_eq!(entry.kind, "org.registered");
            head.advance(&entry, &bytes).unwrap();
            bytes_seen.push(bytes);
        }
        assert_eq!(head.size, 3);
        // Time never decreased although the clock did.
        assert_eq!(head.time, UnixMillis(1_700_000_000_000));
        let first = String::from_utf8(bytes_seen[0].clone()).unwrap();
        assert_eq!(
            first,
            format!(
                "{{\"kind\":\"org.registered\",\"name\":\"A\",\"org\":\"org-1\",\"prev\":\"{}\",\"seq\":0,\"time\":\"2023-11-14T22:13:20.000Z\",\"v\":1}}",
                "0".repeat(64)
            )
        );
    }

    #[test]
    fn chain_rules() {
        let header = ChainHead::GENESIS.next_header(UnixMillis(5));
        let bytes = seal(&header, "x.y", None, &Map::new()).unwrap();
        let entry = parse(&bytes).unwrap();
        let mut wrong_prev = ChainHead {
            leaf_hash: leaf_hash(b"other"),
            ..ChainHead::GENESIS
        };
        assert!(matches!(
            wrong_prev.advance(&entry, &bytes),
            Err(ChainError::ChainBroken { .. })
        ));
        let mut later = ChainHead {
            time: UnixMillis(6),
            ..ChainHead::GENESIS
        };
        assert!(matches!(
            later.advance(&entry, &bytes),
            Err(ChainError::TimeWentBackwards { .. })
        ));
    }

    #[test]
    fn reserved_fields_and_ids() {
        let header = ChainHead::GENESIS.next_header(UnixMillis(0));
        assert!(matches!(
            seal(&header, "x", None, &body(json!({"seq": 3}))),
            Err(EntryError::ReservedField { .. })
        ));
        assert!(is_valid_id("a"));
        assert!(is_valid_id(&"a".repeat(64)));
        assert!(!is_valid_id(&"a".repeat(65)));
        for bad in ["", "-a", "=SUM(A1)", "+1", "@x", "a b", "a/b", "é"] {
            assert!(!is_valid_id(bad), "{bad}");
        }
    }
}
