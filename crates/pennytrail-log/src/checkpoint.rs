//! C2SP tlog-checkpoint bodies (`<origin>\n<size>\n<base64 root>\n`, no extension
//! lines) and their signing as signed notes whose key name is the log's origin.

use super::hash::Hash;
use super::note::{NoteError, NoteSigner, NoteVerifier};

/// Longest origin allowed by DESIGN.md.
pub const MAX_ORIGIN_LEN: usize = 128;

/// A log origin: ASCII `[A-Za-z0-9._/:-]{1,128}`.
pub fn is_valid_origin(origin: &str) -> bool {
    (1..=MAX_ORIGIN_LEN).contains(&origin.len())
        && origin
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._/:-".contains(&b))
}

/// Parses an ASCII decimal with no sign and no leading zeros (unless it is `0`), as
/// C2SP checkpoints and tlog-proofs write sizes and indexes: one number, one spelling.
pub fn parse_canonical_u64(text: &str) -> Option<u64> {
    let canonical = !text.is_empty()
        && text.len() <= 20
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    canonical.then(|| text.parse().ok()).flatten()
}

/// What is wrong with a checkpoint.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CheckpointError {
    #[error("checkpoint body must be exactly three lines: origin, size, base64 root")]
    Shape,
    #[error("checkpoint origin {found:?} is not the expected {expected:?}")]
    WrongOrigin { expected: String, found: String },
    #[error("checkpoint origin {0:?} is not a valid origin")]
    BadOrigin(String),
    #[error("checkpoint size {0:?} is not a decimal number without leading zeros")]
    BadSize(String),
    #[error("checkpoint root is not base64 of 32 bytes")]
    BadRoot,
    #[error(transparent)]
    Note(#[from] NoteError),
}

/// The statement a checkpoint makes: the log `origin` has `size` entries with `root`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub origin: String,
    pub size: u64,
    pub root: Hash,
}

impl Checkpoint {
    pub fn body(&self) -> String {
        format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            self.root.to_base64()
        )
    }

    /// Parses a checkpoint body strictly: three lines, canonical decimal size.
    pub fn parse_body(body: &str) -> Result<Checkpoint, CheckpointError> {
        let lines: Vec<&str> = body
            .strip_suffix('\n')
            .ok_or(CheckpointError::Shape)?
            .split('\n')
            .collect();
        let [origin, size, root] = lines[..] else {
            return Err(CheckpointError::Shape);
        };
        if !is_valid_origin(origin) {
            return Err(CheckpointError::BadOrigin(origin.to_string()));
        }
        let size_value =
            parse_canonical_u64(size).ok_or_else(|| CheckpointError::BadSize(size.to_string()))?;
        let root = Hash::from_base64(root).map_err(|_| CheckpointError::BadRoot)?;
        Ok(Checkpoint {
            origin: origin.to_string(),
            size: size_value,
            root,
        })
    }

    /// The signed note for this checkpoint.
    pub fn sign(&self, signer: &NoteSigner) -> Result<String, CheckpointError> {
        if signer.verifier().name() != self.origin {
            return Err(CheckpointError::WrongOrigin {
                expected: signer.verifier().name().to_string(),
                found: self.origin.clone(),
            });
        }
        Ok(signer.sign_note(&self.body())?)
    }

    /// Verifies a signed checkpoint against a pinned key whose name is the origin.
    pub fn open(note: &str, verifier: &NoteVerifier) -> Result<Checkpoint, CheckpointError> {
        let body = verifier.open(note)?;
        let checkpoint = Checkpoint::parse_body(body)?;
        if checkpoint.origin != verifier.name() {
            return Err(CheckpointError::WrongOrigin {
                expected: verifier.name().to_string(),
                found: checkpoint.origin,
            });
        }
        Ok(checkpoint)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::empty_root;

    #[test]
    fn sign_and_open() {
        let signer = NoteSigner::from_seed("example.org/log", [1; 32]).unwrap();
        let cp = Checkpoint {
            origin: "example.org/log".into(),
            size: 0,
            root: empty_root(),
        };
        let note = cp.sign(&signer).unwrap();
        assert!(note.starts_with("example.org/log\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n\n\u{2014} example.org/log "));
        assert_eq!(Checkpoint::open(&note, signer.verifier()).unwrap(), cp);
    }

    #[test]
    fn strict_body() {
        for bad in [
            "o\n01\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n",
            "o\n1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\next\n",
            "o\n1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
            "o\n-1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n",
            "o o\n1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n",
            "o\n1\nAAAA\n",
        ] {
            assert!(Checkpoint::parse_body(bad).is_err(), "{bad:?}");
        }
        assert!(is_valid_origin("charity.example.org/pennytrail"));
        assert!(!is_valid_origin(""));
        assert!(!is_valid_origin(&"a".repeat(129)));
    }
}
