//! What an imported file becomes: for each row, the donation or disbursement it appends,
//! or the reason it is skipped, or what is wrong with it. The types say where each came
//! from (the file's physical line) and carry the donor's reference only to hand it to the
//! service, which commits it: it is never printed (`Debug` leaves it out).

use std::fmt;

use pennytrail_log::time::UnixMillis;

/// A donation to append.
#[derive(Clone, PartialEq, Eq)]
pub struct Donation {
    /// The entry id, from the processor's own transaction id (`stripe:txn_…`).
    pub id: String,
    /// When it happened, as entries write times (`2026-03-01T09:30:00.000Z`).
    pub occurred_at: String,
    /// ISO 4217, upper case.
    pub currency: String,
    pub amount: i64,
    pub fee: i64,
    pub channel: &'static str,
    /// The donor's reference (an email, a phone number, an IBAN) for the service to
    /// commit; personal, so never shown.
    pub donor_ref: Option<String>,
}

impl fmt::Debug for Donation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Donation")
            .field("id", &self.id)
            .field("occurred_at", &self.occurred_at)
            .field("currency", &self.currency)
            .field("amount", &self.amount)
            .field("fee", &self.fee)
            .field("channel", &self.channel)
            .field("donor_ref", &self.donor_ref.as_ref().map(|_| "(withheld)"))
            .finish()
    }
}

/// Who a disbursement pays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payee {
    /// The campaign's refunds beneficiary (money returned to donors).
    Refunds,
    /// The processor or bank, for its charges (a stated `supplier`).
    Processor,
    /// A person, by the pseudonym the charity's secret derives from their number; the
    /// import registers and states them when new. `label` names nobody either.
    Person { id: String, label: String },
    /// A beneficiary the charity named for an account (a bank statement's creditor).
    Beneficiary(String),
}

/// A disbursement to append.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disbursement {
    pub id: String,
    pub occurred_at: String,
    pub currency: String,
    pub payee: Payee,
    pub amount: i64,
    /// What it was, in words that name nobody (never a file's free-text column).
    pub purpose: &'static str,
}

/// One entry a row becomes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Planned {
    Donation(Donation),
    Disbursement(Disbursement),
}

impl Planned {
    pub fn id(&self) -> &str {
        match self {
            Planned::Donation(d) => &d.id,
            Planned::Disbursement(d) => &d.id,
        }
    }

    pub fn occurred_at(&self) -> &str {
        match self {
            Planned::Donation(d) => &d.occurred_at,
            Planned::Disbursement(d) => &d.occurred_at,
        }
    }
}

/// What one row of a file comes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowOutcome {
    /// The entries it appends (a refund with a fee is two).
    Entries(Vec<Planned>),
    /// Not the books' business (a move between the charity's own accounts), and why.
    Skipped { id: String, reason: String },
}

/// What is wrong with a row: where, and the value (never a personal column's value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// The file's physical line (the header is line 1; in XML, where the entry starts).
    pub line: u64,
    pub column: String,
    pub value: String,
    pub problem: String,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}, column {}: {:?} {}",
            self.line, self.column, self.value, self.problem
        )
    }
}

/// A row of a file read: its line, and what it comes to or what is wrong with it.
pub type Row = (u64, Result<RowOutcome, RowError>);

/// `YYYY-MM-DD HH:MM:SS` (a file's time, already in UTC) as an entry writes times
/// (`2026-03-01T09:30:00.000Z`, what `occurred_at` takes); `None` if it is not a real
/// date and time from 1970 on.
pub fn utc_time(text: &str) -> Option<String> {
    local_time_to_utc(text, 0)
}

/// `YYYY-MM-DD HH:MM:SS` in a zone `offset_hours` ahead of UTC (3 for East Africa Time)
/// as an entry writes times; `None` if it is not a real date and time from 1970 on.
pub fn local_time_to_utc(text: &str, offset_hours: i64) -> Option<String> {
    let (date, time) = text.trim().split_once(' ')?;
    // The log's own parser checks every field (month lengths, leap years, the range).
    let local = UnixMillis::parse(&format!("{date}T{time}.000Z")).ok()?;
    let utc = UnixMillis(local.0 - offset_hours * 3_600_000);
    (utc.0 >= 0).then(|| utc.format())
}

/// The entry id of a file's transaction `txn` (`stripe:txn_…`, `mpesa:QK…`, plus
/// `:part`). A transaction id outside what entry ids allow is replaced by `h` and the hex
/// of its SHA-256's first 16 bytes, so the same transaction always gets the same id.
pub fn entry_id(source: &str, txn: &str, part: &str) -> String {
    use sha2::Digest as _;
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
    format!("{source}:{txn}{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_times_move_to_utc_across_days_months_and_years() {
        let eat = |t| local_time_to_utc(t, 3);
        assert_eq!(
            eat("2026-03-01 09:30:00").as_deref(),
            Some("2026-03-01T06:30:00.000Z")
        );
        assert_eq!(
            eat("2026-03-01 01:00:00").as_deref(),
            Some("2026-02-28T22:00:00.000Z")
        );
        assert_eq!(
            eat("2024-03-01 02:59:59").as_deref(),
            Some("2024-02-29T23:59:59.000Z")
        );
        assert_eq!(
            eat("2027-01-01 00:00:00").as_deref(),
            Some("2026-12-31T21:00:00.000Z")
        );
        assert_eq!(eat("2026-02-29 10:00:00"), None);
        assert_eq!(eat("1970-01-01 02:00:00"), None, "before 1970 in UTC");
    }

    #[test]
    fn file_times_become_rfc3339_utc_or_nothing() {
        assert_eq!(
            utc_time("2026-03-01 09:30:00").as_deref(),
            Some("2026-03-01T09:30:00.000Z")
        );
        assert_eq!(
            utc_time("2024-02-29 23:59:59").as_deref(),
            Some("2024-02-29T23:59:59.000Z")
        );
        for bad in [
            "2025-02-29 00:00:00",
            "2026-13-01 00:00:00",
            "2026-03-01T09:30:00",
            "2026-03-01",
            "2026-03-01 24:00:00",
            "",
        ] {
            assert_eq!(utc_time(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_donors_reference_is_never_printed() {
        let d = Donation {
            id: "stripe:txn_1".into(),
            occurred_at: "2026-03-01T09:30:00.000Z".into(),
            currency: "EUR".into(),
            amount: 500,
            fee: 30,
            channel: "stripe",
            donor_ref: Some("ana@example.org".into()),
        };
        let shown = format!("{d:?} {:?}", Planned::Donation(d.clone()));
        assert!(
            !shown.contains("ana@example.org") && shown.contains("(withheld)"),
            "{shown}"
        );
    }
}
