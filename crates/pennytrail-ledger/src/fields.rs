//! Field-level validation shared by every entry kind: each check names the field at fault.

use pennytrail_log::canonical::MAX_SAFE_INTEGER;
use pennytrail_log::entry::is_valid_id;
use pennytrail_log::note::NoteVerifier;

use super::iso::is_country_code;

/// Longest free-text field (names, labels, titles) in characters: long enough for any
/// charity's registered name, short enough that an entry stays far below 16 KiB.
pub const MAX_NAME_CHARS: usize = 200;

/// A field that failed validation, with a message a person can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> FieldError {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// An id: `[A-Za-z0-9][A-Za-z0-9._:-]{0,63}`.
pub fn id(field: &str, value: &str) -> Result<String, FieldError> {
    if is_valid_id(value) {
        Ok(value.to_string())
    } else {
        Err(FieldError::new(
            field,
            "must be 1-64 characters of A-Z a-z 0-9 . _ : - starting with a letter or digit",
        ))
    }
}

/// Free text: 1 to `max_chars` characters, no control characters, not only spaces.
pub fn text(field: &str, value: &str, max_chars: usize) -> Result<String, FieldError> {
    let chars = value.chars().count();
    if value.trim().is_empty() {
        return Err(FieldError::new(field, "must not be empty"));
    }
    if chars > max_chars {
        return Err(FieldError::new(
            field,
            format!("must be at most {max_chars} characters (got {chars})"),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(FieldError::new(
            field,
            "must not contain control characters (tabs, newlines, …)",
        ));
    }
    Ok(value.to_string())
}

/// A seq or tree size a client names: at most 2^53 - 1, like every integer of an entry
/// (canonical JSON), so it can be logged and looked up without overflow.
pub fn seq(field: &str, value: u64) -> Result<u64, FieldError> {
    if value > MAX_SAFE_INTEGER as u64 {
        return Err(FieldError::new(
            field,
            format!("must be at most {MAX_SAFE_INTEGER} (2^53-1)"),
        ));
    }
    Ok(value)
}

/// An ISO 3166-1 alpha-2 country code, uppercase.
pub fn country(field: &str, value: &str) -> Result<String, FieldError> {
    if is_country_code(value) {
        Ok(value.to_string())
    } else {
        Err(FieldError::new(
            field,
            "must be an ISO 3166-1 alpha-2 country code such as DE or KE",
        ))
    }
}

/// A C2SP note verifier key (`<name>+<8 hex id>+<base64 key>`), Ed25519.
pub fn verifier_key(field: &str, value: &str) -> Result<String, FieldError> {
    let verifier =
        NoteVerifier::from_text(value).map_err(|e| FieldError::new(field, e.to_string()))?;
    // Stored in its canonical spelling so the same key always has the same text.
    Ok(verifier.to_text())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_field() {
        assert_eq!(id("org", "-x").unwrap_err().field, "org");
        assert!(text("name", "   ", 10).is_err());
        assert!(text("name", "a\tb", 10).is_err());
        assert!(text("name", &"é".repeat(11), 10).is_err());
        assert_eq!(
            text("name", &"é".repeat(10), 10).unwrap().chars().count(),
            10
        );
        assert!(country("country", "DE").is_ok());
        assert!(country("country", "de").is_err());
        assert!(verifier_key("public_key", "nope").is_err());
        assert_eq!(
            seq("corrects", MAX_SAFE_INTEGER as u64),
            Ok(MAX_SAFE_INTEGER as u64)
        );
        assert_eq!(seq("corrects", 1 << 63).unwrap_err().field, "corrects");
    }
}
