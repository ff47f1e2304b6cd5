//! The commit stage: a sealed batch — entries, tree hashes, keys, ledger rows and state,
//! and its signed checkpoint — is written in one transaction, only if the stored head is
//! the one it was sequenced on. What committed is kept in memory to answer its writes
//! (entries and inclusion proofs) without reading them back.

use std::sync::Arc;

use super::SideEffect;
use super::writes::BatchWrites;
use crate::ledger::records::RecordKey;
use crate::ledger::rules::StateKey;
use crate::ledger::state::StateValue;
use crate::log::entry::ChainHead;
use crate::log::hash::Hash;
use crate::log::merkle::{inclusion_proof, inclusion_proof_indexes};
use crate::log::time::UnixMillis;
use crate::store::{AppendTx, BatchRows, StoreError, StoredCheckpoint};

/// A sequenced and signed batch: everything its commit writes.
pub(super) struct Sealed {
    /// The head it was sequenced on (the stored head when it commits), and its own.
    pub(super) old_head: ChainHead,
    pub(super) new_head: ChainHead,
    pub(super) writes: BatchWrites,
    /// Its ids that wait in `recent_ids` (the others are in `writes.records`), and
    /// whether it then moves every waiting id to `record_ids`.
    pub(super) recent_ids: Vec<(RecordKey, u64)>,
    pub(super) move_recent_ids: bool,
    /// Ledger state it changed.
    pub(super) state: Vec<(StateKey, StateValue)>,
    pub(super) clock: UnixMillis,
    pub(super) checkpoint: Arc<StoredCheckpoint>,
    /// See [`CommittedBatch`].
    pub(super) hashes: BatchHashes,
    pub(super) started: std::time::Instant,
    pub(super) sequenced: std::time::Duration,
}

impl Sealed {
    /// Writes the batch through `tx` (from [`Store::begin_batch`]) and commits.
    pub(super) async fn commit(self, tx: AppendTx) -> Result<Arc<CommittedBatch>, BatchFailure> {
        let writes = self.writes;
        let org_tokens: Vec<(String, Hash)> = writes
            .side_effects
            .iter()
            .map(|effect| match effect {
                SideEffect::IssueOrgToken { org, token_hash } => (org.clone(), *token_hash),
            })
            .collect();
        let rows = BatchRows {
            old_head: &self.old_head,
            new_head: &self.new_head,
            entries: &writes.entries,
            first_tree_index: self.hashes.first,
            tree_hashes: &self.hashes.created,
            records: &writes.records,
            recent_ids: &self.recent_ids,
            move_recent_ids: self.move_recent_ids,
            state: &self.state,
            donations: &writes.donations,
            disbursements: &writes.disbursements,
            corrections: &writes.corrections,
            acks: &writes.acks,
            org_tokens: &org_tokens,
            clock: self.clock,
            checkpoint: &self.checkpoint,
        };
        if tx.commit_batch(&rows).await?.is_err() {
            return Err(BatchFailure::HeadMoved);
        }
        tracing::debug!(
            size = self.checkpoint.size,
            entries = writes.entries.len(),
            sequenced_us = self.sequenced.as_micros() as u64,
            committed_us = self.started.elapsed().as_micros() as u64,
            "batch committed"
        );
        Ok(Arc::new(CommittedBatch {
            checkpoint: self.checkpoint,
            hashes: self.hashes,
            entries: writes.entries,
        }))
    }
}

/// Every stored hash an inclusion proof of an entry of a batch in the batch's checkpoint
/// can need: the tree's right edge before the batch and the hashes the batch created.
/// (A map of both cost a SipHash per proof step and kept the created hashes twice.)
#[derive(Debug)]
pub(super) struct BatchHashes {
    /// The stored hashes of the tree's right edge before the batch, by stored index (at
    /// most 64).
    pub(super) edge: Vec<(u64, Hash)>,
    /// The stored hashes the batch created, consecutive from stored index `first`.
    pub(super) first: u64,
    pub(super) created: Vec<Hash>,
}

impl BatchHashes {
    pub(super) fn get(&self, index: u64) -> Option<Hash> {
        match index.checked_sub(self.first) {
            Some(offset) => self.created.get(usize::try_from(offset).ok()?).copied(),
            None => self
                .edge
                .iter()
                .find(|(stored, _)| *stored == index)
                .map(|(_, hash)| *hash),
        }
    }
}

/// A committed batch: its checkpoint, its entries (contiguous seqs), and the hashes the
/// proof of each of them in that checkpoint needs.
#[derive(Debug)]
pub struct CommittedBatch {
    pub checkpoint: Arc<StoredCheckpoint>,
    pub(super) hashes: BatchHashes,
    entries: Vec<(u64, Vec<u8>)>,
}

impl CommittedBatch {
    /// The logged bytes of `seq`, an entry of this batch.
    pub fn entry(&self, seq: u64) -> Option<&[u8]> {
        let first = self.entries.first()?.0;
        let (stored_seq, bytes) = self
            .entries
            .get(usize::try_from(seq.checked_sub(first)?).ok()?)?;
        (*stored_seq == seq).then_some(bytes.as_slice())
    }

    /// The inclusion proof of `seq` (an entry of this batch) in the batch's checkpoint,
    /// or `None` if a needed hash is not at hand (then the answer reads the store).
    pub fn proof(&self, seq: u64) -> Option<Vec<Hash>> {
        let size = self.checkpoint.size;
        let hashes = inclusion_proof_indexes(size, seq)
            .ok()?
            .iter()
            .map(|index| self.hashes.get(*index))
            .collect::<Option<Vec<Hash>>>()?;
        inclusion_proof(size, seq, &hashes).ok()
    }
}

/// Why a whole batch failed (a job refused alone is an [`AppendError`] instead).
pub(super) enum BatchFailure {
    HeadMoved,
    Store(StoreError),
    Signing(String),
}

impl BatchFailure {
    pub(super) fn message(&self) -> String {
        match self {
            BatchFailure::HeadMoved => "the log head kept moving under this batch".to_string(),
            BatchFailure::Store(e) => e.to_string(),
            BatchFailure::Signing(e) => e.clone(),
        }
    }
}

impl From<StoreError> for BatchFailure {
    fn from(e: StoreError) -> Self {
        BatchFailure::Store(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::hash::leaf_hash;
    use crate::log::merkle::{Frontier, stored_hash_count};

    /// The proofs a batch answers from memory are exactly the proofs read from a full
    /// store, for every tree size before the batch and every batch length up to 40, so
    /// no answer ever needs the store fallback.
    #[test]
    fn in_memory_proofs_equal_stored_proofs() {
        let leaf = |i: u64| leaf_hash(&i.to_be_bytes());
        for old_size in 0..40u64 {
            for batch_len in 1..40u64 {
                let new_size = old_size + batch_len;
                let mut stored = vec![Hash([0; 32]); stored_hash_count(new_size) as usize];
                let mut frontier = Frontier::empty();
                let mut before = Frontier::empty();
                let (mut batch_first, mut batch_created) = (None, Vec::new());
                for i in 0..new_size {
                    if i == old_size {
                        before = frontier.clone();
                    }
                    let (first, created) = frontier.append(leaf(i));
                    for (k, h) in created.into_iter().enumerate() {
                        stored[first as usize + k] = h;
                        if i >= old_size {
                            batch_first.get_or_insert(first);
                            batch_created.push(h);
                        }
                    }
                }
                let batch_hashes = BatchHashes {
                    edge: before.stored().collect(),
                    first: batch_first.unwrap(),
                    created: batch_created,
                };
                // The batch's hashes are consecutive: each is where the store keeps it.
                for (k, h) in batch_hashes.created.iter().enumerate() {
                    assert_eq!(stored[batch_hashes.first as usize + k], *h);
                }
                let committed = CommittedBatch {
                    checkpoint: Arc::new(StoredCheckpoint {
                        size: new_size,
                        root: frontier.root(),
                        note: String::new(),
                    }),
                    hashes: batch_hashes,
                    entries: Vec::new(),
                };
                for seq in old_size..new_size {
                    let indexes = inclusion_proof_indexes(new_size, seq).unwrap();
                    let from_store: Vec<Hash> =
                        indexes.iter().map(|i| stored[*i as usize]).collect();
                    let expected = inclusion_proof(new_size, seq, &from_store).unwrap();
                    assert_eq!(
                        committed.proof(seq).as_ref(),
                        Some(&expected),
                        "old size {old_size}, batch {batch_len}, seq {seq}"
                    );
                }
            }
        }
    }
}
