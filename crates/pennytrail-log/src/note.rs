//! C2SP signed notes with Ed25519 keys, byte-compatible with Go's
//! golang.org/x/mod/sumdb/note: key ids, verifier-key and private-key text, signing and
//! opening notes.
//!
//! Key id = first 4 bytes (big-endian) of SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key).
//! Verifier key text: `<name>+<8 hex id>+<base64(0x01 ‖ public key)>`.
//! Private key text: `PRIVATE+KEY+<name>+<8 hex id>+<base64(0x01 ‖ seed)>`.
//! A signature line: `— <name> <base64(id ‖ 64-byte signature)>`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};

use super::hash::sha256;

/// Algorithm byte for Ed25519 in note keys.
const ALG_ED25519: u8 = 0x01;
/// The signature line prefix: an em dash and a space.
const SIG_PREFIX: &str = "\u{2014} ";
/// Most signature lines a note may carry before we stop reading (Go's limit too).
pub const MAX_SIGNATURES: usize = 100;
/// Largest signed note we parse. A checkpoint is well under 1 KiB; 64 KiB leaves room for
/// many cosignatures and still bounds the work an outside note can cause.
pub const MAX_NOTE_BYTES: usize = 64 * 1024;

/// What is wrong with a key text or a signed note.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NoteError {
    #[error("malformed verifier key: {0}")]
    BadVerifierKey(&'static str),
    #[error("malformed private key: {0}")]
    BadPrivateKey(&'static str),
    #[error("key id {stated:08x} does not match the key (expected {actual:08x})")]
    KeyIdMismatch { stated: u32, actual: u32 },
    #[error("invalid key name {0:?}: names are non-empty, without spaces or '+'")]
    BadName(String),
    #[error("malformed note: {0}")]
    Malformed(&'static str),
    #[error("note signature by {name} does not verify")]
    InvalidSignature { name: String },
    #[error("note has no signature by {name} (key id {key_id:08x})")]
    NotSignedByKey { name: String, key_id: u32 },
}

/// Whether `name` is a valid note key name (Go's `isValidName`).
pub fn is_valid_name(name: &str) -> bool {
    !name.is_empty() && !name.contains('+') && !name.chars().any(char::is_whitespace)
}

/// Key id of an Ed25519 public key under `name`.
pub fn key_id(name: &str, public_key: &[u8; 32]) -> u32 {
    typed_key_id(ALG_ED25519, name, public_key)
}

/// Key id of a 32-byte public key of signature type `alg` (0x01 notes, 0x04 cosignatures):
/// the first 4 bytes of SHA-256(name ‖ 0x0A ‖ alg ‖ key).
pub(crate) fn typed_key_id(alg: u8, name: &str, public_key: &[u8; 32]) -> u32 {
    let mut input = Vec::with_capacity(name.len() + 2 + 32);
    input.extend_from_slice(name.as_bytes());
    input.push(b'\n');
    input.push(alg);
    input.extend_from_slice(public_key);
    let h = sha256(&input);
    u32::from_be_bytes([h.0[0], h.0[1], h.0[2], h.0[3]])
}

/// Parses a key text `[PRIVATE+KEY+]<name>+<8 hex id>+<base64(alg ‖ 32 bytes)>` of type
/// `alg`; returns the name, the stated id and the 32 key bytes (the caller checks the id).
pub(crate) fn parse_key_text(
    text: &str,
    alg: u8,
    private: bool,
) -> Result<(&str, u32, [u8; 32]), NoteError> {
    let bad = |what| {
        if private {
            NoteError::BadPrivateKey(what)
        } else {
            NoteError::BadVerifierKey(what)
        }
    };
    let mut text = text.trim_end_matches(['\n', '\r']);
    if private {
        text = text
            .strip_prefix("PRIVATE+KEY+")
            .ok_or(bad("must start with PRIVATE+KEY+"))?;
    }
    let mut parts = text.splitn(3, '+');
    let (Some(name), Some(id), Some(key64)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad("expected <name>+<id>+<key>"));
    };
    if !is_valid_name(name) {
        return Err(NoteError::BadName(name.to_string()));
    }
    let stated = parse_key_id(id).ok_or(bad("id is not 8 hex digits"))?;
    let raw = BASE64.decode(key64).map_err(|_| bad("key is not base64"))?;
    if raw.len() != 33 || raw[0] != alg {
        return Err(bad(if alg == ALG_ED25519 {
            "key must be 0x01 followed by 32 bytes of an Ed25519 key"
        } else {
            "key must be 0x04 followed by 32 bytes of an Ed25519 key (a cosigner key)"
        }));
    }
    let bytes: [u8; 32] = raw[1..].try_into().expect("checked length");
    Ok((name, stated, bytes))
}

/// The text of a key of type `alg`: `<name>+<8 hex id>+<base64(alg ‖ 32 bytes)>`.
pub(crate) fn key_text(alg: u8, name: &str, key_id: u32, bytes: &[u8; 32]) -> String {
    let mut raw = vec![alg];
    raw.extend_from_slice(bytes);
    format!("{name}+{key_id:08x}+{}", BASE64.encode(raw))
}

fn parse_key_id(text: &str) -> Option<u32> {
    (text.len() == 8 && text.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| u32::from_str_radix(text, 16).ok())
        .flatten()
}

/// A public key that can check note signatures.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteVerifier {
    name: String,
    key_id: u32,
    key: VerifyingKey,
}

impl NoteVerifier {
    pub fn new(name: &str, key: VerifyingKey) -> Result<NoteVerifier, NoteError> {
        if !is_valid_name(name) {
            return Err(NoteError::BadName(name.to_string()));
        }
        Ok(NoteVerifier {
            name: name.to_string(),
            key_id: key_id(name, key.as_bytes()),
            key,
        })
    }

    /// Parses `<name>+<8 hex id>+<base64(0x01 ‖ key)>`.
    pub fn from_text(text: &str) -> Result<NoteVerifier, NoteError> {
        let (name, stated, bytes) = parse_key_text(text, ALG_ED25519, false)?;
        let key = VerifyingKey::from_bytes(&bytes)
            .map_err(|_| NoteError::BadVerifierKey("not a valid Ed25519 point"))?;
        let actual = key_id(name, &bytes);
        if stated != actual {
            return Err(NoteError::KeyIdMismatch { stated, actual });
        }
        Ok(NoteVerifier {
            name: name.to_string(),
            key_id: actual,
            key,
        })
    }

    pub fn to_text(&self) -> String {
        key_text(ALG_ED25519, &self.name, self.key_id, self.key.as_bytes())
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

    /// Opens a signed note: checks its shape and that it carries a valid signature by this
    /// key; returns the note text (which ends in a newline). Signatures by other keys are
    /// ignored, as C2SP signed-note allows (cosigners), but any signature line claiming this
    /// key must verify.
    pub fn open<'a>(&self, note: &'a str) -> Result<&'a str, NoteError> {
        let (text, signatures) = split_note(note)?;
        let mut verified = false;
        for line in signatures {
            if line.name != self.name || line.key_id != self.key_id {
                continue;
            }
            if !self.verify_detached(text.as_bytes(), &line.signature) {
                return Err(NoteError::InvalidSignature {
                    name: line.name.to_string(),
                });
            }
            verified = true;
        }
        if !verified {
            return Err(NoteError::NotSignedByKey {
                name: self.name.clone(),
                key_id: self.key_id,
            });
        }
        Ok(text)
    }

    /// Verifies a detached Ed25519 signature over `message` (strict: no malleable or
    /// small-order encodings).
    pub fn verify_detached(&self, message: &[u8], signature: &[u8]) -> bool {
        Signature::from_slice(signature)
            .map(|sig| self.key.verify_strict(message, &sig).is_ok())
            .unwrap_or(false)
    }
}

/// One signature line of a note: `— <name> base64(<4-byte key id> ‖ <signature>)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureLine<'a> {
    pub name: &'a str,
    pub key_id: u32,
    /// The bytes after the key id (for a cosignature: timestamp and signature).
    pub signature: Vec<u8>,
}

/// Splits a signed note into its text (ending in a newline) and its signature lines,
/// checking the shape C2SP signed-note requires: at most 64 KiB, no control characters
/// but newlines, a blank line before one to [`MAX_SIGNATURES`] signature lines.
///
/// # Errors
/// [`NoteError::Malformed`] saying what is wrong.
pub fn split_note(note: &str) -> Result<(&str, Vec<SignatureLine<'_>>), NoteError> {
    if note.len() > MAX_NOTE_BYTES {
        return Err(NoteError::Malformed("note is larger than 64 KiB"));
    }
    if note.chars().any(|c| (c as u32) < 0x20 && c != '\n') {
        return Err(NoteError::Malformed("control character in note"));
    }
    let split = note
        .rfind("\n\n")
        .ok_or(NoteError::Malformed("no blank line before the signatures"))?;
    let (text, sigs) = (&note[..split + 1], &note[split + 2..]);
    if sigs.is_empty() || !sigs.ends_with('\n') {
        return Err(NoteError::Malformed(
            "signature block must end with a newline",
        ));
    }
    let mut lines = Vec::new();
    for (count, line) in sigs[..sigs.len() - 1].split('\n').enumerate() {
        if count >= MAX_SIGNATURES {
            return Err(NoteError::Malformed("too many signatures"));
        }
        let rest = line.strip_prefix(SIG_PREFIX).ok_or(NoteError::Malformed(
            "signature line must start with an em dash",
        ))?;
        let (name, sig64) = rest.split_once(' ').ok_or(NoteError::Malformed(
            "signature line needs a name and a signature",
        ))?;
        let sig = BASE64
            .decode(sig64)
            .map_err(|_| NoteError::Malformed("signature is not base64"))?;
        if !is_valid_name(name) || sig.len() < 5 {
            return Err(NoteError::Malformed("bad signature line"));
        }
        lines.push(SignatureLine {
            name,
            key_id: u32::from_be_bytes([sig[0], sig[1], sig[2], sig[3]]),
            signature: sig[4..].to_vec(),
        });
    }
    Ok((text, lines))
}

/// A signature line for `name` and `key_id` over `payload` (id ‖ payload, base64).
pub fn signature_line(name: &str, key_id: u32, payload: &[u8]) -> String {
    let mut raw = key_id.to_be_bytes().to_vec();
    raw.extend_from_slice(payload);
    format!("{SIG_PREFIX}{name} {}\n", BASE64.encode(raw))
}

/// A private key that signs notes.
pub struct NoteSigner {
    verifier: NoteVerifier,
    key: SigningKey,
}

impl std::fmt::Debug for NoteSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the seed.
        write!(f, "NoteSigner({})", self.verifier.to_text())
    }
}

impl NoteSigner {
    /// A signer from a 32-byte Ed25519 seed (the caller supplies the randomness).
    pub fn from_seed(name: &str, seed: [u8; 32]) -> Result<NoteSigner, NoteError> {
        let key = SigningKey::from_bytes(&seed);
        Ok(NoteSigner {
            verifier: NoteVerifier::new(name, key.verifying_key())?,
            key,
        })
    }

    /// Parses `PRIVATE+KEY+<name>+<8 hex id>+<base64(0x01 ‖ seed)>`.
    pub fn from_text(text: &str) -> Result<NoteSigner, NoteError> {
        let (name, stated, seed) = parse_key_text(text, ALG_ED25519, true)?;
        let signer = NoteSigner::from_seed(name, seed)?;
        if signer.verifier.key_id != stated {
            return Err(NoteError::KeyIdMismatch {
                stated,
                actual: signer.verifier.key_id,
            });
        }
        Ok(signer)
    }

    pub fn to_text(&self) -> String {
        let mut raw = vec![ALG_ED25519];
        raw.extend_from_slice(self.key.as_bytes());
        format!(
            "PRIVATE+KEY+{}+{:08x}+{}",
            self.verifier.name,
            self.verifier.key_id,
            BASE64.encode(raw)
        )
    }

    pub fn verifier(&self) -> &NoteVerifier {
        &self.verifier
    }

    /// Signs `text` (which must end in a newline and hold no blank-line ambiguity) and
    /// returns the whole signed note.
    pub fn sign_note(&self, text: &str) -> Result<String, NoteError> {
        if !text.ends_with('\n') {
            return Err(NoteError::Malformed("note text must end with a newline"));
        }
        if text.chars().any(|c| (c as u32) < 0x20 && c != '\n') {
            return Err(NoteError::Malformed("control character in note text"));
        }
        let signature = self.key.sign(text.as_bytes());
        let mut raw = self.verifier.key_id.to_be_bytes().to_vec();
        raw.extend_from_slice(&signature.to_bytes());
        Ok(format!(
            "{text}\n{SIG_PREFIX}{} {}\n",
            self.verifier.name,
            BASE64.encode(raw)
        ))
    }

    /// A detached Ed25519 signature over `message`.
    pub fn sign_detached(&self, message: &[u8]) -> [u8; 64] {
        self.key.sign(message).to_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer() -> NoteSigner {
        NoteSigner::from_seed("example.org/log", [7; 32]).unwrap()
    }

    #[test]
    fn key_texts_round_trip() {
        let s = signer();
        let again = NoteSigner::from_text(&s.to_text()).unwrap();
        assert_eq!(again.verifier(), s.verifier());
        let v = NoteVerifier::from_text(&s.verifier().to_text()).unwrap();
        assert_eq!(&v, s.verifier());
    }

    #[test]
    fn sign_then_open() {
        let s = signer();
        let note = s.sign_note("hello\nworld\n").unwrap();
        assert_eq!(s.verifier().open(&note).unwrap(), "hello\nworld\n");
        let tampered = note.replace("world", "wrld!");
        assert!(matches!(
            s.verifier().open(&tampered),
            Err(NoteError::InvalidSignature { .. })
        ));
        let other = NoteSigner::from_seed("example.org/log", [8; 32]).unwrap();
        assert!(matches!(
            other.verifier().open(&note),
            Err(NoteError::NotSignedByKey { .. })
        ));
    }

    #[test]
    fn refuses_mismatched_key_ids() {
        let text = signer().verifier().to_text();
        let mut parts: Vec<&str> = text.split('+').collect();
        parts[1] = "00000000";
        assert!(matches!(
            NoteVerifier::from_text(&parts.join("+")),
            Err(NoteError::KeyIdMismatch { .. })
        ));
        assert!(NoteVerifier::from_text("bad name+00000000+AQ==").is_err());
        assert!(NoteSigner::from_text("PRIVATE+KEY+x+0000000+AQ==").is_err());
    }
}
