//! The sequencer's loop: it takes batches from the queue and runs each through the
//! stages (sequence, commit, record), pipelining large batches where this process is the
//! log's only writer, and retrying a batch whose head moved under it.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::mpsc;

use super::commit::{BatchFailure, CommittedBatch, Sealed};
use super::finish::Finished;
use super::queue::{Pending, next_jobs};
use super::{AppendError, Faults, Job, MAX_HEAD_RETRIES, MIN_PIPELINED_ENTRIES, Sequenced};
use crate::ledger::records::{Record, RecordKey};
use crate::ledger::state::LedgerMemory;
use crate::log::entry::ChainHead;
use crate::log::merkle::Frontier;
use crate::log::note::NoteSigner;
use crate::metrics::{AppendStage, Metrics};
use crate::store::{RecentIds, Store, StoreError};

/// The sequencer's state between batches: the head, the tree's right edge and the
/// ledger state earlier batches read or wrote, all as committed.
pub struct SequencerTask {
    pub(super) store: Store,
    /// Where pipelined commits run: the service's shared runtime. A large batch's commit
    /// is several round trips to SQLite's thread (`BEGIN`, each 1,000-row chunk, the
    /// script); on the sequencer's own thread each step waited until sequencing the next
    /// batch, which does not yield, was done (docs/decisions.md, "Tuning").
    pub(super) commits: tokio::runtime::Handle,
    pub(super) signer: Arc<NoteSigner>,
    pub(super) head: ChainHead,
    pub(super) frontier: Frontier,
    /// Ledger state as committed (an overlay that loads what a batch lacks).
    pub(super) ledger: LedgerMemory,
    /// Whether `head`, `frontier` and `ledger` are known to match the store. False after
    /// any failed attempt (a commit's outcome may be unknown), so the next re-reads them.
    pub(super) cache_valid: bool,
    pub(super) metrics: Arc<Metrics>,
    /// Committed batches go here to be recorded beside the key and answered.
    pub(super) finished: mpsc::Sender<Finished>,
    /// Records appended by the batch in flight (see [`SequencerTask::run`]).
    pub(super) in_flight_keys: HashMap<RecordKey, (u64, Record)>,
    /// The donation ids waiting in `recent_ids`, where this process is the log's one
    /// writer (SQLite; `store::recent_ids` says why they wait). Batches run on their own
    /// add theirs there; pipelined batches write theirs to `record_ids`. Read again
    /// whenever the caches are.
    pub(super) recent_ids: Option<RecentIds>,
    /// Faults to inject (tests only), and the batches taken so far.
    pub(super) faults: Faults,
    pub(super) batches: u64,
}

/// A batch being written and committed on the writer connection while the sequencer
/// sequences the next one on top of it.
struct InFlight {
    pending: Vec<Pending>,
    started: std::time::Instant,
    commit: CommitTask,
}

type CommitTask = tokio::task::JoinHandle<Result<Arc<CommittedBatch>, BatchFailure>>;

/// How a commit task ended.
type CommitDone = Result<Result<Arc<CommittedBatch>, BatchFailure>, tokio::task::JoinError>;

/// What the sequencer's loop woke up for.
enum Next {
    Committed(CommitDone),
    Jobs(Option<Vec<Pending>>),
}

impl SequencerTask {
    /// Batches are pipelined where this process is the log's only writer (SQLite): while
    /// one batch is written and committed, the next is sequenced on top of it, reading
    /// committed state through a reader and the in-flight batch's state from memory. Any
    /// failure falls back to one batch at a time, from the store's state. With other
    /// writers (PostgreSQL) every batch reads and locks the head inside its transaction.
    pub(super) async fn run(mut self, mut receiver: mpsc::Receiver<Job>) {
        let pipelined = !self.store.may_share_writers();
        let mut in_flight: Option<InFlight> = None;
        loop {
            // Answer a batch as soon as it commits, even if no new job comes.
            let next = match in_flight.as_mut() {
                Some(f) => tokio::select! {
                    biased;
                    done = &mut f.commit => Next::Committed(done),
                    jobs = next_jobs(&mut receiver, &self.metrics) => Next::Jobs(jobs),
                },
                None => Next::Jobs(next_jobs(&mut receiver, &self.metrics).await),
            };
            let mut pending = match next {
                Next::Committed(done) => {
                    let landed = in_flight.take().expect("a batch was in flight");
                    self.land(landed, Some(done)).await;
                    continue;
                }
                Next::Jobs(None) => break,
                Next::Jobs(Some(pending)) => pending,
            };
            self.batches += 1;
            if self.faults.panic_at_batch == Some(self.batches) {
                panic!("a fault injected into batch {}", self.batches);
            }
            let entries: usize = pending.iter().map(|p| p.job.items.len()).sum();
            if pipelined && self.cache_valid && entries >= MIN_PIPELINED_ENTRIES {
                let started = std::time::Instant::now();
                let sealed = self.sequence_ahead(&mut pending, started).await;
                // This batch was sequenced on top of the one in flight: that must land.
                let landed = match in_flight.take() {
                    Some(previous) => self.land(previous, None).await,
                    None => true,
                };
                match sealed {
                    Ok(sealed) if landed => {
                        self.metrics.record_pipelined_batch();
                        in_flight = self.launch(pending, sealed, started).await;
                        continue;
                    }
                    Ok(_) => {}
                    Err(failure) => {
                        tracing::warn!(error = %failure.message(), "sequencing ahead failed; retrying the batch on its own");
                    }
                }
                self.fall_back();
            } else if let Some(previous) = in_flight.take() {
                self.land(previous, None).await;
            }
            self.run_batch(pending).await;
        }
        if let Some(previous) = in_flight.take() {
            self.land(previous, None).await;
        }
        tracing::info!("sequencer stopped: queue closed and drained");
    }

    /// Sequences a batch on top of everything sequenced so far, reading committed state
    /// through a reader (the batch in flight is in memory).
    async fn sequence_ahead(
        &mut self,
        pending: &mut [Pending],
        started: std::time::Instant,
    ) -> Result<Option<Sealed>, BatchFailure> {
        let mut reads = self.store.begin_snapshot().await?;
        self.sequence(pending, &mut reads, started, false).await
    }

    /// Starts writing and committing a sealed batch beside the sequencer; a batch that
    /// appends nothing (replays and refusals) is answered at once.
    async fn launch(
        &mut self,
        pending: Vec<Pending>,
        sealed: Option<Sealed>,
        started: std::time::Instant,
    ) -> Option<InFlight> {
        let Some(mut sealed) = sealed else {
            self.in_flight_keys.clear();
            self.finish_batch(pending, None, started).await;
            return None;
        };
        // The next batch looks up this one's ids here until it has committed.
        self.in_flight_keys = std::mem::take(&mut sealed.writes.new_keys);
        let store = self.store.clone();
        let commit = self
            .commits
            .spawn(async move { sealed.commit(store.begin_batch().await?).await });
        Some(InFlight {
            pending,
            started,
            commit,
        })
    }

    /// Hands the batch in flight to the finisher once it committed (`done` if it is
    /// known already). If it did not commit, its jobs run again on their own from the
    /// store's state (a commit whose outcome was unknown then replays), and false says
    /// the state sequenced ahead of it is void.
    async fn land(&mut self, in_flight: InFlight, done: Option<CommitDone>) -> bool {
        let InFlight {
            pending,
            started,
            commit,
        } = in_flight;
        let done = match done {
            Some(done) => done,
            None => commit.await,
        };
        let outcome = done.unwrap_or_else(|e| {
            Err(BatchFailure::Store(StoreError::Unavailable(format!(
                "the commit task failed: {e}"
            ))))
        });
        match outcome {
            Ok(committed) => {
                self.finish_batch(pending, Some(committed), started).await;
                true
            }
            Err(failure) => {
                tracing::warn!(error = %failure.message(), "a pipelined batch did not commit; retrying it on its own");
                self.fall_back();
                self.run_batch(pending).await;
                false
            }
        }
    }

    /// Voids the state sequenced ahead: the next batch runs on its own (`run_batch`, which
    /// clears each job's result before every attempt) from the store's state.
    fn fall_back(&mut self) {
        self.metrics.record_pipeline_fallback();
        self.cache_valid = false;
        self.in_flight_keys.clear();
    }

    /// Runs one batch on its own: read, sequence, write and commit in one transaction,
    /// retrying if another process moved the head.
    async fn run_batch(&mut self, mut pending: Vec<Pending>) {
        let started = std::time::Instant::now();
        let mut attempt = 0;
        let mut committed = None;
        loop {
            attempt += 1;
            for p in pending.iter_mut() {
                p.result = None;
            }
            match self.try_batch(&mut pending, started).await {
                Ok(checkpoint) => {
                    committed = checkpoint;
                    break;
                }
                Err(BatchFailure::HeadMoved) if attempt <= MAX_HEAD_RETRIES => {
                    self.metrics.record_head_retry();
                    tracing::info!(attempt, "log head moved under the batch; retrying");
                    continue;
                }
                Err(failure) => {
                    self.metrics.record_failed_batch();
                    tracing::error!(error = %failure.message(), "append batch failed; nothing from it was acknowledged");
                    for p in pending.iter_mut() {
                        p.result = Some(Err(AppendError::Unavailable(
                            "the log could not commit this write; retry with the same ids".into(),
                        )));
                    }
                    break;
                }
            }
        }
        self.finish_batch(pending, committed, started).await;
    }

    /// Counts a batch's outcomes and hands it to the finisher, which answers its jobs.
    async fn finish_batch(
        &mut self,
        pending: Vec<Pending>,
        committed: Option<Arc<CommittedBatch>>,
        started: std::time::Instant,
    ) {
        let (mut appended, mut replayed) = (0, 0);
        for item in pending
            .iter()
            .flat_map(|p| p.result.iter().flatten().flatten())
        {
            match item {
                Sequenced::New { .. } => appended += 1,
                Sequenced::Replayed { .. } => replayed += 1,
            }
        }
        if appended + replayed > 0 {
            let size = committed.as_ref().map_or(0, |c| c.checkpoint.size);
            self.metrics
                .record_batch(appended, replayed, size, started.elapsed());
        }
        let handed_at = Instant::now();
        let answers = pending
            .into_iter()
            .map(|p| {
                self.metrics
                    .record_append_stage(AppendStage::Committed, handed_at - p.taken_at);
                let result = p
                    .result
                    .unwrap_or_else(|| Err(AppendError::Unavailable("no result".into())));
                (p.job.respond, result)
            })
            .collect();
        // Only fails if the finisher is gone; dropping the answers then tells each
        // waiting request that the sequencer stopped before answering.
        let _ = self
            .finished
            .send(Finished {
                committed,
                answers,
                handed_at,
            })
            .await;
    }

    /// Runs one attempt at a batch on its own; returns what it committed, if it appended.
    async fn try_batch(
        &mut self,
        pending: &mut [Pending],
        started: std::time::Instant,
    ) -> Result<Option<Arc<CommittedBatch>>, BatchFailure> {
        let mut tx = self.store.begin_batch().await?;
        // Whatever happens below, the caches are trusted again only once this commits.
        let trusted = std::mem::replace(&mut self.cache_valid, false);
        if !trusted && self.recent_ids.is_some() {
            self.recent_ids = Some(tx.recent_ids().await?);
        }
        if !trusted || self.store.may_share_writers() {
            let head = tx
                .lock_head()
                .await?
                .ok_or_else(|| StoreError::Corrupt("log head row is missing".into()))?;
            if head != self.head {
                // Another process appended (PostgreSQL), or a commit of ours failed or had
                // an unknown outcome: rebuild the caches from the database (inside the
                // head's lock on PostgreSQL; on SQLite the batch's script checks the head).
                let hashes = tx.tree_hashes(&Frontier::indexes(head.size)).await?;
                self.frontier = Frontier::from_stored(head.size, &hashes)
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                self.head = head;
                self.ledger = LedgerMemory::overlay(self.signer.verifier().name());
            }
        }
        let ids_may_wait = self.recent_ids.is_some();
        let committed = match self
            .sequence(pending, &mut tx, started, ids_may_wait)
            .await?
        {
            None => {
                tx.commit().await?;
                None
            }
            Some(sealed) => {
                let (waiting, moved) = (sealed.recent_ids.clone(), sealed.move_recent_ids);
                let committed = sealed.commit(tx).await?;
                if let Some(recent_ids) = &mut self.recent_ids {
                    recent_ids.committed(&waiting, moved);
                }
                Some(committed)
            }
        };
        self.cache_valid = true;
        Ok(committed)
    }
}
