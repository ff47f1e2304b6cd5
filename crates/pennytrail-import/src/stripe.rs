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

use std::io::Read;

use crate::table::{FileError, Table, currency};

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

/// The rows of a Stripe report, read one at a time.
pub struct StripeRows<R: Read> {
    table: Table<R>,
    currency: &'static str,
    exponent: u16,
}

/// Opens a report whose rows go to a campaign in `campaign_currency` (`EUR`).
///
/// # Errors
/// No header, a missing column, or a currency that is not ISO 4217.
pub fn open<R: Read>(input: R, campaign_currency: &str) -> Result<StripeRows<R>, FileError> {
    let (currency, exponent) = currency(campaign_currency)?;
    Ok(StripeRows {
        table: Table::open(input, &COLUMNS, "a Stripe itemized balance report")?,
        currency,
        exponent,
    })
}

impl<R: Read> Iterator for StripeRows<R> {
    type Item = Row;

    fn next(&mut self) -> Option<Row> {
        Some(match self.table.next_record()? {
            Ok(line) => (line, self.row(line)),
            Err(e) => (e.line, Err(e)),
        })
    }
}

impl<R: Read> StripeRows<R> {
    fn cell(&self, column: &'static str) -> &str {
        self.table.cell(column)
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

/// The entry id of Stripe transaction `txn`, plus `:part`.
fn entry_id(txn: &str, part: &str) -> String {
    crate::plan::entry_id("stripe", txn, part)
}

#[cfg(test)]
mod tests;
