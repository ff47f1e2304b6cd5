//! Recent ids: where the ids of donations appended in small batches wait, in log order,
//! before they join the id index `record_ids`.
//!
//! `record_ids` is keyed by (org, scope, id), and clients choose ids all over that key
//! space, so under single-donation load each donation's id landed on a page of its own in
//! every commit: read back from SQLite's WAL, 40 of a commit's 61 pages (at ~29 donations
//! per commit) were leaves of that index, and each page is written to the WAL and synced.
//! `recent_ids` is keyed by seq, so a commit appends its ids to the table's last page or
//! two. Once [`MAX_RECENT_IDS`] ids wait, the batch's own script moves them all into
//! `record_ids` and empties the table: the same commit, so an id is always in exactly
//! one of the two tables. A move writes each index page its ids land on once, where
//! single commits wrote such a page again and again (ids that follow each other in one
//! client's sequence land on the same pages).
//!
//! Only where this process is the log's one writer (SQLite): the sequencer keeps the
//! table's contents in memory ([`RecentIds`]) for its idempotency lookups and reads them
//! again after any batch whose outcome it does not know. Where several processes append
//! (PostgreSQL), each would need the others' waiting ids, so there every id goes
//! straight to `record_ids` and this table stays empty.
//!
//! Only donation ids wait ([`waits`]): donations are the volume, and no rule looks a
//! donation up by its id. Every read that can ask for a donation's id reads both tables:
//! [`Store::donation`](super::Store::donation), [`Store::org_entries`](super::Store::org_entries)
//! and [`Store::record_seq`](super::Store::record_seq).

use std::collections::HashMap;

use sqlx::Row;

use super::append::{AppendTx, on_tx};
use super::{StoreError, StoreResult, to_u64};
use crate::ledger::records::{RecordKey, Scope};

/// Most ids waiting in `recent_ids`: a batch that would reach this many moves them all
/// into `record_ids`. A read of a donation by an id not in `record_ids` scans the table
/// (1,024 rows of ~50 bytes, ~13 pages); the move writes each `record_ids` page its ids
/// land on once instead of once per commit (64 single-donation clients, each with its
/// own id sequence: ~29 ids per commit, ~35 commits per move). The sequencer keeps them
/// in memory too (~100 bytes each).
pub const MAX_RECENT_IDS: usize = 1024;

/// Whether an id of this kind waits in `recent_ids` (where ids wait at all): donations'.
pub fn waits(key: &RecordKey) -> bool {
    key.scope == Scope::Donation
}

/// A waiting donation id's seq, by org (`$1`), scope (`$2`) and id (`$3`), from either
/// table; the scan of `recent_ids` runs only if `record_ids` has no such id (a scalar
/// subquery stops at its first row).
pub(super) const SEQ_BY_ID: &str = "(SELECT seq FROM record_ids WHERE org = $1 AND scope = $2 AND id = $3 \
     UNION ALL SELECT seq FROM recent_ids WHERE org = $1 AND scope = $2 AND id = $3)";

/// The statements that move every waiting id into `record_ids` and empty `recent_ids`.
/// The ids go in log order: each index page they land on is written once either way
/// (one transaction), and sorting them first (`ORDER BY org, scope, id`) only made the
/// move slower (docs/decisions.md, "Tuning").
pub(super) const MOVE_TO_RECORD_IDS: &str = "INSERT INTO record_ids (org, scope, id, seq) \
     SELECT org, scope, id, seq FROM recent_ids;\n\
     DELETE FROM recent_ids";

/// The contents of `recent_ids`, as the sequencer (their one writer) knows them.
#[derive(Debug, Default)]
pub struct RecentIds {
    seqs: HashMap<RecordKey, u64>,
}

impl RecentIds {
    /// The seq of a waiting id.
    pub fn get(&self, key: &RecordKey) -> Option<u64> {
        self.seqs.get(key).copied()
    }

    pub fn len(&self) -> usize {
        self.seqs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.seqs.is_empty()
    }

    /// Whether a batch adding `adding` waiting ids moves them all to `record_ids`.
    pub fn move_due(&self, adding: usize) -> bool {
        self.len() + adding >= MAX_RECENT_IDS
    }

    /// Follows a committed batch: it `added` these ids, and then `moved` every waiting id
    /// into `record_ids` (or not).
    pub fn committed(&mut self, added: &[(RecordKey, u64)], moved: bool) {
        if moved {
            self.seqs.clear();
        } else {
            self.seqs
                .extend(added.iter().map(|(key, seq)| (key.clone(), *seq)));
        }
    }
}

impl AppendTx {
    /// Reads `recent_ids` whole, for the sequencer.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] if it holds far more rows than [`MAX_RECENT_IDS`], or an id
    /// of another kind than donations (something else wrote the table).
    pub async fn recent_ids(&mut self) -> StoreResult<RecentIds> {
        let limit = (MAX_RECENT_IDS + MAX_RECENT_IDS_SLACK) as i64;
        let rows: Vec<(String, String, String, i64)> = on_tx!(self, conn => sqlx::query(
            "SELECT org, scope, id, seq FROM recent_ids ORDER BY seq LIMIT $1"
        ).bind(limit).fetch_all(conn).await?.into_iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?)))
            .collect::<Result<_, sqlx::Error>>()?);
        if rows.len() as i64 == limit {
            return Err(StoreError::Corrupt(format!(
                "recent_ids holds {limit} rows or more; at most {MAX_RECENT_IDS} wait there"
            )));
        }
        let mut seqs = HashMap::with_capacity(rows.len());
        for (org, scope, id, seq) in rows {
            if scope != Scope::Donation.as_str() {
                return Err(StoreError::Corrupt(format!(
                    "recent_ids holds an id of scope {scope:?}; only donations' wait there"
                )));
            }
            let key = RecordKey {
                org,
                scope: Scope::Donation,
                id,
            };
            seqs.insert(key, to_u64(seq, "recent id seq")?);
        }
        Ok(RecentIds { seqs })
    }
}

/// Rows beyond [`MAX_RECENT_IDS`] that reading `recent_ids` still accepts. After every
/// commit fewer than [`MAX_RECENT_IDS`] wait (a batch that reaches it moves them in the
/// same script); a few times more, from a build with a larger limit, only make the next
/// batch move them. The bound keeps a table filled by something else out of memory.
const MAX_RECENT_IDS_SLACK: usize = 4 * MAX_RECENT_IDS;

#[cfg(test)]
mod tests {
    use super::*;

    fn key(id: &str) -> RecordKey {
        RecordKey {
            org: "o".into(),
            scope: Scope::Donation,
            id: id.into(),
        }
    }

    #[test]
    fn only_donation_ids_wait() {
        assert!(waits(&key("d")));
        let org = RecordKey {
            org: "o".into(),
            scope: Scope::Org,
            id: "o".into(),
        };
        assert!(!waits(&org));
    }

    #[test]
    fn committed_batches_add_ids_until_a_move_empties_them() {
        let mut recent = RecentIds::default();
        recent.committed(&[(key("a"), 1), (key("b"), 2)], false);
        assert_eq!(recent.get(&key("a")), Some(1));
        assert_eq!(recent.get(&key("b")), Some(2));
        assert!(!recent.move_due(MAX_RECENT_IDS - 3));
        assert!(recent.move_due(MAX_RECENT_IDS - 2));
        recent.committed(&[(key("c"), 3)], true);
        assert!(recent.is_empty());
        assert_eq!(recent.get(&key("c")), None);
    }
}
