//! Published caps on payouts to people. A campaign may state, when it opens, how much each
//! of its beneficiaries of kind `person` may receive from it per UTC calendar day and per
//! UTC calendar month, and how many payouts each may receive per day. A payout counts in
//! the day and month of its `occurred_at` where it gives one (never later than its entry's
//! `time`), else of its entry's `time`, so a month of payouts imported in one run is counted
//! by when they happened.
//!
//! [`count_payout`] is the only place the caps are checked: the sequencer refuses a payout
//! that would pass one, and the verifier refuses a log that holds one.

use serde_json::{Map, Value};

use super::fields::FieldError;
use super::money::{Amount, Currency};
use super::rule::Rule;
use super::rules::{LedgerState, RuleViolation};
use pennytrail_log::time::UnixMillis;

/// The names of the limits, as `campaign.opened` and the API spell them.
pub const MAX_PER_PERSON_PER_DAY: &str = "max_per_person_per_day";
pub const MAX_PER_PERSON_PER_MONTH: &str = "max_per_person_per_month";
pub const MAX_PAYOUTS_PER_PERSON_PER_DAY: &str = "max_payouts_per_person_per_day";

/// A campaign's limits on payouts to each of its `person` beneficiaries; `None` is no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PayoutLimits {
    /// Most minor units one person may receive from the campaign in one UTC day.
    pub max_per_person_per_day: Option<Amount>,
    /// Most minor units one person may receive from the campaign in one UTC month.
    pub max_per_person_per_month: Option<Amount>,
    /// Most payouts one person may receive from the campaign in one UTC day.
    pub max_payouts_per_person_per_day: Option<u64>,
}

impl PayoutLimits {
    /// Validates limits as a request or an entry states them: each, when given, at least 1.
    pub fn parse(
        per_day: Option<i64>,
        per_month: Option<i64>,
        payouts_per_day: Option<i64>,
    ) -> Result<PayoutLimits, FieldError> {
        let amount =
            |field: &str, value: Option<i64>| value.map(|v| Amount::positive(field, v)).transpose();
        Ok(PayoutLimits {
            max_per_person_per_day: amount(MAX_PER_PERSON_PER_DAY, per_day)?,
            max_per_person_per_month: amount(MAX_PER_PERSON_PER_MONTH, per_month)?,
            max_payouts_per_person_per_day: payouts_per_day
                .map(|n| {
                    Amount::positive(MAX_PAYOUTS_PER_PERSON_PER_DAY, n)
                        .map(|a| a.minor_units() as u64)
                        .map_err(|_| {
                            FieldError::new(
                                MAX_PAYOUTS_PER_PERSON_PER_DAY,
                                "must be a whole number of payouts, at least 1",
                            )
                        })
                })
                .transpose()?,
        })
    }

    /// Whether the campaign states no limit at all.
    pub fn is_none(&self) -> bool {
        *self == PayoutLimits::default()
    }

    /// Writes the limits that are set into an entry's fields.
    pub fn write(&self, body: &mut Map<String, Value>) {
        if let Some(a) = self.max_per_person_per_day {
            body.insert(MAX_PER_PERSON_PER_DAY.into(), a.minor_units().into());
        }
        if let Some(a) = self.max_per_person_per_month {
            body.insert(MAX_PER_PERSON_PER_MONTH.into(), a.minor_units().into());
        }
        if let Some(n) = self.max_payouts_per_person_per_day {
            body.insert(MAX_PAYOUTS_PER_PERSON_PER_DAY.into(), n.into());
        }
    }
}

/// A UTC calendar day (`2026-12-07`) or month (`2026-12`): what a cap counts within.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Period(String);

impl Period {
    pub fn day(at: UnixMillis) -> Period {
        Period(at.format()[..10].to_string())
    }

    pub fn month(at: UnixMillis) -> Period {
        Period(at.format()[..7].to_string())
    }

    /// A period as stored (`YYYY-MM-DD` or `YYYY-MM`), if it is one.
    pub fn parse(text: &str) -> Option<Period> {
        let probe = match text.len() {
            10 => format!("{text}T00:00:00.000Z"),
            7 => format!("{text}-01T00:00:00.000Z"),
            _ => return None,
        };
        UnixMillis::parse(&probe)
            .ok()
            .map(|_| Period(text.to_string()))
    }

    pub fn is_day(&self) -> bool {
        self.0.len() == 10
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Period {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What one person has received from one campaign within one period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PersonPayouts {
    pub paid: Amount,
    pub payouts: u64,
}

/// When a payout counts: its `occurred_at` where given, else its entry's `time`.
///
/// # Errors
/// `occurred-after-time` when `occurred_at` is later than the entry's `time` (a payout
/// cannot be logged before it happened); `invalid-field` when it is not a time.
pub fn counted_at(
    occurred_at: Option<&str>,
    time: UnixMillis,
) -> Result<UnixMillis, RuleViolation> {
    let Some(text) = occurred_at else {
        return Ok(time);
    };
    let at = UnixMillis::parse(text).map_err(|e| RuleViolation {
        rule: Rule::InvalidField,
        field: "occurred_at".into(),
        message: e.to_string(),
    })?;
    if at > time {
        return Err(RuleViolation {
            rule: Rule::OccurredAfterTime,
            field: "occurred_at".into(),
            message: format!(
                "occurred_at {text} is later than the entry's time {}: a payout is logged after it happens",
                time.format()
            ),
        });
    }
    Ok(at)
}

/// The two periods a payout at `at` counts in: its day and its month.
pub fn periods(at: UnixMillis) -> [Period; 2] {
    [Period::day(at), Period::month(at)]
}

/// A payout of `amount` to person `beneficiary` from a campaign with `limits`, counted at
/// `at`: refused with `cap-exceeded` if it would pass a limit, else added to the person's
/// day and month.
#[allow(clippy::too_many_arguments)]
pub fn count_payout<S: LedgerState>(
    state: &mut S,
    org: &str,
    campaign: &str,
    beneficiary: &str,
    limits: &PayoutLimits,
    currency: Currency,
    amount: Amount,
    at: UnixMillis,
) -> Result<(), RuleViolation> {
    let [day, month] = periods(at);
    let mut on_day = state.person_payouts(org, campaign, beneficiary, &day);
    let mut in_month = state.person_payouts(org, campaign, beneficiary, &month);
    // `so_far` is what the person was paid in `period` before this payout.
    let refuse = |limit: &str, field: &str, period: &Period, so_far: PersonPayouts, said| {
        let (paid, payouts) = (currency.format(so_far.paid.minor_units()), so_far.payouts);
        let on_or_in = if period.is_day() { "on" } else { "in" };
        RuleViolation {
            rule: Rule::CapExceeded,
            field: field.into(),
            message: format!(
                "campaign {campaign:?} allows {said} ({limit}); {beneficiary:?} was already paid {paid} in {payouts} payouts {on_or_in} {period}"
            ),
        }
    };
    if let Some(max) = limits.max_payouts_per_person_per_day
        && on_day.payouts >= max
    {
        return Err(refuse(
            MAX_PAYOUTS_PER_PERSON_PER_DAY,
            "beneficiary",
            &day,
            on_day,
            format!("at most {max} payouts per person per UTC day"),
        ));
    }
    for (max, so_far, limit, period, per) in [
        (
            limits.max_per_person_per_day,
            on_day,
            MAX_PER_PERSON_PER_DAY,
            &day,
            "day",
        ),
        (
            limits.max_per_person_per_month,
            in_month,
            MAX_PER_PERSON_PER_MONTH,
            &month,
            "month",
        ),
    ] {
        if let Some(max) = max
            && so_far.paid.minor_units() + amount.minor_units() > max.minor_units()
        {
            return Err(refuse(
                limit,
                "amount",
                period,
                so_far,
                format!(
                    "at most {} per person per UTC {per}, so {} more is over it",
                    currency.format(max.minor_units()),
                    currency.format(amount.minor_units())
                ),
            ));
        }
    }
    // Within the limits, so within 2^53 − 1 as well.
    on_day.paid = on_day.paid.checked_add(amount).unwrap_or(on_day.paid);
    on_day.payouts += 1;
    in_month.paid = in_month.paid.checked_add(amount).unwrap_or(in_month.paid);
    in_month.payouts += 1;
    state.put_person_payouts(org, campaign, beneficiary, &day, on_day);
    state.put_person_payouts(org, campaign, beneficiary, &month, in_month);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_are_utc_days_and_months() {
        let at = UnixMillis::parse("2026-12-31T23:59:59.999Z").unwrap();
        assert_eq!(Period::day(at).as_str(), "2026-12-31");
        assert_eq!(Period::month(at).as_str(), "2026-12");
        let next = UnixMillis(at.0 + 1);
        assert_eq!(Period::day(next).as_str(), "2027-01-01");
        assert_eq!(Period::parse("2026-02"), Some(Period("2026-02".into())));
        assert_eq!(Period::parse("2026-02-29"), None);
        assert_eq!(Period::parse("2026-13"), None);
        assert_eq!(Period::parse("x"), None);
    }

    #[test]
    fn limits_are_positive_integers() {
        assert!(PayoutLimits::parse(None, None, None).unwrap().is_none());
        assert_eq!(
            PayoutLimits::parse(Some(0), None, None).unwrap_err().field,
            MAX_PER_PERSON_PER_DAY
        );
        assert_eq!(
            PayoutLimits::parse(None, Some(-5), None).unwrap_err().field,
            MAX_PER_PERSON_PER_MONTH
        );
        assert_eq!(
            PayoutLimits::parse(None, None, Some(0)).unwrap_err().field,
            MAX_PAYOUTS_PER_PERSON_PER_DAY
        );
        let limits = PayoutLimits::parse(Some(500), Some(2000), Some(3)).unwrap();
        let mut body = Map::new();
        limits.write(&mut body);
        assert_eq!(body.len(), 3);
        assert_eq!(body[MAX_PAYOUTS_PER_PERSON_PER_DAY], 3);
    }

    #[test]
    fn a_payout_counts_when_it_occurred_never_after_its_entry() {
        let time = UnixMillis::parse("2026-12-07T10:00:00.000Z").unwrap();
        assert_eq!(counted_at(None, time).unwrap(), time);
        let earlier = "2026-11-30T09:00:00.000Z";
        assert_eq!(
            counted_at(Some(earlier), time).unwrap(),
            UnixMillis::parse(earlier).unwrap()
        );
        assert_eq!(
            counted_at(Some("2026-12-07T10:00:00.000Z"), time).unwrap(),
            time
        );
        let late = counted_at(Some("2026-12-07T10:00:00.001Z"), time).unwrap_err();
        assert_eq!(
            (late.rule, late.field.as_str()),
            (Rule::OccurredAfterTime, "occurred_at")
        );
    }
}
