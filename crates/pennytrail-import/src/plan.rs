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

/// `YYYY-MM-DD HH:MM:SS` (a file's time, already in UTC) as RFC 3339 UTC; `None` if it
/// is not a real date and time.
pub fn utc_time(text: &str) -> Option<String> {
    local_time_to_utc(text, 0)
}

/// `YYYY-MM-DD HH:MM:SS` in a zone `offset_hours` ahead of UTC (3 for East Africa Time)
/// as RFC 3339 UTC; `None` if it is not a real date and time.
pub fn local_time_to_utc(text: &str, offset_hours: i64) -> Option<String> {
    let b = text.trim().as_bytes();
    let digits = |r: std::ops::Range<usize>| -> Option<i64> {
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
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if !(1970..=9999).contains(&year)
        || day == 0
        || day > days_in_month
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    let seconds = days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second
        - offset_hours * 3600;
    let (days, rest) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    let (year, month, day) = civil_from_days(days);
    Some(format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    ))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The date `days` after 1970-01-01 (the inverse of [`days_from_civil`]).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
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
            Some("2026-03-01T06:30:00Z")
        );
        assert_eq!(
            eat("2026-03-01 01:00:00").as_deref(),
            Some("2026-02-28T22:00:00Z")
        );
        assert_eq!(
            eat("2024-03-01 02:59:59").as_deref(),
            Some("2024-02-29T23:59:59Z")
        );
        assert_eq!(
            eat("2027-01-01 00:00:00").as_deref(),
            Some("2026-12-31T21:00:00Z")
        );
        assert_eq!(eat("2026-02-29 10:00:00"), None);
        for days in [0, 59, 365, 10_957, 20_454, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }

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
