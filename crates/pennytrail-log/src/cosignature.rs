//! C2SP tlog-cosignature with Ed25519 (`cosignature/v1`): a witness's statement that, at
//! a time, the checkpoint is the largest consistent tree it has seen for the log
//! (`../shared/standards/c2sp/tlog-cosignature.md`).
//!
//! A cosignature is a signature line on the checkpoint, `— <name> base64(key id ‖
//! timestamp ‖ signature)`: the key id is SHA-256(name ‖ 0x0A ‖ 0x04 ‖ public key)[:4],
//! the timestamp a big-endian u64 of POSIX seconds, and the Ed25519 signature covers
//! `cosignature/v1\ntime <timestamp>\n` followed by the checkpoint's text. The spec
//! prefers ML-DSA-44; we use Ed25519 because browsers (WebCrypto) and Go check it today.

use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};

use crate::note::{
    NoteError, is_valid_name, key_text, parse_key_text, signature_line, split_note, typed_key_id,
};

/// Signature type of Ed25519 cosigner keys.
pub const ALG_COSIGNATURE_V1: u8 = 0x04;
/// Largest timestamp a cosignature may carry (2^63 - 1).
pub const MAX_TIMESTAMP: u64 = i64::MAX as u64;

/// The message a cosigner signs for a checkpoint `text` (ending in a newline) at
/// `timestamp`.
pub fn signed_message(text: &str, timestamp: u64) -> Vec<u8> {
    format!("cosignature/v1\ntime {timestamp}\n{text}").into_bytes()
}

/// A witness's public key (a vkey of type 0x04).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CosignerKey {
    name: String,
    key_id: u32,
    key: VerifyingKey,
}

impl CosignerKey {
    /// # Errors
    /// A name that a note key cannot carry.
    pub fn new(name: &str, key: VerifyingKey) -> Result<CosignerKey, NoteError> {
        if !is_valid_name(name) {
            return Err(NoteError::BadName(name.to_string()));
        }
        Ok(CosignerKey {
            name: name.to_string(),
            key_id: typed_key_id(ALG_COSIGNATURE_V1, name, key.as_bytes()),
            key,
        })
    }

    /// Parses `<name>+<8 hex id>+<base64(0x04 ‖ key)>`.
    ///
    /// # Errors
    /// [`NoteError`] saying what is wrong, a mismatched key id included.
    pub fn from_text(text: &str) -> Result<CosignerKey, NoteError> {
        let (name, stated, bytes) = parse_key_text(text, ALG_COSIGNATURE_V1, false)?;
        let key = VerifyingKey::from_bytes(&bytes)
            .map_err(|_| NoteError::BadVerifierKey("not a valid Ed25519 point"))?;
        let parsed = CosignerKey::new(name, key)?;
        if parsed.key_id != stated {
            return Err(NoteError::KeyIdMismatch {
                stated,
                actual: parsed.key_id,
            });
        }
        Ok(parsed)
    }

    pub fn to_text(&self) -> String {
        key_text(
            ALG_COSIGNATURE_V1,
            &self.name,
            self.key_id,
            self.key.as_bytes(),
        )
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    pub fn public_key(&self) -> &VerifyingKey {
        &self.key
    }

    /// The timestamp of this key's valid cosignature on `note`, if it carries one.
    ///
    /// # Errors
    /// A malformed note, or a line with this key's name and id whose signature fails
    /// (a note with a bad signature by a known key is malformed, C2SP signed-note says).
    pub fn cosigned_at(&self, note: &str) -> Result<Option<u64>, NoteError> {
        let (text, lines) = split_note(note)?;
        let mut found = None;
        for line in lines {
            if line.name != self.name || line.key_id != self.key_id {
                continue;
            }
            let bad = || NoteError::InvalidSignature {
                name: self.name.clone(),
            };
            let (timestamp, signature) = line.signature.split_at_checked(8).ok_or_else(bad)?;
            let timestamp = u64::from_be_bytes(timestamp.try_into().map_err(|_| bad())?);
            let signature = Signature::from_slice(signature).map_err(|_| bad())?;
            if timestamp > MAX_TIMESTAMP
                || self
                    .key
                    .verify_strict(&signed_message(text, timestamp), &signature)
                    .is_err()
            {
                return Err(bad());
            }
            found = Some(timestamp);
        }
        Ok(found)
    }
}

/// A witness's private key.
pub struct Cosigner {
    public: CosignerKey,
    key: SigningKey,
}

impl Cosigner {
    /// A cosigner from a 32-byte Ed25519 seed (the caller supplies the randomness).
    ///
    /// # Errors
    /// A name that a note key cannot carry.
    pub fn from_seed(name: &str, seed: [u8; 32]) -> Result<Cosigner, NoteError> {
        let key = SigningKey::from_bytes(&seed);
        Ok(Cosigner {
            public: CosignerKey::new(name, key.verifying_key())?,
            key,
        })
    }

    /// Parses `PRIVATE+KEY+<name>+<8 hex id>+<base64(0x04 ‖ seed)>`.
    ///
    /// # Errors
    /// [`NoteError`] saying what is wrong, a mismatched key id included.
    pub fn from_text(text: &str) -> Result<Cosigner, NoteError> {
        let (name, stated, seed) = parse_key_text(text, ALG_COSIGNATURE_V1, true)?;
        let cosigner = Cosigner::from_seed(name, seed)?;
        if cosigner.public.key_id != stated {
            return Err(NoteError::KeyIdMismatch {
                stated,
                actual: cosigner.public.key_id,
            });
        }
        Ok(cosigner)
    }

    pub fn to_text(&self) -> String {
        format!(
            "PRIVATE+KEY+{}",
            key_text(
                ALG_COSIGNATURE_V1,
                &self.public.name,
                self.public.key_id,
                self.key.as_bytes()
            )
        )
    }

    pub fn public(&self) -> &CosignerKey {
        &self.public
    }

    /// The cosignature line (ending in a newline) on a checkpoint whose text is `text`
    /// (the note without its signatures, ending in a newline), made at `timestamp`.
    pub fn cosign(&self, text: &str, timestamp: u64) -> String {
        let signature = self.key.sign(&signed_message(text, timestamp));
        let mut payload = timestamp.min(MAX_TIMESTAMP).to_be_bytes().to_vec();
        payload.extend_from_slice(&signature.to_bytes());
        signature_line(&self.public.name, self.public.key_id, &payload)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::note::NoteSigner;

    fn checkpoint() -> (NoteSigner, String) {
        let log = NoteSigner::from_seed("example.com/log", [7; 32]).unwrap();
        let note = log
            .sign_note("example.com/log\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n")
            .unwrap();
        (log, note)
    }

    #[test]
    fn a_cosignature_verifies_and_names_its_time() {
        let (log, note) = checkpoint();
        let witness = Cosigner::from_seed("witness.example/w1", [9; 32]).unwrap();
        let text = log.verifier().open(&note).unwrap();
        let cosigned = format!("{note}{}", witness.cosign(text, 1_679_315_147));
        assert_eq!(
            witness.public().cosigned_at(&cosigned),
            Ok(Some(1_679_315_147))
        );
        // The log's own signature still opens; other keys see no cosignature.
        assert!(log.verifier().open(&cosigned).is_ok());
        let other = Cosigner::from_seed("witness.example/w2", [10; 32]).unwrap();
        assert_eq!(other.public().cosigned_at(&cosigned), Ok(None));
        assert_eq!(witness.public().cosigned_at(&note), Ok(None));
        // Key texts round-trip; a note key is not a cosigner key.
        let public = CosignerKey::from_text(&witness.public().to_text()).unwrap();
        assert_eq!(&public, witness.public());
        let private = Cosigner::from_text(&witness.to_text()).unwrap();
        assert_eq!(private.public(), witness.public());
        assert!(CosignerKey::from_text(&log.verifier().to_text()).is_err());
        assert!(crate::note::NoteVerifier::from_text(&public.to_text()).is_err());
    }

    #[test]
    fn a_cosignature_over_another_text_or_time_fails() {
        let (log, note) = checkpoint();
        let witness = Cosigner::from_seed("witness.example/w1", [9; 32]).unwrap();
        let other_text = "example.com/log\n6\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
        let forged = format!("{note}{}", witness.cosign(other_text, 5));
        assert!(witness.public().cosigned_at(&forged).is_err());
        // The same signature under another timestamp.
        let text = log.verifier().open(&note).unwrap();
        let line = witness.cosign(text, 5);
        let cosigned = format!("{note}{line}");
        let (_, lines) = split_note(&cosigned).unwrap();
        let mut payload = 6u64.to_be_bytes().to_vec();
        payload.extend_from_slice(&lines[1].signature[8..]);
        let moved = signature_line(lines[1].name, lines[1].key_id, &payload);
        assert!(
            witness
                .public()
                .cosigned_at(&format!("{note}{moved}"))
                .is_err()
        );
    }
}
