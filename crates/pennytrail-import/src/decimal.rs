//! Decimal amounts in major units (`1,234.50`, `-0.25`, `12`) to integer minor units, by
//! the currency's exponent, with integer arithmetic only. More decimals than the currency
//! has (`10.005` EUR, `12.5` JPY) is an error, never a rounding.

use thiserror::Error;

/// How a file writes numbers: its decimal separator and its thousands separator, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NumberFormat {
    pub decimal: char,
    pub thousands: Option<char>,
}

impl NumberFormat {
    /// `1234.50`: a point, no grouping (Stripe's reports).
    pub const PLAIN: NumberFormat = NumberFormat {
        decimal: '.',
        thousands: None,
    };
    /// `1,234.50`: a point, commas between thousands (M-Pesa statements).
    pub const GROUPED: NumberFormat = NumberFormat {
        decimal: '.',
        thousands: Some(','),
    };
}

/// Why a text is not an amount, in words a person reads beside the value.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AmountError {
    #[error("is empty")]
    Empty,
    #[error("is not a number written as {example}")]
    NotANumber { example: &'static str },
    #[error("has {found} decimals; {currency} has {allowed}")]
    TooPrecise {
        found: usize,
        allowed: u16,
        currency: String,
    },
    #[error("is too large")]
    TooLarge,
}

/// The minor units of `text`, a decimal amount in major units of a currency with
/// `exponent` decimals (`code` names it in errors).
///
/// # Errors
/// An empty or malformed number, one with more decimals than the currency has, or one
/// past what minor units can hold.
pub fn minor_units(
    text: &str,
    exponent: u16,
    code: &str,
    format: NumberFormat,
) -> Result<i64, AmountError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(AmountError::Empty);
    }
    let not_a_number = || AmountError::NotANumber {
        example: if format.thousands.is_some() {
            "1,234.50"
        } else {
            "1234.50"
        },
    };
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (whole, fraction) = match digits.split_once(format.decimal) {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (digits, None),
    };
    let whole = ungrouped(whole, format.thousands).ok_or_else(not_a_number)?;
    let fraction = fraction.unwrap_or("");
    if whole.is_empty() && fraction.is_empty()
        || !fraction.bytes().all(|b| b.is_ascii_digit())
        || fraction.len() > 18
    {
        return Err(not_a_number());
    }
    // Trailing zeros past the currency's decimals change nothing (`10.500` EUR).
    let significant = fraction.trim_end_matches('0');
    if significant.len() > usize::from(exponent) {
        return Err(AmountError::TooPrecise {
            found: significant.len(),
            allowed: exponent,
            currency: code.to_string(),
        });
    }
    let mut units: i64 = 0;
    let exponent = usize::from(exponent);
    let padded = format!("{significant:0<exponent$}");
    for digit in whole.bytes().chain(padded.bytes()) {
        units = units
            .checked_mul(10)
            .and_then(|u| u.checked_add(i64::from(digit - b'0')))
            .ok_or(AmountError::TooLarge)?;
    }
    Ok(if negative { -units } else { units })
}

/// The digits of `whole` with its thousands separators taken out, if they group it in
/// threes (`1,234` but not `12,34`); `None` if it holds anything else.
fn ungrouped(whole: &str, thousands: Option<char>) -> Option<String> {
    let Some(separator) = thousands.filter(|s| whole.contains(*s)) else {
        return whole
            .bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| whole.to_string());
    };
    let groups: Vec<&str> = whole.split(separator).collect();
    let first = groups.first()?;
    let well_grouped = (1..=3).contains(&first.len())
        && groups[1..].iter().all(|g| g.len() == 3)
        && groups.iter().all(|g| g.bytes().all(|b| b.is_ascii_digit()));
    well_grouped.then(|| groups.concat())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eur(text: &str) -> Result<i64, AmountError> {
        minor_units(text, 2, "EUR", NumberFormat::PLAIN)
    }

    #[test]
    fn decimal_major_units_become_exact_minor_units() {
        assert_eq!(eur("10.00"), Ok(1000));
        assert_eq!(eur("10.5"), Ok(1050));
        assert_eq!(eur("10"), Ok(1000));
        assert_eq!(eur("0.01"), Ok(1));
        assert_eq!(eur(".5"), Ok(50));
        assert_eq!(eur("-2.35"), Ok(-235));
        assert_eq!(eur("10.500"), Ok(1050), "trailing zeros change nothing");
        assert_eq!(minor_units("12", 0, "JPY", NumberFormat::PLAIN), Ok(12));
        assert_eq!(minor_units("0.005", 3, "KWD", NumberFormat::PLAIN), Ok(5));
        let mpesa = |t| minor_units(t, 2, "KES", NumberFormat::GROUPED);
        assert_eq!(mpesa("1,234.50"), Ok(123_450));
        assert_eq!(mpesa("1,234,567"), Ok(123_456_700));
        assert_eq!(mpesa("-1,000.00"), Ok(-100_000));
    }

    #[test]
    fn anything_else_is_an_error_never_a_rounding() {
        assert_eq!(
            eur("10.005"),
            Err(AmountError::TooPrecise {
                found: 3,
                allowed: 2,
                currency: "EUR".into()
            })
        );
        assert!(matches!(
            minor_units("12.5", 0, "JPY", NumberFormat::PLAIN),
            Err(AmountError::TooPrecise { .. })
        ));
        for bad in [
            "", " ", "abc", "1.2.3", "1e3", "1,000", "--1", "1 000", ".", "-", "0x10", "１",
        ] {
            assert!(eur(bad).is_err(), "{bad:?}");
        }
        let mpesa = |t| minor_units(t, 2, "KES", NumberFormat::GROUPED);
        for bad in ["12,34", "1,2345", ",123", "1,,234"] {
            assert!(mpesa(bad).is_err(), "{bad:?}");
        }
        assert_eq!(eur("99999999999999999999"), Err(AmountError::TooLarge));
        assert_eq!(
            eur("10.005").unwrap_err().to_string(),
            "has 3 decimals; EUR has 2"
        );
    }
}
