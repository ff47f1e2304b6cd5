//! Stripe's itemized balance-change report (CSV; columns found by name, in any order,
//! others ignored). Each row becomes what `reporting_category` says:
//!
//! | category | becomes |
//! | --- | --- |
//! | `charge` | a donation (amount = gross, fee = fee) |
//! | `refund`, `dispute` | a disbursement of the gross to the refunds beneficiary |
//! | `dispute_reversal`, `refund_failure` | a donation, channel `stripe-reversal` |
//! | `fee` | a disbursement to the processor |
//! | `payout`, `payout_reversal`, `transfer`, `transfer_reversal`, `topup` | skipped: moves between the charity's own accounts |
//!
//! A positive `fee` on a refund or dispute is a second disbursement, to the processor
//! (`…:fee`); a negative `fee` on any row (fees the processor returns) is a donation,
//! channel `processor-return` (`…:fee`). The donor reference is `customer_email`, else
//! `customer_id`; `description`, which often names people, is never read.

use std::collections::HashMap;
use std::io::Read;

use crate::lines::Lines;

use sha2::Digest as _;

use crate::decimal::{NumberFormat, minor_units};
use crate::plan::{Disbursement, Donation, Payee, Planned, Row, RowError, RowOutcome, utc_time};

/// The columns the import reads.
pub const COLUMNS: [&str; 9] = [
    "balance_transaction_id",
    "created_utc",
    "currency",
    "gross",
    "fee",
    "net",
    "reporting_category",
    "customer_email",
    "customer_id",
];

/// Categories that move money between the charity's own accounts: not the books'.
const SKIPPED: [&str; 5] = [
    "payout",
    "payout_reversal",
    "transfer",
    "transfer_reversal",
    "topup",
];

/// Categories the import knows, for the error that names an unknown one.
const KNOWN: &str = "charge, refund, dispute, dispute_reversal, refund_failure, fee, payout, \
                     payout_reversal, transfer, transfer_reversal, topup";

/// Why a file cannot be read at all.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FileError {
    #[error("the file has no header line")]
    NoHeader,
    #[error("the header lacks the column(s) {}; a Stripe itemized balance report has them", .0.join(", "))]
    MissingColumns(Vec<String>),
    #[error("the campaign's currency {0:?} is not an ISO 4217 currency with minor units")]
    Currency(String),
}

/// The rows of a Stripe report, read one at a time.
pub struct StripeRows<R: Read> {
    reader: csv::Reader<Lines<R>>,
    index: HashMap<&'static str, usize>,
    record: csv::StringRecord,
    currency: &'static str,
    exponent: u16,
}

/// Opens a report whose rows go to a campaign in `campaign_currency` (`EUR`).
///
/// # Errors
/// No header, a missing column, or a currency that is not ISO 4217.
pub fn open<R: Read>(input: R, campaign_currency: &str) -> Result<StripeRows<R>, FileError> {
    let currency = iso_currency::Currency::from_code(campaign_currency)
        .filter(|c| c.exponent().is_some())
        .ok_or_else(|| FileError::Currency(campaign_currency.to_string()))?;
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(Lines::new(input));
    let header = reader.headers().map_err(|_| FileError::NoHeader)?.clone();
    if header.iter().all(|h| h.trim().is_empty()) {
        return Err(FileError::NoHeader);
    }
    let mut index = HashMap::new();
    let mut missing = Vec::new();
    for column in COLUMNS {
        match header.iter().position(|h| h.trim() == column) {
            Some(i) => {
                index.insert(column, i);
            }
            None => missing.push(column.to_string()),
        }
    }
    if !missing.is_empty() {
        return Err(FileError::MissingColumns(missing));
    }
    Ok(StripeRows {
        reader,
        index,
        record: csv::StringRecord::new(),
        currency: currency.code(),
        exponent: currency.exponent().unwrap_or(0),
    })
}

impl<R: Read> Iterator for StripeRows<R> {
    type Item = Row;

    fn next(&mut self) -> Option<Row> {
        loop {
            match self.reader.read_record(&mut self.record) {
                Ok(false) => return None,
                Ok(true) => {
                    let byte = self.record.position().map_or(0, csv::Position::byte);
                    let line = self.reader.get_ref().line_at(byte);
                    // A line of empty cells (some exports end with one) is not a row.
                    if self.record.iter().all(|c| c.trim().is_empty()) {
                        continue;
                    }
                    return Some((line, self.row(line)));
                }
                Err(e) => {
                    let byte = e.position().map_or(0, csv::Position::byte);
                    let line = self.reader.get_ref().line_at(byte);
                    let problem = match e.kind() {
                        csv::ErrorKind::Utf8 { .. } => "is not UTF-8 text".to_string(),
                        _ => format!("cannot be read as CSV ({e})"),
                    };
                    return Some((
                        line,
                        Err(RowError {
                            line,
                            column: "(row)".into(),
                            value: String::new(),
                            problem,
                        }),
                    ));
                }
            }
        }
    }
}

impl<R: Read> StripeRows<R> {
    fn cell(&self, column: &'static str) -> &str {
        self.index
            .get(column)
            .and_then(|i| self.record.get(*i))
            .unwrap_or("")
            .trim()
    }

    fn row(&self, line: u64) -> Result<RowOutcome, RowError> {
        let error = |column: &str, value: &str, problem: String| RowError {
            line,
            column: column.to_string(),
            value: value.to_string(),
            problem,
        };
        let txn = self.cell("balance_transaction_id");
        if txn.is_empty() {
            return Err(error("balance_transaction_id", "", "is empty".into()));
        }
        let category = self.cell("reporting_category");
        if SKIPPED.contains(&category) {
            return Ok(RowOutcome::Skipped {
                id: entry_id(txn, ""),
                reason: format!("{category}: a move between the charity's own accounts"),
            });
        }
        let created = self.cell("created_utc");
        let occurred_at = utc_time(created).ok_or_else(|| {
            error(
                "created_utc",
                created,
                "is not a time written YYYY-MM-DD HH:MM:SS".into(),
            )
        })?;
        let currency = self.cell("currency");
        if !currency.eq_ignore_ascii_case(self.currency) {
            return Err(error(
                "currency",
                currency,
                format!("is not the campaign's currency, {}", self.currency),
            ));
        }
        let amount = |column: &'static str| {
            let text = self.cell(column);
            minor_units(text, self.exponent, self.currency, NumberFormat::PLAIN)
                .map_err(|e| error(column, text, e.to_string()))
        };
        let (gross, fee, net) = (amount("gross")?, amount("fee")?, amount("net")?);
        if gross - fee != net {
            return Err(error(
                "net",
                self.cell("net"),
                "is not gross minus fee".into(),
            ));
        }
        let currency = self.currency.to_string();
        let donation = |id: String, amount: i64, fee: i64, channel, donor_ref| {
            Planned::Donation(Donation {
                id,
                occurred_at: occurred_at.clone(),
                currency: currency.clone(),
                amount,
                fee,
                channel,
                donor_ref,
            })
        };
        let disbursement = |id: String, payee, amount: i64, purpose| {
            Planned::Disbursement(Disbursement {
                id,
                occurred_at: occurred_at.clone(),
                currency: currency.clone(),
                payee,
                amount,
                purpose,
            })
        };
        let sign = |wanted: i64, problem: &str| {
            if gross.signum() == wanted {
                Ok(())
            } else {
                Err(error("gross", self.cell("gross"), problem.to_string()))
            }
        };
        let fee_return =
            (fee < 0).then(|| donation(entry_id(txn, "fee"), -fee, 0, "processor-return", None));
        let mut entries = match category {
            "charge" | "dispute_reversal" | "refund_failure" => {
                sign(1, "is not positive: money in")?;
                if fee > gross {
                    return Err(error(
                        "fee",
                        self.cell("fee"),
                        "is more than the gross".into(),
                    ));
                }
                let channel = if category == "charge" {
                    "stripe"
                } else {
                    "stripe-reversal"
                };
                let donor = [self.cell("customer_email"), self.cell("customer_id")]
                    .into_iter()
                    .find(|r| !r.is_empty())
                    .map(str::to_string);
                vec![donation(
                    entry_id(txn, ""),
                    gross,
                    fee.max(0),
                    channel,
                    donor,
                )]
            }
            "refund" | "dispute" => {
                sign(-1, "is not negative: money out")?;
                let purpose = if category == "refund" {
                    "refund"
                } else {
                    "dispute"
                };
                let mut out = vec![disbursement(
                    entry_id(txn, ""),
                    Payee::Refunds,
                    -gross,
                    purpose,
                )];
                if fee > 0 {
                    out.push(disbursement(
                        entry_id(txn, "fee"),
                        Payee::Processor,
                        fee,
                        "processor fee",
                    ));
                }
                out
            }
            "fee" => {
                sign(-1, "is not negative: a fee charged")?;
                vec![disbursement(
                    entry_id(txn, ""),
                    Payee::Processor,
                    -gross,
                    "processor fee",
                )]
            }
            other => {
                return Err(error(
                    "reporting_category",
                    other,
                    format!("is not a category this import knows ({KNOWN})"),
                ));
            }
        };
        entries.extend(fee_return);
        Ok(RowOutcome::Entries(entries))
    }
}

/// The entry id of transaction `txn` (`stripe:txn_…`, plus `:part`). A transaction id
/// outside what entry ids allow is replaced by `h` and the hex of its SHA-256's first 16
/// bytes, so the same transaction always gets the same id.
fn entry_id(txn: &str, part: &str) -> String {
    let suffix = if part.is_empty() {
        String::new()
    } else {
        format!(":{part}")
    };
    let plain = txn.len() <= 48
        && txn
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    let txn = if plain {
        txn.to_string()
    } else {
        let digest = sha2::Sha256::digest(txn.as_bytes());
        format!("h{}", hex::encode(&digest[..16]))
    };
    format!("stripe:{txn}{suffix}")
}

#[cfg(test)]
mod tests;
