//! Amounts, counts, shares and dates written the reader's way: `€1,234.56` and
//! `KSh 1,000.00` in English and Swahili, `1 234,56 €` in French; `7 December 2026,
//! 01:48 UTC`. Integer arithmetic only; the month names come from the catalogues.

use pennytrail_ledger::money::grouped;

use super::{Arg, Locale, current, t, t_args};

/// How a language writes numbers and where an amount's currency goes.
struct Conventions {
    group: &'static str,
    decimal: &'static str,
    /// The currency after the number (`1 234,56 €`), else before (`€1,234.56`).
    currency_after: bool,
    percent: &'static str,
}

fn conventions(locale: Locale) -> Conventions {
    match locale {
        Locale::En | Locale::Sw => Conventions {
            group: ",",
            decimal: ".",
            currency_after: false,
            percent: "%",
        },
        Locale::Fr => Conventions {
            group: "\u{202F}",
            decimal: ",",
            currency_after: true,
            percent: "\u{00A0}%",
        },
    }
}

/// A currency's sign where it is unambiguous (`$` is not: it is a dozen currencies),
/// else its ISO code; and whether the sign is a letter-word needing a space (`KSh 5`).
fn currency_sign(code: &str) -> (&str, bool) {
    match code {
        "EUR" => ("€", false),
        "GBP" => ("£", false),
        "KES" => ("KSh", true),
        "TZS" => ("TSh", true),
        "UGX" => ("USh", true),
        other => (other, true),
    }
}

/// A count (entries, donations) with the reader's thousands separator.
pub fn count(n: i64) -> String {
    count_in(current(), n)
}

pub(super) fn count_in(locale: Locale, n: i64) -> String {
    let sign = if n < 0 { "-" } else { "" };
    format!(
        "{sign}{}",
        grouped(&n.unsigned_abs().to_string(), conventions(locale).group)
    )
}

/// `minor_units` of the currency `code`, for the reader. A code that is not an ISO 4217
/// currency (read back from a damaged store) is shown as it is, in minor units.
pub fn amount(code: &str, minor_units: i64) -> String {
    amount_in(current(), code, minor_units)
}

pub(super) fn amount_in(locale: Locale, code: &str, minor_units: i64) -> String {
    let Ok(currency) = pennytrail_ledger::money::Currency::parse("currency", code) else {
        return super::message(
            locale,
            "amount-unknown-currency",
            &[
                ("units", Arg::Number(minor_units)),
                ("code", Arg::Text(code)),
            ],
            false,
        );
    };
    let c = conventions(locale);
    let (whole, fraction) = currency.major_digits(i128::from(minor_units));
    let mut number = grouped(&whole, c.group);
    if !fraction.is_empty() {
        number.push_str(c.decimal);
        number.push_str(&fraction);
    }
    let sign = if minor_units < 0 { "-" } else { "" };
    let (symbol, word) = currency_sign(currency.code());
    if c.currency_after {
        format!("{sign}{number}\u{00A0}{symbol}")
    } else if word {
        format!("{sign}{symbol}\u{00A0}{number}")
    } else {
        format!("{sign}{symbol}{number}")
    }
}

/// A share in tenths of a percent (the API's `share_permille`): `12.3%`, `12,3 %`.
pub fn permille(share_permille: i64) -> String {
    let c = conventions(current());
    format!(
        "{}{}{}{}",
        share_permille / 10,
        c.decimal,
        share_permille.rem_euclid(10),
        c.percent
    )
}

/// An RFC 3339 UTC time as the service writes them (`2026-12-07T01:48:02.399Z`) for the
/// reader, to the minute: `7 December 2026, 01:48 UTC`. Anything else is shown as it is.
pub fn date_time(iso: &str) -> String {
    let Some((year, month, day, time)) = parse_utc(iso) else {
        return iso.to_string();
    };
    let month_name = t(&format!("month-{month}"));
    t_args(
        "date-time",
        &[
            ("day", Arg::Number(i64::from(day))),
            ("month", Arg::Text(&month_name)),
            ("year", Arg::Text(&year.to_string())),
            ("time", Arg::Text(time)),
        ],
    )
}

/// Year, month, day and `HH:MM` of `YYYY-MM-DDTHH:MM…Z`.
fn parse_utc(iso: &str) -> Option<(u16, u8, u8, &str)> {
    let bytes = iso.as_bytes();
    let digits = |range: std::ops::Range<usize>| -> Option<u16> {
        let part = iso.get(range)?;
        part.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    if bytes.len() < 17
        || bytes[4] != b'-'
        || bytes[7] != b'-'
        || bytes[10] != b'T'
        || bytes[13] != b':'
        || !iso.ends_with('Z')
    {
        return None;
    }
    let year = digits(0..4)?;
    let month = u8::try_from(digits(5..7)?)
        .ok()
        .filter(|m| (1..=12).contains(m))?;
    let day = u8::try_from(digits(8..10)?)
        .ok()
        .filter(|d| (1..=31).contains(d))?;
    digits(11..13)?;
    digits(14..16)?;
    Some((year, month, day, iso.get(11..16)?))
}

/// The number formatter each catalogue is given: counts in messages grouped the
/// language's way. Numbers reach messages only from [`Arg::Number`], so they are whole.
pub(super) fn number_formatter(
    locale: Locale,
) -> fn(&fluent_bundle::FluentValue, &intl_memoizer::concurrent::IntlLangMemoizer) -> Option<String>
{
    fn whole(value: &fluent_bundle::FluentValue) -> Option<i64> {
        match value {
            fluent_bundle::FluentValue::Number(n) => n.as_string().parse().ok(),
            _ => None,
        }
    }
    match locale {
        Locale::En => |v, _| whole(v).map(|n| count_in(Locale::En, n)),
        Locale::Fr => |v, _| whole(v).map(|n| count_in(Locale::Fr, n)),
        Locale::Sw => |v, _| whole(v).map(|n| count_in(Locale::Sw, n)),
    }
}
