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

/// A donor's receipt file (`GET …/donations/{id}/receipt`): the entry's exact bytes, one
/// LF, then its receipt. Canonical entries hold no raw LF, so the first LF ends the entry.
pub fn receipt_file(entry_bytes: &[u8], receipt: &Receipt) -> Vec<u8> {
    let mut out = entry_bytes.to_vec();
    out.push(b'\n');
    out.extend_from_slice(receipt.format().as_bytes());
    out
}

/// Splits a receipt file into the entry's bytes and its receipt.
///
/// # Errors
/// A file that is not an entry line followed by a receipt, saying which it looks like.
pub fn split_receipt_file(file: &[u8]) -> Result<(&[u8], Receipt), ReceiptError> {
    if file.starts_with(RECEIPT_HEADER.as_bytes()) {
        return Err(ReceiptError::Malformed(
            "this file is a receipt without its entry: give the entry's bytes with --entry, \
             or download the one-file receipt (GET /v1/orgs/{org}/donations/{id}/receipt)",
        ));
    }
    let at = file
        .iter()
        .position(|&b| b == b'\n')
        .ok_or(ReceiptError::Malformed(
            "no line after the entry: a receipt file is the entry, one LF, then the receipt",
        ))?;
    let rest = std::str::from_utf8(&file[at + 1..])
        .map_err(|_| ReceiptError::Malformed("the receipt after the entry is not UTF-8 text"))?;
    if !rest.starts_with(RECEIPT_HEADER) {
        return Err(ReceiptError::Malformed(
            "the line after the entry must be c2sp.org/tlog-proof@v1 (is the entry \
             pretty-printed over several lines?)",
        ));
    }
    Ok((&file[..at], Receipt::parse(rest)?))
}

/// Why `entry_bytes` are not entry `receipt.index` of the checkpoint's tree, in words a
/// donor can act on: a trailing newline, another form of the same JSON, another entry,
/// or bytes the log never held. Called once the proof failed.
pub fn explain_mismatch(entry_bytes: &[u8], receipt: &Receipt) -> String {
    let index = receipt.index;
    let trimmed = entry_bytes.trim_ascii_end();
    if trimmed.len() < entry_bytes.len() {
        return format!(
            "the entry file ends with a newline or spaces (jq -c and editors add one), \
             which are not part of entry {index}'s exact bytes: remove them, or use the \
             one-file receipt (GET /v1/orgs/{{org}}/donations/{{id}}/receipt)"
        );
    }
    match crate::canonical::parse_canonical(entry_bytes) {
        Err(crate::canonical::CanonicalError::NotCanonical { offset }) => format!(
            "the entry is not in the log's canonical form (it differs at byte {offset}: \
             pretty-printed or re-encoded?); a receipt proves the exact bytes the log \
             served (GET /v1/entries/{index})"
        ),
        Err(e) => format!("the entry file is not an entry: {e}"),
        Ok(fields) => match fields.get("seq").and_then(serde_json::Value::as_u64) {
            Some(seq) if seq != index => format!(
                "the entry file holds entry {seq}, but this receipt proves entry {index}: \
                 another entry's file"
            ),
            _ => format!(
                "the entry's bytes are not the ones the log holds as entry {index} (were \
                 they changed?)"
            ),
        },
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

        // One file: the entry, one LF, the receipt; and what is wrong when bytes differ.
        let file = receipt_file(&entries[3], &receipt);
        let (entry, from_file) = split_receipt_file(&file).unwrap();
        assert_eq!((entry, &from_file), (&entries[3][..], &receipt));
        assert!(split_receipt_file(text.as_bytes()).is_err());
        assert!(split_receipt_file(b"{\n  \"n\": 3\n}\nc2sp").is_err());
        let explain = |bytes: &[u8]| explain_mismatch(bytes, &receipt);
        assert!(explain(b"{\"n\":3}\n").contains("ends with a newline"));
        assert!(explain(b"{ \"n\": 3}").contains("not in the log's canonical form"));
        assert!(explain(b"{\"n\":4}").contains("not the ones the log holds as entry 3"));
        assert!(explain(b"{\"seq\":2}").contains("holds entry 2, but this receipt proves entry 3"));
    }
}
