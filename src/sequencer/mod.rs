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

use tokio::sync::{mpsc, oneshot, watch};

mod commit;
mod finish;
mod queue;
mod sequence;
mod task;
mod writes;

pub use commit::CommittedBatch;
pub use task::SequencerTask;

use finish::{Outputs, checkpoint_wal, finish};

use crate::keys::SignedState;
use crate::ledger::records::{Record, RecordKey};
use crate::ledger::rules::RuleViolation;
use crate::ledger::state::LedgerMemory;
use crate::log::entry::EntryError;
use crate::log::hash::Hash;
use crate::log::merkle::{Frontier, stored_hash_count};
use crate::log::note::NoteSigner;
use crate::log::time::UnixMillis;
use crate::metrics::{AppendStage, Metrics};
use crate::store::{MAX_PENDING_APPENDS, Store, StoreError, follow_tree_file};

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
pub(super) const MAX_CACHED_STATE_KEYS: usize = 100_000;

/// Committed batches waiting for their signed size to be recorded and their answers to
/// go out. The sequencer commits the next batch meanwhile; a few cover an fsync stall.
pub(super) const MAX_UNANSWERED_BATCHES: usize = 16;

/// Smallest batch that is sequenced while the one before it commits. Sequencing a
/// large batch takes about as long as writing it, so overlapping the two raises the
/// rate; small batches pipelined only get smaller, and each pays a commit, so below this
/// size they are not pipelined (docs/decisions.md, "Tuning").
pub(super) const MIN_PIPELINED_ENTRIES: usize = 256;

/// Least time between two WAL checkpoints while appends go on (SQLite). Each copies
/// what was committed since the last: 100 ms at 10,000 entries/s is ~1,000 entries, a
/// few MB, so the WAL stays small without a checkpoint after every commit.
pub(super) const WAL_CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(100);

/// How often a batch is retried after another process moved the head under it. Each
/// retry reloads the head, so more than a few means something else is wrong.
pub(super) const MAX_HEAD_RETRIES: usize = 3;

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

pub(super) type JobResult = Result<Vec<AppendOutcome>, AppendError>;

/// A job's items as sequenced, before the batch's checkpoint exists.
pub(super) enum Sequenced {
    New { seq: u64, leaf_hash: Hash },
    Replayed { seq: u64 },
}

pub(super) struct Job {
    pub(super) items: Vec<AppendRequest>,
    pub(super) respond: oneshot::Sender<Answered>,
    /// When its request handed it to the queue.
    pub(super) queued_at: Instant,
}

/// A job's outcome, and when the finisher sent it.
pub(super) struct Answered {
    pub(super) result: JobResult,
    pub(super) sent_at: Instant,
}

/// A handle to the sequencer task; cloning shares the one queue.
#[derive(Clone)]
pub struct Sequencer {
    queue: mpsc::Sender<Job>,
    metrics: Arc<Metrics>,
    health: WriterHealth,
}

/// Faults to inject into the writer, for tests of what the service does when its writer
/// dies. `pennytrail serve` never sets any.
#[derive(Debug, Clone, Copy, Default)]
pub struct Faults {
    /// Panic when taking the batch with this number (the first batch is 1).
    pub panic_at_batch: Option<u64>,
}

/// Whether the writer is still running. It stops unexpectedly only by panicking, or by
/// ending its loop while requests could still queue; either way every later write
/// would be refused, so readiness fails and the service stops (see `app::start`).
#[derive(Clone)]
pub struct WriterHealth(watch::Receiver<Option<Arc<str>>>);

impl WriterHealth {
    /// Why the writer stopped, if it did.
    pub fn stopped(&self) -> Option<Arc<str>> {
        self.0.borrow().clone()
    }

    /// Waits until the writer stops unexpectedly; never returns while it runs, nor when
    /// it ends normally (at shutdown).
    pub async fn until_stopped(mut self) -> Arc<str> {
        loop {
            if let Some(reason) = self.0.borrow_and_update().clone() {
                return reason;
            }
            if self.0.changed().await.is_err() {
                return std::future::pending().await;
            }
        }
    }
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

    /// The writer's health, to watch without keeping the queue open.
    pub fn health(&self) -> WriterHealth {
        self.health.clone()
    }

    /// Why the writer stopped, if it did: known the moment its queue closes under this
    /// handle, with the reason once the sequencer's supervisor has it.
    pub fn stopped(&self) -> Option<Arc<str>> {
        self.health.stopped().or_else(|| {
            self.queue
                .is_closed()
                .then(|| Arc::from("the writer (sequencer) stopped"))
        })
    }
}

/// Starts the sequencer; it runs until every [`Sequencer`] handle is dropped and the
/// queue is drained, then the returned task finishes. If it stops before that, its
/// [`WriterHealth`] says why.
pub async fn start(
    store: Store,
    signer: Arc<NoteSigner>,
    signed_state: SignedState,
    metrics: Arc<Metrics>,
    faults: Faults,
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
        faults,
        batches: 0,
    };
    let sequencer = if task.store.may_share_writers() {
        let run = tokio::spawn(task.run(receiver));
        tokio::spawn(async move { run.await.map_err(|e| format!("it failed: {e}")) })
    } else {
        run_on_own_thread(task, receiver)?
    };
    let (stopped, health) = watch::channel(None);
    // Only the handles keep the queue open: this one tells a loop that ended while they
    // still could queue (a fault) from one that ended because they were all dropped.
    let handles = queue.downgrade();
    let handle = tokio::spawn(async move {
        // The task owns the finisher's sender: when it ends, the finisher drains and ends.
        let failure = match sequencer.await {
            Ok(Ok(())) if handles.upgrade().is_none() => None,
            Ok(Ok(())) => Some("its loop ended while requests could still queue".to_string()),
            Ok(Err(reason)) => Some(reason),
            Err(e) => Some(format!("it failed: {e}")),
        };
        if let Some(reason) = failure {
            let reason = format!("the writer (sequencer) stopped: {reason}");
            tracing::error!(error = %reason, "every write is now refused; readiness fails and the service stops so that a supervisor restarts it");
            stopped.send_replace(Some(Arc::from(reason)));
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
            health: WriterHealth(health),
        },
        handle,
    ))
}

/// Runs the sequencer on a thread of its own (SQLite, whose connections each have their
/// own thread and no socket on a runtime). Each batch waits on SQLite twice, and on the
/// shared runtime every wake-up queued behind the HTTP tasks (docs/decisions.md,
/// "Tuning").
fn run_on_own_thread(
    task: SequencerTask,
    receiver: mpsc::Receiver<Job>,
) -> Result<tokio::task::JoinHandle<Result<(), String>>, StoreError> {
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
        on_stop.await.map_err(|_| {
            "its thread stopped before its queue was drained (it panicked)".to_string()
        })
    }))
}
