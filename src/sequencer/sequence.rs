//! The sequence stage: each job's items get their `seq`, `prev` and `time`, are checked
//! against the idempotency keys and the money rules (on the ledger state the batch has
//! reached), sealed into canonical entries and added to the tree; a refused job is rolled
//! back alone. The batch is then signed.

use std::collections::HashMap;
use std::sync::Arc;

use super::commit::{BatchFailure, BatchHashes, Sealed};
use super::queue::Pending;
use super::task::SequencerTask;
use super::writes::BatchWrites;
use super::{AppendError, AppendRequest, MAX_CACHED_STATE_KEYS, Sequenced, now};
use crate::ledger::records::{Record, RecordKey};
use crate::ledger::rules::{self, StateKey};
use crate::ledger::state::LedgerMemory;
use crate::log::checkpoint::Checkpoint;
use crate::log::entry::{self, ChainHead};
use crate::log::hash::leaf_hash;
use crate::log::merkle::{Frontier, stored_hash_index};
use crate::log::time::UnixMillis;
use crate::store::{AppendTx, StoreError, StoredCheckpoint, id_waits};

/// Everything a batch has decided so far, on top of the stored head.
pub(super) struct BatchState<'a> {
    chain: ChainHead,
    frontier: Frontier,
    writes: BatchWrites,
    ledger: LedgerMemory,
    clock: UnixMillis,
    /// Records appended by the batch in flight, not yet readable from the store.
    in_flight_keys: &'a HashMap<RecordKey, (u64, Record)>,
}

/// Sequences one job's items on top of the batch so far. `Ok(Err(_))` refuses the job
/// alone (the caller rolls it back); `Err(_)` fails the whole batch (a storage error).
async fn sequence_job(
    tx: &mut AppendTx,
    items: &[AppendRequest],
    logged: &HashMap<RecordKey, u64>,
    batch: &mut BatchState<'_>,
) -> Result<Result<Vec<Sequenced>, AppendError>, BatchFailure> {
    let keys: Vec<RecordKey> = items.iter().map(|r| r.record.key(&r.org)).collect();

    let mut outcomes = Vec::with_capacity(items.len());
    let mut seen_in_job: HashMap<&RecordKey, usize> = HashMap::new();
    for (index, (req, key)) in items.iter().zip(&keys).enumerate() {
        let stored_seq = logged.get(key).copied();
        if let Some(&first) = seen_in_job.get(key) {
            return Ok(Err(AppendError::DuplicateInJob {
                index,
                first,
                key: key.clone(),
            }));
        }
        seen_in_job.insert(key, index);

        if let Some(seq) = stored_seq {
            let bytes = tx.entry(seq).await?.ok_or_else(|| {
                StoreError::Corrupt(format!("record points at missing entry {seq}"))
            })?;
            let stored = entry::parse(&bytes)
                .map_err(|e| StoreError::Corrupt(format!("entry {seq}: {e}")))?;
            let (logged, _) = Record::from_entry(&stored)
                .map_err(|e| StoreError::Corrupt(format!("entry {seq}: {e}")))?;
            if !logged.same_request(&req.record) {
                return Ok(Err(AppendError::Conflict {
                    index,
                    key: key.clone(),
                    seq,
                }));
            }
            outcomes.push(Sequenced::Replayed { seq });
            continue;
        }
        if let Some((seq, logged)) = batch
            .writes
            .new_keys
            .get(key)
            .or_else(|| batch.in_flight_keys.get(key))
        {
            if !logged.same_request(&req.record) {
                return Ok(Err(AppendError::Conflict {
                    index,
                    key: key.clone(),
                    seq: *seq,
                }));
            }
            outcomes.push(Sequenced::Replayed { seq: *seq });
            continue;
        }

        let header = batch.chain.next_header(batch.clock);
        let applied = rules::apply(
            &mut batch.ledger,
            &req.org,
            header.seq,
            header.time,
            &req.record,
        );
        let derived = match applied {
            Ok(d) => d,
            Err(violation) => return Ok(Err(AppendError::Rule { index, violation })),
        };
        let body = req.record.entry_body(&derived);
        let bytes = match entry::seal(&header, req.record.kind(), Some(&req.org), &body) {
            Ok(b) => b,
            Err(error) => return Ok(Err(AppendError::Entry { index, error })),
        };
        let leaf = leaf_hash(&bytes);
        let (first_index, hashes) = batch.frontier.append(leaf);
        let writes = &mut batch.writes;
        writes.first_tree_index.get_or_insert(first_index);
        writes.tree_hashes.extend(hashes);
        batch.chain = ChainHead {
            size: header.seq + 1,
            leaf_hash: leaf,
            time: header.time,
        };
        writes.entries.push((header.seq, bytes));
        writes.records.push((key.clone(), header.seq));
        writes.add_rows(&req.org, header.seq, &req.record, &derived);
        writes
            .new_keys
            .insert(key.clone(), (header.seq, req.record.as_logged(&derived)));
        if let Some(effect) = &req.side_effect {
            writes.side_effects.push(effect.clone());
        }
        outcomes.push(Sequenced::New {
            seq: header.seq,
            leaf_hash: leaf,
        });
    }
    Ok(Ok(outcomes))
}

impl SequencerTask {
    /// Sequences the jobs on top of the task's head, reading what they need through
    /// `reads`, and signs the result. Advances the task's head, frontier and ledger to
    /// the batch's; returns `None` if it appends nothing (only replays and refusals).
    /// With `ids_may_wait`, its donation ids go to `recent_ids` (see the field).
    pub(super) async fn sequence(
        &mut self,
        pending: &mut [Pending],
        reads: &mut AppendTx,
        started: std::time::Instant,
        ids_may_wait: bool,
    ) -> Result<Option<Sealed>, BatchFailure> {
        let origin = self.signer.verifier().name().to_string();
        if self.ledger.len() > MAX_CACHED_STATE_KEYS {
            self.ledger = LedgerMemory::overlay(&origin);
        }
        // A failure leaves an empty overlay behind (the state it held may be ahead of
        // the store); a sequenced batch puts its state back.
        let ledger = std::mem::replace(&mut self.ledger, LedgerMemory::overlay(&origin));
        let mut batch = BatchState {
            chain: self.head,
            frontier: self.frontier.clone(),
            writes: BatchWrites::default(),
            ledger,
            clock: now(),
            in_flight_keys: &self.in_flight_keys,
        };

        // One lookup for every id and every piece of rule state the whole batch needs.
        let keys: Vec<RecordKey> = pending
            .iter()
            .flat_map(|p| p.job.items.iter().map(|r| r.record.key(&r.org)))
            .collect();
        let waiting: HashMap<RecordKey, u64> = match &self.recent_ids {
            Some(recent_ids) => keys
                .iter()
                .filter_map(|key| Some((key.clone(), recent_ids.get(key)?)))
                .collect(),
            None => HashMap::new(),
        };
        let unknown: Vec<&RecordKey> = keys.iter().filter(|k| !waiting.contains_key(k)).collect();
        let mut logged = reads.record_seqs(&unknown).await?;
        logged.extend(waiting);
        let mut state_keys: Vec<StateKey> = pending
            .iter()
            .flat_map(|p| {
                p.job
                    .items
                    .iter()
                    .flat_map(|r| rules::state_keys(&r.org, &r.record))
            })
            .collect();
        state_keys.sort();
        state_keys.dedup();
        let missing: Vec<&StateKey> = batch.ledger.missing(&state_keys);
        for (key, value) in reads.load_state(&missing).await? {
            batch.ledger.load(key, value);
        }
        // Every entry of the batch takes the same time, so the periods a capped payout
        // counts in are known now.
        let time = batch.chain.next_header(batch.clock).time;
        let mut dependent: Vec<StateKey> = pending
            .iter()
            .flat_map(|p| p.job.items.iter())
            .flat_map(|r| rules::dependent_state_keys(&batch.ledger, &r.org, &r.record, time))
            .collect();
        dependent.sort();
        dependent.dedup();
        let missing: Vec<&StateKey> = batch.ledger.missing(&dependent);
        for (key, value) in reads.load_state(&missing).await? {
            batch.ledger.load(key, value);
        }

        for p in pending.iter_mut() {
            let writes_mark = batch.writes.mark();
            let ledger_mark = batch.ledger.mark();
            let (chain_before, frontier_before) = (batch.chain, batch.frontier.clone());
            let result = sequence_job(reads, &p.job.items, &logged, &mut batch).await?;
            if result.is_err() {
                batch.writes.rollback_to(writes_mark);
                batch.ledger.rollback(ledger_mark);
                batch.chain = chain_before;
                batch.frontier = frontier_before;
            }
            p.result = Some(result);
        }
        let BatchState {
            chain,
            frontier,
            mut writes,
            mut ledger,
            clock,
            ..
        } = batch;
        let (mut recent_ids, mut move_recent_ids) = (Vec::new(), false);
        if let (true, Some(waiting)) = (ids_may_wait, &self.recent_ids) {
            (recent_ids, writes.records) = std::mem::take(&mut writes.records)
                .into_iter()
                .partition(|(key, _)| id_waits(key));
            move_recent_ids = waiting.move_due(recent_ids.len());
        }

        if writes.entries.is_empty() {
            ledger.take_changes();
            self.ledger = ledger;
            return Ok(None);
        }
        let checkpoint = Checkpoint {
            origin,
            size: chain.size,
            root: frontier.root(),
        };
        let note = checkpoint
            .sign(&self.signer)
            .map_err(|e| BatchFailure::Signing(e.to_string()))?;
        let first_tree_index = writes.first_tree_index.expect("entries imply hashes");
        let hashes = BatchHashes {
            edge: self.frontier.stored().collect(),
            first: first_tree_index,
            created: std::mem::take(&mut writes.tree_hashes),
        };
        let state = ledger.take_changes();
        // As a replay of the log would: a sequenced disbursement's leaf is known now, so a
        // later batch may acknowledge it (if this one fails, that batch is redone too).
        for (key, (seq, record)) in &writes.new_keys {
            if let Some(leaf) = hashes.get(stored_hash_index(0, *seq)) {
                ledger.note_leaf(&key.org, record, leaf);
            }
        }
        ledger.take_changes();
        let old_head = std::mem::replace(&mut self.head, chain);
        self.frontier = frontier;
        self.ledger = ledger;
        Ok(Some(Sealed {
            old_head,
            new_head: chain,
            writes,
            recent_ids,
            move_recent_ids,
            state,
            clock,
            checkpoint: Arc::new(StoredCheckpoint {
                size: checkpoint.size,
                root: checkpoint.root,
                note,
            }),
            hashes,
            started,
            sequenced: started.elapsed(),
        }))
    }
}
