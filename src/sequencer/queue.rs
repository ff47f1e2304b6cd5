//! The queue stage: requests wait here until the sequencer takes every job queued, up
//! to a batch's worth, at once (group commit).

use std::time::Instant;

use tokio::sync::mpsc;

use super::{AppendError, Job, MAX_BATCH_ENTRIES, Sequenced};
use crate::metrics::{AppendStage, Metrics};

/// One job being worked on within a batch.
pub(super) struct Pending {
    pub(super) job: Job,
    /// When a batch took it from the queue.
    pub(super) taken_at: Instant,
    pub(super) result: Option<Result<Vec<Sequenced>, AppendError>>,
}

/// Waits for a job, then takes every job already queued, up to a batch's worth.
pub(super) async fn next_jobs(
    receiver: &mut mpsc::Receiver<Job>,
    metrics: &Metrics,
) -> Option<Vec<Pending>> {
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
