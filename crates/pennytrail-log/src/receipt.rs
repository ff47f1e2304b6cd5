//! C2SP tlog-proof receipts (`c2sp.org/tlog-proof@v1`): an entry's index, its RFC 6962
//! inclusion proof and the signed checkpoint the proof leads to, as one text a donor can
//! keep and check offline.
//!
//! ```text
//! c2sp.org/tlog-proof@v1
//! [extra <base64>]            (optional, unauthenticated; we never write it)
//! index <decimal>
//! <base64 hash>               (zero or more, leaf's sibling first)
//!
//! <signed checkpoint, verbatim>
//! ```

use super::checkpoint::{Checkpoint, CheckpointError, parse_canonical_u64};
use super::hash::{Hash, leaf_hash};
use super::merkle::{MerkleError, verify_inclusion};
use super::note::NoteVerifier;

/// First line of every receipt.
pub const RECEIPT_HEADER: &str = "c2sp.org/tlog-proof@v1";

/// Most proof hashes a receipt may hold: a tree of 2^63 leaves needs 63.
pub const MAX_PROOF_HASHES: usize = 64;

/// What is wrong with a receipt.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReceiptError {
    #[error("receipt: {0}")]
    Malformed(&'static str),
    #[error("receipt proof line {line} is not a base64 SHA-256 hash")]
    BadHash { line: usize },
    #[error("receipt checkpoint: {0}")]
    Checkpoint(#[from] CheckpointError),
    #[error("receipt proof: {0}")]
    Proof(#[from] MerkleError),
}

/// A parsed receipt. The checkpoint note is kept verbatim; it is only trusted after
/// [`Receipt::verify`] opens it with a pinned key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    pub index: u64,
    pub proof: Vec<Hash>,
    pub checkpoint_note: String,
}

impl Receipt {
    pub fn format(&self) -> String {
        let mut out = format!("{RECEIPT_HEADER}\nindex {}\n", self.index);
        for hash in &self.proof {
            out.push_str(&hash.to_base64());
            out.push('\n');
        }
        out.push('\n');
        out.push_str(&self.checkpoint_note);
        out
    }

    pub fn parse(text: &str) -> Result<Receipt, ReceiptError> {
        let (head, note) = text.split_once("\n\n").ok_or(ReceiptError::Malformed(
            "no blank line before the checkpoint",
        ))?;
        if head.contains('\r') {
            return Err(ReceiptError::Malformed("carriage return in proof"));
        }
        let mut lines = head.split('\n').enumerate().peekable();
        if lines.next().map(|(_, l)| l) != Some(RECEIPT_HEADER) {
            return Err(ReceiptError::Malformed(
                "first line must be c2sp.org/tlog-proof@v1",
            ));
        }
        if lines.peek().is_some_and(|(_, l)| l.starts_with("extra ")) {
            lines.next();
        }
        let index_text = lines
            .next()
            .and_then(|(_, l)| l.strip_prefix("index "))
            .ok_or(ReceiptError::Malformed("expected an index line"))?;
        let index = parse_canonical_u64(index_text).ok_or(ReceiptError::Malformed(
            "index must be a decimal without leading zeros",
        ))?;
        let mut proof = Vec::new();
        for (line_no, line) in lines {
            if proof.len() == MAX_PROOF_HASHES {
                return Err(ReceiptError::Malformed("too many proof hashes"));
            }
            proof.push(
                Hash::from_base64(line).map_err(|_| ReceiptError::BadHash { line: line_no + 1 })?,
            );
        }
        Ok(Receipt {
            index,
            proof,
            checkpoint_note: note.to_string(),
        })
    }

    /// Checks that `entry_bytes` is entry `index` of the log whose checkpoint this receipt
    /// carries, signed by `verifier`. Returns the checkpoint on success.
    pub fn verify(
        &self,
        entry_bytes: &[u8],
        verifier: &NoteVerifier,
    ) -> Result<Checkpoint, ReceiptError> {
        let checkpoint = Checkpoint::open(&self.checkpoint_note, verifier)?;
        verify_inclusion(
            &self.proof,
            checkpoint.size,
            &checkpoint.root,
            self.index,
            &leaf_hash(entry_bytes),
        )?;
        Ok(checkpoint)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::tests::MemoryTree;
    use crate::merkle::{inclusion_proof, inclusion_proof_indexes};
    use crate::note::NoteSigner;

    #[test]
    fn round_trip_and_verify() {
        let signer = NoteSigner::from_seed("example.org/log", [3; 32]).unwrap();
        let mut tree = MemoryTree::new();
        let entries: Vec<Vec<u8>> = (0..5)
            .map(|i| format!("{{\"n\":{i}}}").into_bytes())
            .collect();
        for e in &entries {
            tree.push(leaf_hash(e));
        }
        let checkpoint = Checkpoint {
            origin: "example.org/log".into(),
            size: 5,
            root: tree.frontier.root(),
        };
        let note = checkpoint.sign(&signer).unwrap();
        let proof =
            inclusion_proof(5, 3, &tree.read(&inclusion_proof_indexes(5, 3).unwrap())).unwrap();
        let receipt = Receipt {
            index: 3,
            proof,
            checkpoint_note: note,
        };
        let text = receipt.format();
        let parsed = Receipt::parse(&text).unwrap();
        assert_eq!(parsed, receipt);
        assert_eq!(
            parsed.verify(&entries[3], signer.verifier()).unwrap(),
            checkpoint
        );
        assert!(parsed.verify(&entries[2], signer.verifier()).is_err());
        let with_extra = text.replacen("index", "extra AAAA\nindex", 1);
        assert_eq!(Receipt::parse(&with_extra).unwrap(), receipt);
        for bad in [
            text.replacen("index 3", "index 03", 1),
            text.replacen("@v1", "@v2", 1),
            text.replace('\n', "\r\n"),
            text.replacen("\n\n", "\n", 1),
        ] {
            assert!(
                Receipt::parse(&bad)
                    .and_then(|r| r.verify(&entries[3], signer.verifier()))
                    .is_err()
            );
        }
    }
}
