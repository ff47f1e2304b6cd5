//! Money: integer amounts in a currency's minor units, and ISO 4217 currencies with their
//! exponents. There is no floating point anywhere near money.

use serde::{Deserialize, Serialize};

use super::fields::FieldError;
use pennytrail_log::canonical::MAX_SAFE_INTEGER;

/// A non-negative amount in minor units (cents for EUR, yen for JPY, fils/1000 for KWD).
/// Bounded by 2^53 − 1 so every JSON reader represents it exactly.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Amount(i64);

impl Amount {
    pub const ZERO: Amount = Amount(0);

    /// Any amount from 0 to 2^53 − 1.
    pub fn non_negative(field: &str, minor_units: i64) -> Result<Amount, FieldError> {
        if minor_units < 0 {
            return Err(FieldError::new(field, "must not be negative"));
        }
        if minor_units > MAX_SAFE_INTEGER {
            return Err(FieldError::new(
                field,
                "must be at most 9007199254740991 (2^53-1) minor units",
            ));
        }
        Ok(Amount(minor_units))
    }

    /// An amount of at least one minor unit.
    pub fn positive(field: &str, minor_units: i64) -> Result<Amount, FieldError> {
        if minor_units <= 0 {
            return Err(FieldError::new(
                field,
                "must be a positive integer number of minor units",
            ));
        }
        Amount::non_negative(field, minor_units)
    }

    pub fn minor_units(self) -> i64 {
        self.0
    }

    /// Sum, or None past 2^53 − 1.
    pub fn checked_add(self, other: Amount) -> Option<Amount> {
        self.0
            .checked_add(other.0)
            .filter(|v| *v <= MAX_SAFE_INTEGER)
            .map(Amount)
    }

    /// Difference, or None below zero.
    pub fn checked_sub(self, other: Amount) -> Option<Amount> {
        self.0.checked_sub(other.0).filter(|v| *v >= 0).map(Amount)
    }
}

impl std::fmt::Display for Amount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// An ISO 4217 currency that has minor units (funds and precious metals, which have none,
/// are refused).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Currency {
    code: &'static str,
    exponent: u16,
}

impl Currency {
    pub fn parse(field: &str, code: &str) -> Result<Currency, FieldError> {
        let currency = (code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase()))
            .then(|| iso_currency::Currency::from_code(code))
            .flatten()
            .ok_or_else(|| {
                FieldError::new(
                    field,
                    format!("{code:?} is not an ISO 4217 currency code such as EUR or KES"),
                )
            })?;
        let exponent = currency.exponent().ok_or_else(|| {
            FieldError::new(
                field,
                format!("{code} has no minor unit; use a currency such as EUR"),
            )
        })?;
        Ok(Currency {
            code: currency.code(),
            exponent,
        })
    }

    pub fn code(&self) -> &'static str {
        self.code
    }

    /// Digits after the decimal point: 2 for EUR, 0 for JPY, 3 for KWD.
    pub fn exponent(&self) -> u16 {
        self.exponent
    }

    /// The digits of `|minor_units|` in major units: before the decimal point (at least
    /// `0`) and after it (as many as the exponent): `("1234", "50")` for 123450 EUR.
    pub fn major_digits(&self, minor_units: i128) -> (String, String) {
        let digits = minor_units.unsigned_abs().to_string();
        let exponent = usize::from(self.exponent);
        let padded = format!("{digits:0>width$}", width = exponent + 1);
        let (whole, fraction) = padded.split_at(padded.len() - exponent);
        (whole.to_string(), fraction.to_string())
    }

    /// `minor_units` written for people: the ISO code (unambiguous, unlike `$`), then the
    /// amount with as many decimals as the currency's exponent and its thousands grouped
    /// by commas: `EUR 1,234.50`, `JPY 1,200`, `KWD 0.005`. Integer arithmetic only. The
    /// formatter of amounts in the CLI's output and error details; the explorer writes
    /// them the reader's way from the same digits ([`Currency::major_digits`]). It takes
    /// sums past `i64` too (a verifier's totals over many campaigns).
    pub fn format(&self, minor_units: impl Into<i128>) -> String {
        let minor_units: i128 = minor_units.into();
        let (whole, fraction) = self.major_digits(minor_units);
        let grouped = grouped(&whole, ",");
        let sign = if minor_units < 0 { "-" } else { "" };
        if fraction.is_empty() {
            format!("{} {sign}{grouped}", self.code)
        } else {
            format!("{} {sign}{grouped}.{fraction}", self.code)
        }
    }
}

/// `digits` (ASCII) with `separator` between each group of three from the right:
/// `grouped("1234567", ",")` is `1,234,567`.
pub fn grouped(digits: &str, separator: &str) -> String {
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 * separator.len());
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push_str(separator);
        }
        out.push(digit);
    }
    out
}

/// `minor_units` of the currency whose code is `code`, formatted as [`Currency::format`]
/// does, for amounts whose code was read back from storage or a bundle: a code that
/// somehow does not parse is shown as it is rather than failing what prints it.
pub fn format_in(code: &str, minor_units: impl Into<i128>) -> String {
    let minor_units: i128 = minor_units.into();
    match Currency::parse("currency", code) {
        Ok(c) => c.format(minor_units),
        Err(_) => format!("{minor_units} minor units of {code}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_bounded_integers() {
        assert!(Amount::positive("amount", 0).is_err());
        assert!(Amount::positive("amount", -1).is_err());
        assert!(Amount::non_negative("fee", 0).is_ok());
        assert!(Amount::non_negative("fee", MAX_SAFE_INTEGER + 1).is_err());
        let max = Amount::non_negative("x", MAX_SAFE_INTEGER).unwrap();
        assert_eq!(max.checked_add(Amount(1)), None);
        assert_eq!(Amount(1).checked_sub(Amount(2)), None);
    }

    #[test]
    fn amounts_are_formatted_with_their_currency_exponent() {
        let format = |code: &str, minor: i64| Currency::parse("c", code).unwrap().format(minor);
        assert_eq!(format("EUR", 0), "EUR 0.00");
        assert_eq!(format("EUR", 5), "EUR 0.05");
        assert_eq!(format("EUR", 123_450), "EUR 1,234.50");
        assert_eq!(format("EUR", -1), "EUR -0.01");
        assert_eq!(format("JPY", 1_200), "JPY 1,200");
        assert_eq!(format("JPY", 999), "JPY 999");
        assert_eq!(format("KWD", 5), "KWD 0.005");
        assert_eq!(format("KWD", 1_234_567), "KWD 1,234.567");
        assert_eq!(format("KES", 100_000_000), "KES 1,000,000.00");
        assert_eq!(format("EUR", MAX_SAFE_INTEGER), "EUR 90,071,992,547,409.91");
        assert_eq!(format("JPY", i64::MIN), "JPY -9,223,372,036,854,775,808");
        let eur = Currency::parse("c", "EUR").unwrap();
        assert_eq!(
            eur.format(i128::from(MAX_SAFE_INTEGER) * 3),
            "EUR 270,215,977,642,229.73"
        );
    }

    #[test]
    fn currencies_carry_their_exponent() {
        assert_eq!(Currency::parse("c", "EUR").unwrap().exponent(), 2);
        assert_eq!(Currency::parse("c", "JPY").unwrap().exponent(), 0);
        assert_eq!(Currency::parse("c", "KWD").unwrap().exponent(), 3);
        for bad in ["eur", "EURO", "XXY", "", "XAU"] {
            assert_eq!(
                Currency::parse("currency", bad).unwrap_err().field,
                "currency",
                "{bad}"
            );
        }
    }
}
