//! The record stage: a committed batch's signed tree size is recorded beside the key (an
//! fsync), its checkpoint published, and only then are its writes answered. It runs
//! beside the sequencer, so the next batch commits meanwhile.

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::{mpsc, oneshot};

use super::commit::CommittedBatch;
use super::{
    Answered, AppendError, AppendOutcome, MAX_UNANSWERED_BATCHES, Sequenced, WAL_CHECKPOINT_EVERY,
};
use crate::keys::{SignedState, SignedTree};
use crate::metrics::{AppendStage, Metrics};
use crate::store::{Appended, Store};

/// Where the finisher sends what a committed batch produced.
pub(super) struct Outputs {
    pub(super) store: Store,
    pub(super) signed_state: SignedState,
    pub(super) origin: String,
    pub(super) metrics: Arc<Metrics>,
    /// Tells the WAL checkpointer that commits happened.
    pub(super) wal_written: mpsc::Sender<()>,
    /// New tree hashes for the tree file (SQLite).
    pub(super) tree_appends: Option<mpsc::Sender<Appended>>,
}

/// Where one job's outcome goes, and the outcome as sequenced.
pub(super) type Answer = (
    oneshot::Sender<Answered>,
    Result<Vec<Sequenced>, AppendError>,
);

/// A batch whose answers wait for its signed tree size to be recorded beside the key.
pub(super) struct Finished {
    pub(super) committed: Option<Arc<CommittedBatch>>,
    pub(super) answers: Vec<Answer>,
    /// When the sequencer handed it over.
    pub(super) handed_at: Instant,
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
pub(super) fn finish(mut batches: mpsc::Receiver<Finished>, out: Outputs) {
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
pub(super) async fn checkpoint_wal(store: Store, mut wal_written: mpsc::Receiver<()>) {
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
