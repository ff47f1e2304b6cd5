//! What an imported file becomes: for each row, the donation or disbursement it appends,
//! or the reason it is skipped, or what is wrong with it. The types say where each came
//! from (the file's physical line) and carry the donor's reference only to hand it to the
//! service, which commits it: it is never printed (`Debug` leaves it out).

use std::fmt;

/// A donation to append.
#[derive(Clone, PartialEq, Eq)]
pub struct Donation {
    /// The entry id, from the processor's own transaction id (`stripe:txn_…`).
    pub id: String,
    /// When it happened, RFC 3339 UTC (`2026-03-01T09:30:00Z`).
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
    /// The file's physical line (the header is line 1).
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

/// `YYYY-MM-DD HH:MM:SS` (a file's time, already in UTC) as RFC 3339 UTC; `None` if it
/// is not a real date and time.
pub fn utc_time(text: &str) -> Option<String> {
    let b = text.trim().as_bytes();
    let digits = |r: std::ops::Range<usize>| -> Option<u32> {
        let part = b.get(r)?;
        if !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(part).ok()?.parse().ok()
    };
    if b.len() != 19
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b' '
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let (year, month, day) = (digits(0..4)?, digits(5..7)?, digits(8..10)?);
    let (hour, minute, second) = (digits(11..13)?, digits(14..16)?, digits(17..19)?);
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if !(1970..=9999).contains(&year)
        || day == 0
        || day > days
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    Some(format!(
        "{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}Z"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_times_become_rfc3339_utc_or_nothing() {
        assert_eq!(
            utc_time("2026-03-01 09:30:00").as_deref(),
            Some("2026-03-01T09:30:00Z")
        );
        assert_eq!(
            utc_time("2024-02-29 23:59:59").as_deref(),
            Some("2024-02-29T23:59:59Z")
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
            occurred_at: "2026-03-01T09:30:00Z".into(),
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
