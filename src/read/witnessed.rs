//! Witnessed checkpoints (`serve --witness-policy`): the latest checkpoint whose recorded
//! cosignatures meet the policy's quorum, and which checkpoint a view's receipts are
//! proved against. A receipt against a witnessed checkpoint carries the cosignatures, so
//! it is the same for everyone who checks it with the policy.

use serde::Serialize;

use crate::log::policy::Policy;
use crate::store::{CosignedCheckpoint, Store, StoreResult, StoredCheckpoint};

/// Cosigned checkpoints looked at, largest first, when finding the latest that meets the
/// quorum. Only checkpoints with at least [`Policy::fewest_cosigners`] cosignatures are
/// candidates, so a witness that cosigns alone while another is down does not push the
/// witnessed ones out of reach.
const CANDIDATES: u64 = 64;

/// Seconds a client is asked to wait (`Retry-After`) for a witnessed checkpoint: about two
/// rounds of the collector.
pub const RETRY_AFTER_S: u64 = 2;

/// The latest checkpoint of size at least `min_size` whose recorded cosignatures meet
/// `policy`'s quorum, as a note carrying them; `None` while none does.
///
/// # Errors
/// A store failure.
pub async fn latest_witnessed(
    store: &Store,
    policy: &Policy,
    min_size: u64,
) -> StoreResult<Option<CosignedCheckpoint>> {
    let candidates = store
        .cosigned_checkpoints(min_size, policy.fewest_cosigners(), CANDIDATES)
        .await?;
    for candidate in candidates {
        let cosigned = policy.cosigners(&candidate.note()).unwrap_or_default();
        if policy.quorum_met(&cosigned) {
            return Ok(Some(candidate));
        }
    }
    Ok(None)
}

/// The stored checkpoint of `size`, carrying its cosignatures, when they meet `policy`'s
/// quorum; `None` when it is not stored or not witnessed.
///
/// # Errors
/// A store failure.
pub async fn witnessed_at(
    store: &Store,
    policy: &Policy,
    size: u64,
) -> StoreResult<Option<CosignedCheckpoint>> {
    Ok(store
        .cosigned_checkpoint_at(size)
        .await?
        .filter(|candidate| {
            policy
                .cosigners(&candidate.note())
                .is_ok_and(|cosigned| policy.quorum_met(&cosigned))
        }))
}

/// Which checkpoint a view's receipts prove inclusion in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ReceiptsCheckpoint {
    /// The checkpoint's tree size.
    pub size: u64,
    /// Whether it carries cosignatures meeting the log's witness policy. False on a log
    /// without one, and while no witnessed checkpoint includes every entry of the view
    /// (its receipts then carry the log's signature alone).
    pub witnessed: bool,
}

/// The checkpoint to prove entries up to `highest_seq` against: on a witnessed log the
/// latest witnessed checkpoint when it includes them, otherwise the latest checkpoint.
///
/// # Errors
/// A store failure.
pub async fn receipts_checkpoint(
    store: &Store,
    policy: Option<&Policy>,
    highest_seq: u64,
) -> StoreResult<(StoredCheckpoint, ReceiptsCheckpoint)> {
    if let Some(policy) = policy
        && let Some(witnessed) = latest_witnessed(store, policy, highest_seq + 1).await?
    {
        let checkpoint = witnessed.into_stored();
        let size = checkpoint.size;
        return Ok((
            checkpoint,
            ReceiptsCheckpoint {
                size,
                witnessed: true,
            },
        ));
    }
    let checkpoint = store.latest_checkpoint().await?;
    let size = checkpoint.size;
    Ok((
        checkpoint,
        ReceiptsCheckpoint {
            size,
            witnessed: false,
        },
    ))
}
