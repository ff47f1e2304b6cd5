//! Donor commitments: HMAC-SHA256(server secret, org ‖ 0x00 ‖ normalised donor reference).
//! The reference (an email, a receipt number) is never stored or logged; keying by org
//! stops one donor being linked across charities.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use super::fields::FieldError;
use pennytrail_log::hash::Hash;

/// Longest donor reference, in characters: an email address has at most 320 (64 for the
/// local part, 1 for the `@`, 255 for the domain), and receipt numbers are far shorter.
pub const MAX_DONOR_REF_CHARS: usize = 320;

/// Checks a donor reference as it arrives (in a donation or a donor lookup): 1 to
/// [`MAX_DONOR_REF_CHARS`] characters, not only whitespace. The error never repeats the
/// reference, so it cannot reach a response or a log.
pub fn check_reference(field: &str, reference: &str) -> Result<(), FieldError> {
    if reference.trim().is_empty() || reference.chars().count() > MAX_DONOR_REF_CHARS {
        return Err(FieldError::new(
            field,
            format!("must be 1 to {MAX_DONOR_REF_CHARS} characters"),
        ));
    }
    Ok(())
}

/// The normal form of a donor reference: surrounding whitespace removed, inner runs of
/// whitespace folded to one space, lowercase. `" Ann@Example.org "` and `"ann@example.org"`
/// are the same donor.
pub fn normalise_reference(reference: &str) -> String {
    reference
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// The commitment to `reference` at `org` under `secret`.
pub fn commitment(secret: &[u8; 32], org: &str, reference: &str) -> Hash {
    let mut mac =
        <Hmac<Sha256> as KeyInit>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(org.as_bytes());
    mac.update(&[0x00]);
    mac.update(normalise_reference(reference).as_bytes());
    Hash::from_slice(&mac.finalize().into_bytes()).expect("HMAC-SHA256 is 32 bytes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalised_references_match_and_orgs_differ() {
        let secret = [9u8; 32];
        assert_eq!(
            commitment(&secret, "org-a", "  Ann@Example.org "),
            commitment(&secret, "org-a", "ann@example.org")
        );
        assert_ne!(
            commitment(&secret, "org-a", "ann@example.org"),
            commitment(&secret, "org-b", "ann@example.org")
        );
        assert_ne!(
            commitment(&[1u8; 32], "org-a", "ann@example.org"),
            commitment(&secret, "org-a", "ann@example.org")
        );
    }

    #[test]
    fn known_answer() {
        // Checked against an independent HMAC implementation: python3 -c "import hmac,hashlib;
        // print(hmac.new(bytes([9])*32, b'org-a\x00ann@example.org', hashlib.sha256).hexdigest())"
        assert_eq!(
            commitment(&[9u8; 32], "org-a", "ann@example.org").to_hex(),
            "bc34dfff23c4cb8ff6b0cbb16f43ef1ee60f2f6c56339dec88c0d0e6387ebd9c"
        );
    }
}
