//! The monitor's look at the witnesses (C2SP tlog-witness, "Monitor Retrieval
//! Mechanism"): each witness of the pinned policy serves the latest checkpoint of the log
//! it cosigned at `<prefix>/<sha256 hex of the origin>/checkpoint`. A monitor that sees
//! the same history as the witnesses is not being shown a split view; one that sees a
//! checkpoint inconsistent with a witness's has caught one.

use pennytrail_log::checkpoint::Checkpoint;
use pennytrail_log::cosignature::CosignerKey;
use pennytrail_log::hash::sha256;
use pennytrail_log::merkle::verify_consistency;
use pennytrail_log::note::{MAX_NOTE_BYTES, NoteVerifier};

use crate::monitor::{Fetch, MonitorError, consistency_proof};

/// How one witness's view of the log compares with the checkpoint the monitor verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WitnessView {
    /// It cosigned this very checkpoint.
    Same,
    /// It cosigned an earlier or later checkpoint, which a consistency proof from the log
    /// joins to this one.
    Consistent { size: u64 },
    /// It cosigned another size, and the log was read where no consistency proof can be
    /// asked (a static tile copy): not compared.
    NotCompared { size: u64 },
    /// It has not cosigned this log.
    NotSeen,
    /// It could not be asked, or answered something unusable (not a split view: a
    /// witness that is down or misconfigured).
    Unavailable(String),
}

/// A witness showing a checkpoint of this log that cannot be the same history: a split
/// view, signed with the log's key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "SPLIT VIEW: witness {witness} cosigned the log at size {witness_size}, which is not the history served here (size {size}): {reason}"
)]
pub struct SplitView {
    pub witness: String,
    pub witness_size: u64,
    pub size: u64,
    pub reason: String,
}

/// Compares `checkpoint` (verified with `log`) with what `witness` (named `name`, key
/// `key`) serves of the log; `instance`, when it is a service, gives the consistency
/// proofs.
///
/// # Errors
/// [`SplitView`] when the witness's checkpoint and this one cannot both be true.
pub fn compare(
    instance: Option<&impl Fetch>,
    witness: &impl Fetch,
    name: &str,
    key: &CosignerKey,
    log: &NoteVerifier,
    checkpoint: &Checkpoint,
) -> Result<WitnessView, SplitView> {
    let path = format!(
        "/{}/checkpoint",
        sha256(checkpoint.origin.as_bytes()).to_hex()
    );
    let note = match witness.get(&path, MAX_NOTE_BYTES) {
        Ok(note) => note,
        Err(MonitorError::Status { status: 404, .. }) => return Ok(WitnessView::NotSeen),
        Err(error) => return Ok(WitnessView::Unavailable(error.to_string())),
    };
    let unusable = |reason: &str| {
        Ok(WitnessView::Unavailable(format!(
            "{}: {reason}",
            witness.url(&path)
        )))
    };
    let Ok(note) = String::from_utf8(note) else {
        return unusable("not UTF-8");
    };
    let theirs = match Checkpoint::open(&note, log) {
        Ok(theirs) => theirs,
        Err(error) => return unusable(&format!("not a checkpoint of this log: {error}")),
    };
    if !matches!(key.cosigned_at(&note), Ok(Some(_))) {
        return unusable("the checkpoint does not carry the witness's own cosignature");
    }
    let split = |reason: String| SplitView {
        witness: name.to_string(),
        witness_size: theirs.size,
        size: checkpoint.size,
        reason,
    };
    if theirs.size == checkpoint.size {
        return if theirs.root == checkpoint.root {
            Ok(WitnessView::Same)
        } else {
            Err(split("two different roots for the same size".into()))
        };
    }
    let Some(instance) = instance else {
        return Ok(WitnessView::NotCompared { size: theirs.size });
    };
    let (old, new) = if theirs.size < checkpoint.size {
        (&theirs, checkpoint)
    } else {
        (checkpoint, &theirs)
    };
    let (proof, proof_url) = match consistency_proof(instance, old.size, new.size) {
        Ok(Ok(proof)) => proof,
        Ok(Err(refusal)) => return Err(split(refusal)),
        Err(error) => return Ok(WitnessView::Unavailable(error.to_string())),
    };
    verify_consistency(&proof, old.size, &old.root, new.size, &new.root)
        .map_err(|e| split(format!("the consistency proof from {proof_url} fails: {e}")))?;
    Ok(WitnessView::Consistent { size: theirs.size })
}
