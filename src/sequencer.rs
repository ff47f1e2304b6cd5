//! The sequencer: the one writer per process. It assigns `seq`, `prev` and `time`, and
//! commits appends in batches (group commit): while one batch commits, new requests
//! queue; the next batch takes everything queued, so under load one transaction, one
//! fsync and one checkpoint signature serve many requests.
//!
//! A job is all-or-nothing (a batch endpoint's items succeed or fail together), but one
//! job's bad item never fails another job that shares its database transaction.
//! A write is answered only after its batch is committed and the signed tree size is
//! recorded beside the key.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::{mpsc, oneshot};

use crate::keys::{SignedState, SignedTree};
use crate::ledger::records::{Derived, Record, RecordKey};
use crate::ledger::rules::{self, RuleViolation, StateKey};
use crate::ledger::state::LedgerMemory;
use crate::ledger::state::StateValue;
use crate::log::checkpoint::Checkpoint;
use crate::log::entry::{self, ChainHead, EntryError};
use crate::log::hash::{Hash, leaf_hash};
use crate::log::merkle::{
    Frontier, inclusion_proof, inclusion_proof_indexes, stored_hash_count, stored_hash_index,
};
use crate::log::note::NoteSigner;
use crate::log::time::UnixMillis;
use crate::metrics::{AppendStage, Metrics};
use crate::store::{
    AckRow, AppendTx, Appended, BatchRows, CorrectionRow, DisbursementRow, DonationRow,
    MAX_PENDING_APPENDS, RecentIds, Store, StoreError, StoredCheckpoint, follow_tree_file,
    id_waits,
};

/// Most entries committed in one transaction. 4,096 entries of at most 16 KiB is at most
/// 64 MiB per batch; typical donations (~300 bytes) make ~1.2 MiB, which SQLite and
/// PostgreSQL commit in milliseconds.
pub const MAX_BATCH_ENTRIES: usize = 4096;

/// Jobs waiting for the sequencer before senders are made to wait (backpressure).
/// Two full batches' worth keeps the writer busy without unbounded memory.
pub const MAX_QUEUED_JOBS: usize = 2 * MAX_BATCH_ENTRIES;

/// Most ledger-state keys (orgs, campaigns, beneficiaries, entry summaries …) kept
/// between batches, so a busy campaign's totals are not read back for every batch. Each
/// is well under 1 KiB, so at most ~100 MB; past the limit the cache starts over and the
/// next batch reloads what it needs.
const MAX_CACHED_STATE_KEYS: usize = 100_000;

/// Committed batches waiting for their signed size to be recorded and their answers to
/// go out. The sequencer commits the next batch meanwhile; a few cover an fsync stall.
const MAX_UNANSWERED_BATCHES: usize = 16;

/// Smallest batch that is sequenced while the one before it commits. Sequencing a
/// large batch takes about as long as writing it (~7 µs per entry each), so overlapping
/// the two raises the rate (1,000-donation batches went from 57,000–60,000 to
/// 62,000–66,000/s). Small batches pipelined only get smaller, and each pays a commit:
/// 64 single-donation clients made 11,500–11,700 appends/s pipelined (20 entries per
/// batch) against 13,300–13,900 not (30 per batch).
const MIN_PIPELINED_ENTRIES: usize = 256;

/// Least time between two WAL checkpoints while appends go on (SQLite). Each copies
/// what was committed since the last: 100 ms at 10,000 entries/s is ~1,000 entries, a
/// few MB, so the WAL stays small without a checkpoint after every commit.
const WAL_CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(100);

/// How often a batch is retried after another process moved the head under it. Each
/// retry reloads the head, so more than a few means something else is wrong.
const MAX_HEAD_RETRIES: usize = 3;

/// Reads the wall clock as milliseconds since the epoch.
pub fn now() -> UnixMillis {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    UnixMillis(ms)
}

/// Something to store beside an entry, in the same transaction.
#[derive(Debug, Clone)]
pub enum SideEffect {
    /// An org's API token (hashed), issued with its registration.
    IssueOrgToken { org: String, token_hash: Hash },
}

/// One entry to append: a validated record of an org. Its kind, idempotency key and
/// derived fields follow from the record.
#[derive(Debug, Clone)]
pub struct AppendRequest {
    pub org: String,
    pub record: Record,
    pub side_effect: Option<SideEffect>,
}

/// What happened to one request.
#[derive(Debug, Clone)]
pub enum AppendOutcome {
    /// Newly appended in `batch`, which committed with its checkpoint; the batch also
    /// answers the entry's bytes and inclusion proof, so no read back from the store.
    Appended {
        seq: u64,
        leaf_hash: Hash,
        batch: Arc<CommittedBatch>,
    },
    /// The same id with the same content was already logged at `seq`.
    Replayed { seq: u64 },
}

/// Why a job was not appended.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AppendError {
    #[error("{} {:?} already exists at seq {seq} with different content", key.scope, key.id)]
    Conflict {
        index: usize,
        key: RecordKey,
        seq: u64,
    },
    #[error("{error}")]
    Entry { index: usize, error: EntryError },
    #[error("{} {:?} appears twice in one request (items {first} and {index})", key.scope, key.id)]
    DuplicateInJob {
        index: usize,
        first: usize,
        key: RecordKey,
    },
    #[error("{violation}")]
    Rule {
        index: usize,
        violation: RuleViolation,
    },
    #[error("the log is unavailable: {0}")]
    Unavailable(String),
}

type JobResult = Result<Vec<AppendOutcome>, AppendError>;

/// A job's items as sequenced, before the batch's checkpoint exists.
enum Sequenced {
    New { seq: u64, leaf_hash: Hash },
    Replayed { seq: u64 },
}

struct Job {
    items: Vec<AppendRequest>,
    respond: oneshot::Sender<Answered>,
    /// When its request handed it to the queue.
    queued_at: Instant,
}

/// A job's outcome, and when the finisher sent it.
struct Answered {
    result: JobResult,
    sent_at: Instant,
}

/// A handle to the sequencer task; cloning shares the one queue.
#[derive(Clone)]
pub struct Sequencer {
    queue: mpsc::Sender<Job>,
    metrics: Arc<Metrics>,
}

impl Sequencer {
    /// Appends the items of one job atomically and waits until they are durable.
    pub async fn append(&self, items: Vec<AppendRequest>) -> JobResult {
        let (respond, answer) = oneshot::channel();
        let job = Job {
            items,
            respond,
            queued_at: Instant::now(),
        };
        self.queue
            .send(job)
            .await
            .map_err(|_| AppendError::Unavailable("the sequencer has stopped".into()))?;
        let answered = answer.await.map_err(|_| {
            AppendError::Unavailable("the sequencer stopped before answering".into())
        })?;
        self.metrics
            .record_append_stage(AppendStage::Resumed, answered.sent_at.elapsed());
        answered.result
    }
}

/// The sequencer's state between batches: the head, the tree's right edge and the
/// ledger state earlier batches read or wrote, all as committed.
pub struct SequencerTask {
    store: Store,
    /// Where pipelined commits run: the service's shared runtime. A large batch's commit
    /// is several round trips to SQLite's thread (`BEGIN`, each 1,000-row chunk, the
    /// script); on the sequencer's own thread each step waited until sequencing the next
    /// batch, which does not yield, was done. Moving them here took 1,000-donation
    /// batches from 67,800-69,700 to 83,300-89,300/s (two alternating pairs of runs).
    commits: tokio::runtime::Handle,
    signer: Arc<NoteSigner>,
    head: ChainHead,
    frontier: Frontier,
    /// Ledger state as committed (an overlay that loads what a batch lacks).
    ledger: LedgerMemory,
    /// Whether `head`, `frontier` and `ledger` are known to match the store. False after
    /// any failed attempt (a commit's outcome may be unknown), so the next re-reads them.
    cache_valid: bool,
    metrics: Arc<Metrics>,
    /// Committed batches go here to be recorded beside the key and answered.
    finished: mpsc::Sender<Finished>,
    /// Records appended by the batch in flight (see [`SequencerTask::run`]).
    in_flight_keys: HashMap<RecordKey, (u64, Record)>,
    /// The donation ids waiting in `recent_ids`, where this process is the log's one
    /// writer (SQLite; `store::recent_ids` says why they wait). Batches run on their own
    /// add theirs there; pipelined batches write theirs to `record_ids`. Read again
    /// whenever the caches are.
    recent_ids: Option<RecentIds>,
}

/// Starts the sequencer; it runs until every [`Sequencer`] handle is dropped and the
/// queue is drained, then the returned task finishes.
pub async fn start(
    store: Store,
    signer: Arc<NoteSigner>,
    signed_state: SignedState,
    metrics: Arc<Metrics>,
) -> Result<(Sequencer, tokio::task::JoinHandle<()>), StoreError> {
    let head = store.head().await?;
    metrics.set_log_size(head.size);
    let frontier = Frontier::from_stored(
        head.size,
        &store.tree_hashes(&Frontier::indexes(head.size)).await?,
    )
    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let recent_ids = if store.may_share_writers() {
        None
    } else {
        Some(store.begin_batch().await?.recent_ids().await?)
    };
    let (queue, receiver) = mpsc::channel(MAX_QUEUED_JOBS);
    let (finished, finished_receiver) = mpsc::channel(MAX_UNANSWERED_BATCHES);
    let origin = signer.verifier().name().to_string();
    let (wal_written, wal_receiver) = mpsc::channel(1);
    let checkpointer = tokio::spawn(checkpoint_wal(store.clone(), wal_receiver));
    // The tree file only makes proofs faster: without it they read the database.
    let tree_file = match store
        .open_tree_file(stored_hash_count(head.size))
        .unwrap_or_else(|e| {
            tracing::warn!(error = %e, "no tree file; inclusion proofs read the database");
            None
        }) {
        Some(file) => {
            let (appends, appended) = mpsc::channel(MAX_PENDING_APPENDS);
            Some((
                appends,
                tokio::spawn(follow_tree_file(
                    store.clone(),
                    file,
                    stored_hash_count(head.size),
                    appended,
                )),
            ))
        }
        None => None,
    };
    let (tree_appends, tree_follower) = tree_file.unzip();
    let outputs = Outputs {
        store: store.clone(),
        signed_state,
        origin: origin.clone(),
        metrics: metrics.clone(),
        wal_written,
        tree_appends,
    };
    let finisher = tokio::task::spawn_blocking(move || finish(finished_receiver, outputs));
    let handle_metrics = metrics.clone();
    let task = SequencerTask {
        commits: tokio::runtime::Handle::current(),
        store,
        signer,
        head,
        frontier,
        ledger: LedgerMemory::overlay(&origin),
        cache_valid: true,
        metrics,
        finished,
        in_flight_keys: HashMap::new(),
        recent_ids,
    };
    let sequencer = if task.store.may_share_writers() {
        tokio::spawn(task.run(receiver))
    } else {
        run_on_own_thread(task, receiver)?
    };
    let handle = tokio::spawn(async move {
        // The task owns the finisher's sender: when it ends, the finisher drains and ends.
        if let Err(e) = sequencer.await {
            tracing::error!(error = %e, "the sequencer failed");
        }
        let helpers = [
            ("finisher", Some(finisher)),
            ("WAL checkpointer", Some(checkpointer)),
            ("tree file follower", tree_follower),
        ];
        for (name, helper) in helpers.into_iter().filter_map(|(n, h)| Some((n, h?))) {
            if let Err(e) = helper.await {
                tracing::error!(error = %e, "the sequencer's {name} failed");
            }
        }
    });
    Ok((
        Sequencer {
            queue,
            metrics: handle_metrics,
        },
        handle,
    ))
}

/// Runs the sequencer on a thread of its own (SQLite, whose connections each have their
/// own thread and no socket on a runtime). Each batch waits on SQLite twice, and on the
/// shared runtime every wake-up queued behind the HTTP tasks. Under 64 single-donation
/// clients, in six alternating pairs of runs, its own thread was ahead in five
/// (6,866-10,220 appends/s against 6,737-8,430/s on the shared runtime).
fn run_on_own_thread(
    task: SequencerTask,
    receiver: mpsc::Receiver<Job>,
) -> Result<tokio::task::JoinHandle<()>, StoreError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| StoreError::Unavailable(format!("starting the sequencer's runtime: {e}")))?;
    let (stopped, on_stop) = oneshot::channel();
    std::thread::Builder::new()
        .name("pt-sequencer".into())
        .spawn(move || {
            runtime.block_on(task.run(receiver));
            // Whatever the run left spawned ends before anyone is told it stopped.
            drop(runtime);
            let _ = stopped.send(());
        })
        .map_err(|e| StoreError::Unavailable(format!("starting the sequencer's thread: {e}")))?;
    Ok(tokio::spawn(async move {
        // An error means the thread ended without finishing the run (it panicked).
        if on_stop.await.is_err() {
            tracing::error!("the sequencer's thread stopped before its queue was drained");
        }
    }))
}

/// One job being worked on within a batch.
struct Pending {
    job: Job,
    /// When a batch took it from the queue.
    taken_at: Instant,
    result: Option<Result<Vec<Sequenced>, AppendError>>,
}

/// What a batch will write if it commits.
#[derive(Default)]
struct BatchWrites {
    entries: Vec<(u64, Vec<u8>)>,
    tree_hashes: Vec<Hash>,
    first_tree_index: Option<u64>,
    records: Vec<(RecordKey, u64)>,
    side_effects: Vec<SideEffect>,
    donations: Vec<DonationRow>,
    disbursements: Vec<DisbursementRow>,
    corrections: Vec<CorrectionRow>,
    acks: Vec<AckRow>,
    /// Each record appended in this batch, for replays within the batch.
    new_keys: HashMap<RecordKey, (u64, Record)>,
}

/// Lengths of a [`BatchWrites`]' lists, to roll a refused job back to.
struct WritesMark([usize; 8]);

impl BatchWrites {
    fn mark(&self) -> WritesMark {
        WritesMark([
            self.entries.len(),
            self.tree_hashes.len(),
            self.records.len(),
            self.side_effects.len(),
            self.donations.len(),
            self.disbursements.len(),
            self.corrections.len(),
            self.acks.len(),
        ])
    }

    fn rollback_to(&mut self, WritesMark(m): WritesMark) {
        for (key, _) in self.records.drain(m[2]..) {
            self.new_keys.remove(&key);
        }
        self.entries.truncate(m[0]);
        self.tree_hashes.truncate(m[1]);
        self.side_effects.truncate(m[3]);
        self.donations.truncate(m[4]);
        self.disbursements.truncate(m[5]);
        self.corrections.truncate(m[6]);
        self.acks.truncate(m[7]);
        if self.tree_hashes.is_empty() {
            self.first_tree_index = None;
        }
    }

    /// The ledger rows a newly appended record adds.
    fn add_rows(&mut self, org: &str, seq: u64, record: &Record, derived: &Derived) {
        match (record, derived) {
            (
                Record::Donation(d),
                Derived::Donation {
                    net,
                    received_before,
                    ..
                },
            ) => self.donations.push(DonationRow {
                org: org.to_string(),
                id: d.id.clone(),
                campaign: d.campaign.clone(),
                seq,
                amount: d.amount.minor_units(),
                fee: d.fee.minor_units(),
                net: net.minor_units(),
                received_before: received_before.minor_units(),
                donor_commitment: d.donor_commitment.clone(),
            }),
            (
                Record::Disbursement(x),
                Derived::Disbursement {
                    disbursed_before, ..
                },
            ) => self.disbursements.push(DisbursementRow {
                org: org.to_string(),
                id: x.id.clone(),
                campaign: x.campaign.clone(),
                beneficiary: x.beneficiary.clone(),
                seq,
                amount: x.amount.minor_units(),
                disbursed_before: disbursed_before.minor_units(),
            }),
            (Record::Correction(c), _) => self.corrections.push(CorrectionRow {
                org: org.to_string(),
                id: c.id.clone(),
                corrects: c.corrects,
                seq,
            }),
            (Record::Acknowledgement(a), _) => self.acks.push(AckRow {
                org: org.to_string(),
                disbursement: a.disbursement.clone(),
                status: a.status.as_str(),
                amount_received: a.amount_received.minor_units(),
                seq,
            }),
            _ => {}
        }
    }
}

/// Waits for a job, then takes every job already queued, up to a batch's worth.
async fn next_jobs(receiver: &mut mpsc::Receiver<Job>, metrics: &Metrics) -> Option<Vec<Pending>> {
    let first = receiver.recv().await?;
    let mut entries = first.items.len();
    let mut jobs = vec![first];
    while entries < MAX_BATCH_ENTRIES {
        match receiver.try_recv() {
            Ok(job) => {
                entries += job.items.len();
                jobs.push(job);
            }
            Err(_) => break,
        }
    }
    let taken_at = Instant::now();
    Some(
        jobs.into_iter()
            .map(|job| {
                metrics.record_append_stage(AppendStage::Queued, taken_at - job.queued_at);
                Pending {
                    job,
                    taken_at,
                    result: None,
                }
            })
            .collect(),
    )
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
    async fn run(mut self, mut receiver: mpsc::Receiver<Job>) {
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

    /// Sequences the jobs on top of the task's head, reading what they need through
    /// `reads`, and signs the result. Advances the task's head, frontier and ledger to
    /// the batch's; returns `None` if it appends nothing (only replays and refusals).
    /// With `ids_may_wait`, its donation ids go to `recent_ids` (see the field).
    async fn sequence(
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

/// A sequenced and signed batch: everything its commit writes.
struct Sealed {
    /// The head it was sequenced on (the stored head when it commits), and its own.
    old_head: ChainHead,
    new_head: ChainHead,
    writes: BatchWrites,
    /// Its ids that wait in `recent_ids` (the others are in `writes.records`), and
    /// whether it then moves every waiting id to `record_ids`.
    recent_ids: Vec<(RecordKey, u64)>,
    move_recent_ids: bool,
    /// Ledger state it changed.
    state: Vec<(StateKey, StateValue)>,
    clock: UnixMillis,
    checkpoint: Arc<StoredCheckpoint>,
    /// See [`CommittedBatch`].
    hashes: BatchHashes,
    started: std::time::Instant,
    sequenced: std::time::Duration,
}

impl Sealed {
    /// Writes the batch through `tx` (from [`Store::begin_batch`]) and commits.
    async fn commit(self, tx: AppendTx) -> Result<Arc<CommittedBatch>, BatchFailure> {
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
struct BatchHashes {
    /// The stored hashes of the tree's right edge before the batch, by stored index (at
    /// most 64).
    edge: Vec<(u64, Hash)>,
    /// The stored hashes the batch created, consecutive from stored index `first`.
    first: u64,
    created: Vec<Hash>,
}

impl BatchHashes {
    fn get(&self, index: u64) -> Option<Hash> {
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
    hashes: BatchHashes,
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

/// Where the finisher sends what a committed batch produced.
struct Outputs {
    store: Store,
    signed_state: SignedState,
    origin: String,
    metrics: Arc<Metrics>,
    /// Tells the WAL checkpointer that commits happened.
    wal_written: mpsc::Sender<()>,
    /// New tree hashes for the tree file (SQLite).
    tree_appends: Option<mpsc::Sender<Appended>>,
}

/// Where one job's outcome goes, and the outcome as sequenced.
type Answer = (
    oneshot::Sender<Answered>,
    Result<Vec<Sequenced>, AppendError>,
);

/// A batch whose answers wait for its signed tree size to be recorded beside the key.
struct Finished {
    committed: Option<Arc<CommittedBatch>>,
    answers: Vec<Answer>,
    /// When the sequencer handed it over.
    handed_at: Instant,
}

impl Finished {
    /// Sends each job its outcome; if the signed size could not be recorded, jobs that
    /// appended are told to retry (their entries are committed, so a retry replays).
    fn answer(self, recorded: bool, metrics: &Metrics) {
        let sent_at = Instant::now();
        for (respond, result) in self.answers {
            metrics.record_append_stage(AppendStage::Recorded, sent_at - self.handed_at);
            let result = result.and_then(|items| {
                items
                    .into_iter()
                    .map(|item| match item {
                        Sequenced::New { seq, leaf_hash } => match (&self.committed, recorded) {
                            (Some(batch), true) => Ok(AppendOutcome::Appended {
                                seq,
                                leaf_hash,
                                batch: batch.clone(),
                            }),
                            _ => Err(AppendError::Unavailable(
                                "the log could not commit this write; retry with the same ids"
                                    .into(),
                            )),
                        },
                        Sequenced::Replayed { seq } => Ok(AppendOutcome::Replayed { seq }),
                    })
                    .collect()
            });
            // The client may have gone away; its entry is durable either way.
            let _ = respond.send(Answered { result, sent_at });
        }
    }
}

/// Records each committed batch's signed tree size beside the key (an fsync), then
/// answers its jobs. It runs beside the sequencer, so the next batch commits while this
/// one's size is recorded; batches that queued meanwhile share one record, since the
/// newest checkpoint extends every earlier one.
///
/// It blocks, on a thread of its own (from the runtime's blocking pool, for the life of
/// the sequencer). As a task on the shared runtime, each batch's answers waited twice
/// for a busy worker: to hand the record to a blocking thread and to take it back.
fn finish(mut batches: mpsc::Receiver<Finished>, out: Outputs) {
    let Outputs {
        store,
        signed_state,
        origin,
        metrics,
        wal_written,
        tree_appends,
    } = out;
    let mut done = Vec::with_capacity(MAX_UNANSWERED_BATCHES);
    while batches.blocking_recv_many(&mut done, MAX_UNANSWERED_BATCHES) > 0 {
        // The newest checkpoint extends every earlier one: record and publish it alone.
        let newest = done.iter().rev().find_map(|b| b.committed.clone());
        let recorded = match &newest {
            None => Ok(()),
            Some(newest) => {
                let tree = SignedTree {
                    size: newest.checkpoint.size,
                    root: newest.checkpoint.root,
                };
                signed_state.record(&origin, tree)
            }
        };
        if recorded.is_ok()
            && let Some(newest) = &newest
        {
            store.publish_checkpoint(&newest.checkpoint);
        }
        if let Err(e) = &recorded {
            metrics.record_failed_batch();
            tracing::error!(error = %format!("{e:#}"), "recording the signed tree size failed; the batch's writes were not acknowledged");
        }
        for batch in done.drain(..) {
            if let (Some(appends), Some(committed)) = (&tree_appends, &batch.committed) {
                // A full queue drops the batch; the follower copies it from the database.
                let _ = appends.try_send(Appended {
                    first: committed.hashes.first,
                    hashes: committed.hashes.created.clone(),
                });
            }
            batch.answer(recorded.is_ok(), &metrics);
        }
        // A checkpoint is already due if the channel is full.
        let _ = wal_written.try_send(());
    }
}

/// Checkpoints the WAL after commits, at most every [`WAL_CHECKPOINT_EVERY`], until the
/// finisher stops; then once more, so a stopped service leaves a short WAL.
async fn checkpoint_wal(store: Store, mut wal_written: mpsc::Receiver<()>) {
    while wal_written.recv().await.is_some() {
        if let Err(e) = store.checkpoint_wal().await {
            tracing::warn!(error = %e, "WAL checkpoint failed; the next one retries");
        }
        tokio::time::sleep(WAL_CHECKPOINT_EVERY).await;
    }
    if let Err(e) = store.checkpoint_wal().await {
        tracing::warn!(error = %e, "final WAL checkpoint failed");
    }
}

/// Everything a batch has decided so far, on top of the stored head.
struct BatchState<'a> {
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
        let derived = match rules::apply(&mut batch.ledger, &req.org, header.seq, &req.record) {
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

enum BatchFailure {
    HeadMoved,
    Store(StoreError),
    Signing(String),
}

impl BatchFailure {
    fn message(&self) -> String {
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
    use crate::log::merkle::stored_hash_count;

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
