//! An M-Pesa organisation statement (CSV): `Receipt No.`, `Completion Time` (East Africa
//! Time, UTC+3), `Transaction Status`, `Paid In`, `Withdrawn` (thousands separated,
//! `Withdrawn` may be negative), `Reason Type`, `Other Party Info` (a phone number and a
//! name). Each completed row becomes:
//!
//! | row | becomes |
//! | --- | --- |
//! | money in | a donation in KES (`mpesa:<receipt>`), its donor reference the payer's phone as E.164 digits |
//! | a `Reason Type` with "Charge" | a disbursement to the processor (`mpesa:<receipt>:charge`: a charge may repeat its payment's receipt number) |
//! | a payment to a person (`Business Payment…`, B2C) | a disbursement to a person beneficiary whose id and label are pseudonyms of their number under the charity's secret |
//!
//! Rows not completed are skipped and listed; any other withdrawal is an error naming its
//! line (money out the import cannot place is never dropped). `Details` and the name in
//! `Other Party Info` are never read.

use std::fmt;
use std::io::Read;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::decimal::{NumberFormat, minor_units};
use crate::plan::{
    Disbursement, Donation, Payee, Planned, Row, RowError, RowOutcome, entry_id, local_time_to_utc,
};
use crate::table::{FileError, Table, currency};

/// The columns the import reads.
pub const COLUMNS: [&str; 7] = [
    "Receipt No.",
    "Completion Time",
    "Transaction Status",
    "Paid In",
    "Withdrawn",
    "Reason Type",
    "Other Party Info",
];

/// M-Pesa statements are in Kenyan shillings, their times in East Africa Time, their
/// national numbers Kenyan.
const CURRENCY: &str = "KES";
const EAT_HOURS_AHEAD_OF_UTC: i64 = 3;
const CALLING_CODE: &str = "254";

/// The secret a charity keeps to turn a person's phone number into the same pseudonym on
/// every import, which nobody without it can link back to the number. Never printed.
pub struct PersonSecret([u8; 32]);

impl PersonSecret {
    /// Shortest secret accepted, in bytes.
    pub const MIN_BYTES: usize = 16;

    /// A secret from the bytes of the charity's secret file (at least
    /// [`PersonSecret::MIN_BYTES`]; surrounding whitespace is not part of it).
    ///
    /// # Errors
    /// A secret shorter than [`PersonSecret::MIN_BYTES`].
    pub fn from_file_bytes(bytes: &[u8]) -> Result<PersonSecret, String> {
        let trimmed = bytes.trim_ascii();
        if trimmed.len() < Self::MIN_BYTES {
            return Err(format!(
                "the person secret must be at least {} bytes; it is {}",
                Self::MIN_BYTES,
                trimmed.len()
            ));
        }
        use sha2::Digest as _;
        Ok(PersonSecret(Sha256::digest(trimmed).into()))
    }

    /// The beneficiary id and label of the person whose phone is `digits` (E.164).
    pub fn pseudonym(&self, digits: &str) -> (String, String) {
        let mut mac =
            <Hmac<Sha256> as KeyInit>::new_from_slice(&self.0).expect("HMAC takes any key");
        mac.update(b"pennytrail person\x00");
        mac.update(digits.as_bytes());
        let tag = hex::encode(mac.finalize().into_bytes());
        (
            format!("person-{}", &tag[..20]),
            format!("Person {}", &tag[..8]),
        )
    }
}

impl fmt::Debug for PersonSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PersonSecret(withheld)")
    }
}

/// The rows of an M-Pesa statement, read one at a time (in the file's order: statements
/// list the newest first; the import appends oldest first).
pub struct MpesaRows<'s, R: Read> {
    table: Table<R>,
    secret: &'s PersonSecret,
}

/// Opens a statement whose rows go to a campaign in `campaign_currency` (which must be
/// KES), with the charity's `secret` for people's pseudonyms.
///
/// # Errors
/// No header, a missing column, or a campaign in another currency.
pub fn open<'s, R: Read>(
    input: R,
    campaign_currency: &str,
    secret: &'s PersonSecret,
) -> Result<MpesaRows<'s, R>, FileError> {
    let (code, _) = currency(campaign_currency)?;
    if code != CURRENCY {
        return Err(FileError::CurrencyMismatch {
            file: CURRENCY,
            campaign: code.to_string(),
        });
    }
    Ok(MpesaRows {
        table: Table::open(input, &COLUMNS, "an M-Pesa organisation statement")?,
        secret,
    })
}

impl<R: Read> Iterator for MpesaRows<'_, R> {
    type Item = Row;

    fn next(&mut self) -> Option<Row> {
        Some(match self.table.next_record()? {
            Ok(line) => (line, self.row(line)),
            Err(e) => (e.line, Err(e)),
        })
    }
}

impl<R: Read> MpesaRows<'_, R> {
    fn row(&self, line: u64) -> Result<RowOutcome, RowError> {
        let cell = |column| self.table.cell(column);
        let error = |column: &str, value: &str, problem: &str| RowError {
            line,
            column: column.to_string(),
            value: value.to_string(),
            problem: problem.to_string(),
        };
        let receipt = cell("Receipt No.");
        if receipt.is_empty() {
            return Err(error("Receipt No.", "", "is empty"));
        }
        let status = cell("Transaction Status");
        if !status.eq_ignore_ascii_case("completed") {
            return Ok(RowOutcome::Skipped {
                id: entry_id("mpesa", receipt, ""),
                reason: format!("not completed ({status})"),
            });
        }
        let time = cell("Completion Time");
        let occurred_at = local_time_to_utc(time, EAT_HOURS_AHEAD_OF_UTC).ok_or_else(|| {
            error(
                "Completion Time",
                time,
                "is not a time written YYYY-MM-DD HH:MM:SS",
            )
        })?;
        let amount = |column: &'static str| -> Result<i64, RowError> {
            let text = cell(column);
            if text.is_empty() {
                return Ok(0);
            }
            minor_units(text, 2, CURRENCY, NumberFormat::GROUPED)
                .map(i64::abs)
                .map_err(|e| error(column, text, &e.to_string()))
        };
        let (paid_in, withdrawn) = (amount("Paid In")?, amount("Withdrawn")?);
        let reason = cell("Reason Type");
        let lower = reason.to_ascii_lowercase();
        // The phone number before the name ("254712345678 - Jane Doe"); the name is
        // never kept.
        let party = cell("Other Party Info");
        let phone = party.split(" - ").next().unwrap_or("").trim();
        let phone_digits = pennytrail_ledger::donor::phone_digits(phone, CALLING_CODE);
        let disbursement = |id: String, payee, amount, purpose| {
            Planned::Disbursement(Disbursement {
                id,
                occurred_at: occurred_at.clone(),
                currency: CURRENCY.to_string(),
                payee,
                amount,
                purpose,
            })
        };
        let entry = if lower.contains("charge") {
            if withdrawn == 0 {
                return Err(error(
                    "Withdrawn",
                    cell("Withdrawn"),
                    "is empty on a charge",
                ));
            }
            disbursement(
                entry_id("mpesa", receipt, "charge"),
                Payee::Processor,
                withdrawn,
                "mobile-money charge",
            )
        } else if paid_in > 0 && withdrawn == 0 {
            Planned::Donation(Donation {
                id: entry_id("mpesa", receipt, ""),
                occurred_at: occurred_at.clone(),
                currency: CURRENCY.to_string(),
                amount: paid_in,
                fee: 0,
                channel: "mpesa",
                donor_ref: phone_digits,
            })
        } else if withdrawn > 0 && (lower.starts_with("business payment") || lower.contains("b2c"))
        {
            let digits = phone_digits.ok_or_else(|| {
                error(
                    "Other Party Info",
                    "(withheld)",
                    "does not start with the recipient's full phone number (a masked \
                     number cannot name one person)",
                )
            })?;
            let (id, label) = self.secret.pseudonym(&digits);
            disbursement(
                entry_id("mpesa", receipt, ""),
                Payee::Person { id, label },
                withdrawn,
                "payment to a person",
            )
        } else {
            return Err(error(
                "Reason Type",
                reason,
                "is not a row this import maps: money in, a charge, or a payment to a \
                 person (Business Payment, B2C)",
            ));
        };
        Ok(RowOutcome::Entries(vec![entry]))
    }
}

#[cfg(test)]
mod tests;
