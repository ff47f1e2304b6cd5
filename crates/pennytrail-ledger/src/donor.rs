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

/// A phone number as the E.164 digits a donor reference commits to (`254712345678`):
/// spaces, dashes, dots and parentheses dropped; `+` or `00` starts an international
/// number; a leading `0` is a national number of the country whose calling code is
/// `calling_code` (`254` for Kenya), as is a number without either. `None` if anything
/// else is left or the digits are not 8 to 15 long (E.164's limit).
pub fn phone_digits(text: &str, calling_code: &str) -> Option<String> {
    let kept: String = text
        .trim()
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')'))
        .collect();
    let digits = if let Some(international) = kept.strip_prefix('+') {
        international.to_string()
    } else if let Some(international) = kept.strip_prefix("00") {
        international.to_string()
    } else if let Some(national) = kept.strip_prefix('0') {
        format!("{calling_code}{national}")
    } else if kept.starts_with(calling_code) && kept.len() > 9 {
        kept
    } else {
        format!("{calling_code}{kept}")
    };
    let valid = (8..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0');
    valid.then_some(digits)
}

/// An IBAN as a donor reference commits to it: capitals, no spaces (`DE89370400440532013000`).
/// `None` unless it has a country code, two check digits and 11 to 30 more letters or
/// digits, and its ISO 7064 mod-97 check holds.
pub fn iban_normal(text: &str) -> Option<String> {
    let iban: String = text
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_uppercase();
    let b = iban.as_bytes();
    let shaped = (15..=34).contains(&b.len())
        && b[..2].iter().all(u8::is_ascii_uppercase)
        && b[2..4].iter().all(u8::is_ascii_digit)
        && b.iter().all(u8::is_ascii_alphanumeric);
    if !shaped {
        return None;
    }
    let mut remainder: u32 = 0;
    for byte in b[4..].iter().chain(&b[..4]) {
        let value = if byte.is_ascii_digit() {
            u32::from(byte - b'0')
        } else {
            u32::from(byte - b'A') + 10
        };
        remainder = if value >= 10 {
            (remainder * 100 + value) % 97
        } else {
            (remainder * 10 + value) % 97
        };
    }
    (remainder == 1).then_some(iban)
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
    fn phone_numbers_become_one_form() {
        for written in [
            "0712 345 678",
            "+254 712-345-678",
            "254712345678",
            "00254712345678",
            "712345678",
            "(0712) 345.678",
        ] {
            assert_eq!(
                phone_digits(written, "254").as_deref(),
                Some("254712345678"),
                "{written}"
            );
        }
        assert_eq!(
            phone_digits("+33 6 12 34 56 78", "254").as_deref(),
            Some("33612345678")
        );
        for bad in [
            "",
            "2547****5678",
            "07123",
            "+0712345678",
            "0712 345 678 ext 9",
            "1234567890123456",
        ] {
            assert_eq!(phone_digits(bad, "254"), None, "{bad}");
        }
    }

    #[test]
    fn ibans_become_one_form() {
        for written in [
            "DE89 3704 0044 0532 0130 00",
            "de89370400440532013000",
            " DE89370400440532013000 ",
        ] {
            assert_eq!(
                iban_normal(written).as_deref(),
                Some("DE89370400440532013000"),
                "{written}"
            );
        }
        assert_eq!(
            iban_normal("GB82 WEST 1234 5698 7654 32").as_deref(),
            Some("GB82WEST12345698765432")
        );
        for bad in [
            "DE88370400440532013000",
            "DE89",
            "1289370400440532013000",
            "DE89-3704-0044-0532-0130-00",
            "",
        ] {
            assert_eq!(iban_normal(bad), None, "{bad}");
        }
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
