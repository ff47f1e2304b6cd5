//! SHA-256 hashes as RFC 6962 §2.1 defines them for a Merkle tree.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use sha2::{Digest, Sha256};

/// Length in bytes of every hash on the log.
pub const HASH_LEN: usize = 32;

/// One SHA-256 output: a leaf hash, an interior node hash or a tree root.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Hash(pub [u8; HASH_LEN]);

/// Why a hash could not be read from text or bytes.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum HashParseError {
    #[error("expected 64 lowercase hex digits")]
    BadHex,
    #[error("expected base64 of exactly 32 bytes")]
    BadBase64,
    #[error("expected exactly 32 bytes, got {0}")]
    BadLength(usize),
}

impl Hash {
    /// The `prev` of entry 0: 32 zero bytes.
    pub const ZERO: Hash = Hash([0; HASH_LEN]);

    pub fn from_slice(bytes: &[u8]) -> Result<Hash, HashParseError> {
        let array: [u8; HASH_LEN] = bytes
            .try_into()
            .map_err(|_| HashParseError::BadLength(bytes.len()))?;
        Ok(Hash(array))
    }

    /// Lowercase hex, as entries carry it in `prev`.
    /// (Digit by digit from a table: `hex::encode` collects an iterator of chars, which
    /// showed in profiles of the server under single donations.)
    pub fn to_hex(&self) -> String {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut out = String::with_capacity(2 * HASH_LEN);
        for byte in self.0 {
            out.push(char::from(DIGITS[usize::from(byte >> 4)]));
            out.push(char::from(DIGITS[usize::from(byte & 0xf)]));
        }
        out
    }

    /// Parses exactly 64 lowercase hex digits (uppercase is refused so that one hash has
    /// one spelling, which keeps canonical entries canonical).
    pub fn from_hex(text: &str) -> Result<Hash, HashParseError> {
        if text.len() != 2 * HASH_LEN
            || !text
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(HashParseError::BadHex);
        }
        let bytes = hex::decode(text).map_err(|_| HashParseError::BadHex)?;
        Hash::from_slice(&bytes)
    }

    /// Standard base64 with padding, as checkpoints and proofs carry it.
    pub fn to_base64(&self) -> String {
        BASE64.encode(self.0)
    }

    pub fn from_base64(text: &str) -> Result<Hash, HashParseError> {
        let bytes = BASE64.decode(text).map_err(|_| HashParseError::BadBase64)?;
        Hash::from_slice(&bytes).map_err(|_| HashParseError::BadBase64)
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({})", self.to_hex())
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

fn sha256_parts(parts: &[&[u8]]) -> Hash {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part);
    }
    let digest = hasher.finalize();
    Hash::from_slice(digest.as_slice()).expect("SHA-256 output is 32 bytes")
}

/// Plain SHA-256 of some bytes (documents, evidence files, key ids).
pub fn sha256(bytes: &[u8]) -> Hash {
    sha256_parts(&[bytes])
}

/// Leaf hash of an entry: SHA-256(0x00 ‖ entry bytes), RFC 6962 §2.1.
pub fn leaf_hash(entry_bytes: &[u8]) -> Hash {
    sha256_parts(&[&[0x00], entry_bytes])
}

/// Interior node hash: SHA-256(0x01 ‖ left ‖ right), RFC 6962 §2.1.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    sha256_parts(&[&[0x01], &left.0, &right.0])
}

/// Root of the empty tree: SHA-256 of the empty string, RFC 6962 §2.1.
pub fn empty_root() -> Hash {
    sha256(&[])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_root_is_sha256_of_nothing() {
        assert_eq!(
            empty_root().to_hex(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn hex_round_trip_and_strictness() {
        let h = leaf_hash(b"abc");
        assert_eq!(Hash::from_hex(&h.to_hex()).unwrap(), h);
        assert_eq!(Hash::from_base64(&h.to_base64()).unwrap(), h);
        assert_eq!(
            Hash::from_hex(&h.to_hex().to_uppercase()),
            Err(HashParseError::BadHex)
        );
        assert_eq!(Hash::from_hex("00"), Err(HashParseError::BadHex));
        // Every byte value spells as the hex crate spells it.
        for first in (0..=255u8).step_by(32) {
            let every = Hash(std::array::from_fn(|i| first.wrapping_add(i as u8)));
            assert_eq!(every.to_hex(), hex::encode(every.0));
        }
        assert_eq!(Hash::from_base64("AAAA"), Err(HashParseError::BadBase64));
    }
}
