//! The rules of C2SP tlog-witness `add-checkpoint` (`../shared/standards/c2sp/tlog-witness.md`),
//! with no I/O: parsing a request body, and deciding, against what a witness last
//! cosigned for the log, whether to cosign or which status to answer. The witness
//! service keeps the state and makes the check-and-update atomic.

use crate::checkpoint::Checkpoint;
use crate::hash::{Hash, empty_root};
use crate::merkle::verify_consistency;
use crate::note::{NoteError, NoteVerifier, split_note};

/// Most consistency proof lines a request may carry.
pub const MAX_PROOF_LINES: usize = 63;
/// Largest request body: the size line, 63 proof lines of 45 bytes, and a note.
pub const MAX_REQUEST_BYTES: usize = 16 + MAX_PROOF_LINES * 45 + crate::note::MAX_NOTE_BYTES;
/// Content type of a 409's body.
pub const SIZE_CONTENT_TYPE: &str = "text/x.tlog.size";

/// A parsed `add-checkpoint` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddCheckpoint<'a> {
    pub old_size: u64,
    pub proof: Vec<Hash>,
    /// The signed checkpoint note, verbatim.
    pub note: &'a str,
}

/// Why a witness does not cosign, as the status the spec names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// 400: the request is malformed, or the old size is above the checkpoint's.
    #[error("{0}")]
    BadRequest(String),
    /// 403: no valid signature by a key the witness trusts for the origin.
    #[error("{0}")]
    Forbidden(String),
    /// 404: the witness does not witness this origin.
    #[error("this witness does not witness the log {0:?}")]
    UnknownLog(String),
    /// 409: the old size is not the size last cosigned (the body says which).
    #[error("the old size {old_size} is not {cosigned}, the size this witness last cosigned")]
    Conflict { old_size: u64, cosigned: u64 },
    /// 422: the checkpoint is not consistent with what the witness cosigned.
    #[error("{0}")]
    Inconsistent(String),
}

impl Refusal {
    pub fn status(&self) -> u16 {
        match self {
            Refusal::BadRequest(_) => 400,
            Refusal::Forbidden(_) => 403,
            Refusal::UnknownLog(_) => 404,
            Refusal::Conflict { .. } => 409,
            Refusal::Inconsistent(_) => 422,
        }
    }
}

/// Parses a request body: `old <size>\n`, up to 63 base64 hash lines, an empty line, the
/// checkpoint.
///
/// # Errors
/// [`Refusal::BadRequest`] saying what is wrong.
pub fn parse_request(body: &str) -> Result<AddCheckpoint<'_>, Refusal> {
    let bad = |what: &str| Refusal::BadRequest(what.to_string());
    if body.len() > MAX_REQUEST_BYTES {
        return Err(bad("the request body is too large"));
    }
    let (first, mut rest) = body
        .split_once('\n')
        .ok_or_else(|| bad("the body must start with a line `old <size>`"))?;
    let old_size = first
        .strip_prefix("old ")
        .and_then(crate::checkpoint::parse_canonical_u64)
        .ok_or_else(|| {
            bad("the first line must be `old <size>` in decimal without leading zeros")
        })?;
    let mut proof = Vec::new();
    loop {
        let (line, tail) = rest
            .split_once('\n')
            .ok_or_else(|| bad("an empty line must end the consistency proof"))?;
        rest = tail;
        if line.is_empty() {
            break;
        }
        if proof.len() == MAX_PROOF_LINES {
            return Err(bad("more than 63 consistency proof lines"));
        }
        proof.push(
            Hash::from_base64(line)
                .map_err(|_| bad("a consistency proof line is not base64 of 32 bytes"))?,
        );
    }
    Ok(AddCheckpoint {
        old_size,
        proof,
        note: rest,
    })
}

/// Checks the checkpoint's signature by the log's key (`log`, found by its origin) and
/// returns the checkpoint, its text, and the log's own signature lines (which a
/// witness keeps beside its cosignature).
///
/// # Errors
/// 400 for a malformed note or checkpoint, 403 for a missing or bad log signature.
pub fn open_checkpoint<'a>(
    note: &'a str,
    log: &NoteVerifier,
) -> Result<(Checkpoint, &'a str), Refusal> {
    let text = log.open(note).map_err(|e| match e {
        NoteError::NotSignedByKey { .. } | NoteError::InvalidSignature { .. } => {
            Refusal::Forbidden(format!(
                "the checkpoint is not validly signed by the log: {e}"
            ))
        }
        other => Refusal::BadRequest(format!("the checkpoint is not a signed note: {other}")),
    })?;
    let checkpoint = Checkpoint::parse_body(text)
        .map_err(|e| Refusal::BadRequest(format!("the checkpoint: {e}")))?;
    Ok((checkpoint, text))
}

/// The origin a note names (its first line), to find the log's key before verifying.
///
/// # Errors
/// 400 when the note has no first line.
pub fn origin_of(note: &str) -> Result<&str, Refusal> {
    let (text, _) = split_note(note)
        .map_err(|e| Refusal::BadRequest(format!("the checkpoint is not a signed note: {e}")))?;
    text.split_once('\n')
        .map(|(origin, _)| origin)
        .filter(|o| !o.is_empty())
        .ok_or_else(|| Refusal::BadRequest("the checkpoint has no origin line".into()))
}

/// Decides against what the witness last cosigned for this origin (`cosigned`: size and
/// root; `None` if never): `Ok` means cosign and record the checkpoint.
///
/// # Errors
/// 400 for an old size above the checkpoint's, 409 for an old size that is not the
/// cosigned one, 422 for a checkpoint inconsistent with it.
pub fn decide(
    request: &AddCheckpoint<'_>,
    checkpoint: &Checkpoint,
    cosigned: Option<(u64, Hash)>,
) -> Result<(), Refusal> {
    if request.old_size > checkpoint.size {
        return Err(Refusal::BadRequest(format!(
            "the old size {} is above the checkpoint's size {}",
            request.old_size, checkpoint.size
        )));
    }
    let (cosigned_size, cosigned_root) = cosigned.unwrap_or((0, empty_root()));
    if request.old_size != cosigned_size {
        return Err(Refusal::Conflict {
            old_size: request.old_size,
            cosigned: cosigned_size,
        });
    }
    if checkpoint.size == 0 && checkpoint.root != empty_root() {
        return Err(Refusal::Inconsistent(
            "a checkpoint of size 0 must have the empty tree's root".into(),
        ));
    }
    if request.old_size == 0 {
        if !request.proof.is_empty() {
            return Err(Refusal::Inconsistent(
                "from size 0 the consistency proof must be empty".into(),
            ));
        }
        return Ok(());
    }
    if request.old_size == checkpoint.size {
        if checkpoint.root != cosigned_root {
            return Err(Refusal::Inconsistent(format!(
                "the root for size {} is not the root this witness cosigned for that size",
                checkpoint.size
            )));
        }
        return Ok(());
    }
    verify_consistency(
        &request.proof,
        request.old_size,
        &cosigned_root,
        checkpoint.size,
        &checkpoint.root,
    )
    .map_err(|e| {
        Refusal::Inconsistent(format!(
            "the consistency proof from {} to {} does not verify: {e}",
            request.old_size, checkpoint.size
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::leaf_hash;
    use crate::merkle::tests::{MemoryTree, reference_root};
    use crate::merkle::{consistency_proof, consistency_proof_indexes};
    use crate::note::NoteSigner;

    fn signed(log: &NoteSigner, size: u64, root: Hash) -> String {
        log.sign_note(
            &Checkpoint {
                origin: "example.com/log".into(),
                size,
                root,
            }
            .body(),
        )
        .unwrap()
    }

    fn body(old: u64, proof: &[Hash], note: &str) -> String {
        let mut text = format!("old {old}\n");
        for hash in proof {
            text.push_str(&hash.to_base64());
            text.push('\n');
        }
        format!("{text}\n{note}")
    }

    #[test]
    fn requests_are_decided_as_the_spec_says() {
        let log = NoteSigner::from_seed("example.com/log", [7; 32]).unwrap();
        let mut tree = MemoryTree::new();
        let leaves: Vec<Hash> = (0..20u8).map(|i| leaf_hash(&[i])).collect();
        for leaf in &leaves {
            tree.push(*leaf);
        }
        let root = |n: usize| reference_root(&leaves[..n]);
        let proof = |old: u64, new: u64| {
            consistency_proof(
                old,
                new,
                &tree.read(&consistency_proof_indexes(old, new).unwrap()),
            )
            .unwrap()
        };
        let decide_body = |text: &str, cosigned: Option<(u64, Hash)>| -> Result<(), Refusal> {
            let request = parse_request(text)?;
            assert_eq!(origin_of(request.note)?, "example.com/log");
            let (checkpoint, _) = open_checkpoint(request.note, log.verifier())?;
            decide(&request, &checkpoint, cosigned)
        };
        let note10 = signed(&log, 10, root(10));
        // First contact: old 0, no proof.
        assert_eq!(decide_body(&body(0, &[], &note10), None), Ok(()));
        assert_eq!(
            decide_body(&body(0, &[root(1)], &note10), None)
                .unwrap_err()
                .status(),
            422
        );
        // Growth with a proof; the same size again; a conflict; a bad proof; a fork.
        let note15 = signed(&log, 15, root(15));
        let cosigned = Some((10, root(10)));
        assert_eq!(
            decide_body(&body(10, &proof(10, 15), &note15), cosigned),
            Ok(())
        );
        assert_eq!(decide_body(&body(10, &[], &note10), cosigned), Ok(()));
        assert_eq!(
            decide_body(&body(5, &proof(5, 15), &note15), cosigned),
            Err(Refusal::Conflict {
                old_size: 5,
                cosigned: 10
            })
        );
        assert_eq!(
            decide_body(&body(10, &proof(9, 15), &note15), cosigned)
                .unwrap_err()
                .status(),
            422
        );
        let fork10 = signed(&log, 10, root(9));
        assert_eq!(
            decide_body(&body(10, &[], &fork10), cosigned)
                .unwrap_err()
                .status(),
            422
        );
        assert_eq!(
            decide_body(&body(16, &[], &note15), cosigned)
                .unwrap_err()
                .status(),
            400
        );
        // Size 0 must have the empty root.
        assert_eq!(
            decide_body(&body(0, &[], &signed(&log, 0, root(1))), None)
                .unwrap_err()
                .status(),
            422
        );
        assert_eq!(
            decide_body(&body(0, &[], &signed(&log, 0, empty_root())), None),
            Ok(())
        );
        // Signatures: another key is 403; a tampered signature is 403.
        let other = NoteSigner::from_seed("example.com/log", [8; 32]).unwrap();
        assert_eq!(
            decide_body(&body(0, &[], &signed(&other, 10, root(10))), None)
                .unwrap_err()
                .status(),
            403
        );
        let tampered = note10.replacen("\n10\n", "\n11\n", 1);
        assert_eq!(
            decide_body(&body(0, &[], &tampered), None)
                .unwrap_err()
                .status(),
            403
        );
        // Malformed bodies are 400.
        for bad in [
            String::new(),
            "old 01\n\n".to_string() + &note10,
            "old 1".to_string(),
            "old 1\nnot-base64\n\n".to_string() + &note10,
            format!("old 1\n{}\n", root(1).to_base64()),
            body(1, &vec![root(1); 64], &note10),
            "old 0\n\nno signatures\n".to_string(),
        ] {
            let result = parse_request(&bad)
                .and_then(|r| open_checkpoint(r.note, log.verifier()).map(|_| ()));
            assert_eq!(result.unwrap_err().status(), 400, "{bad:?}");
        }
    }
}
