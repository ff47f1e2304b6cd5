//! Replaying logged entries through the money rules: what `pennytrail check` and the
//! verifier do to every entry. Each entry is read back as a record exactly as strictly as
//! a client's request, the rules are applied to the state built from the entries before
//! it, and the fields the log derived (`net`, `received_before`, `disbursed_before`,
//! `currency`) must equal what the rules derive.

use super::records::{Derived, Record};
use super::report_book::ReportBook;
use super::rule::Rule;
use super::rules::{LedgerState, apply};
use super::state::LedgerMemory;
use pennytrail_log::entry::Entry;
use pennytrail_log::hash::Hash;

/// The first way an entry breaks the money rules.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("entry {seq}: field {field}: {rule}: {message}")]
pub struct ReplayError {
    pub seq: u64,
    pub field: String,
    /// The rule broken: a rule name from [`super::rules`], `invalid-field`, or
    /// `wrong-derived-field` when a running total or position disagrees with the log.
    pub rule: Rule,
    pub message: String,
}

/// Applies one logged entry to `state`, checking it against the rules. Returns the
/// entry's record and derived fields as read (and checked).
pub fn replay_entry<S: LedgerState>(
    state: &mut S,
    entry: &Entry,
) -> Result<(Record, Derived), ReplayError> {
    let error = |field: String, rule: Rule, message: String| ReplayError {
        seq: entry.seq,
        field,
        rule,
        message,
    };
    let org = entry.org.as_deref().ok_or_else(|| {
        error(
            "org".into(),
            Rule::InvalidField,
            "every entry kind belongs to an org".into(),
        )
    })?;
    let (record, logged) = Record::from_entry(entry)
        .map_err(|e| error(e.field.clone(), Rule::InvalidField, e.message.clone()))?;
    let derived = apply(state, org, entry.seq, entry.time, &record)
        .map_err(|v| error(v.field, v.rule, v.message))?;
    if logged != Derived::Nothing && logged != derived {
        let (field, said, implied) = first_difference(&logged, &derived);
        return Err(error(
            field.to_string(),
            Rule::WrongDerivedField,
            format!("the entry says {said} but the entries before it imply {implied}"),
        ));
    }
    Ok((record, logged))
}

/// A whole log replayed in order: the rules' state, the report book that checks every
/// report's figures, and each disbursement's leaf hash for acknowledgements. What
/// `pennytrail check`, the bundle verifier and the live monitor run.
pub struct Replayer {
    state: LedgerMemory,
    book: ReportBook,
}

impl Replayer {
    pub fn new(origin: &str) -> Replayer {
        Replayer {
            state: LedgerMemory::new(origin),
            book: ReportBook::new(),
        }
    }

    /// Replays the next entry, whose leaf hash is `leaf`.
    pub fn replay(&mut self, entry: &Entry, leaf: Hash) -> Result<(Record, Derived), ReplayError> {
        let (record, derived) = replay_entry(&mut self.state, entry)?;
        let org = entry.org.as_deref().unwrap_or_default();
        if let Record::Report(r) = &record {
            r.check_figures(&self.book.figures(org, r.from_size, r.to_size))
                .map_err(|v| ReplayError {
                    seq: entry.seq,
                    field: v.field,
                    rule: v.rule,
                    message: v.message,
                })?;
        }
        self.book.push(org, entry.seq, &record, &derived);
        self.state.note_leaf(org, &record, leaf);
        Ok((record, derived))
    }

    pub fn state(&self) -> &LedgerMemory {
        &self.state
    }
}

fn first_difference(logged: &Derived, derived: &Derived) -> (&'static str, String, String) {
    match (logged, derived) {
        (
            Derived::Donation {
                currency: c1,
                net: n1,
                received_before: r1,
            },
            Derived::Donation {
                currency: c2,
                net: n2,
                received_before: r2,
            },
        ) => {
            if c1 != c2 {
                ("currency", c1.code().into(), c2.code().into())
            } else if n1 != n2 {
                ("net", n1.to_string(), n2.to_string())
            } else {
                ("received_before", r1.to_string(), r2.to_string())
            }
        }
        (
            Derived::Disbursement {
                currency: c1,
                disbursed_before: d1,
            },
            Derived::Disbursement {
                currency: c2,
                disbursed_before: d2,
            },
        ) => {
            if c1 != c2 {
                ("currency", c1.code().into(), c2.code().into())
            } else {
                ("disbursed_before", d1.to_string(), d2.to_string())
            }
        }
        (a, b) => ("kind", format!("{a:?}"), format!("{b:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::LedgerMemory;
    use pennytrail_log::entry::{ChainHead, parse, seal};
    use pennytrail_log::time::UnixMillis;
    use serde_json::{Map, Value, json};

    /// Seals `entries` into a chain and replays them; returns the first error.
    fn replay(entries: &[(&str, Value)]) -> Result<(), ReplayError> {
        let mut head = ChainHead::GENESIS;
        let mut state = LedgerMemory::new("test.example/log");
        for (kind, body) in entries {
            let mut body: Map<String, Value> = body.as_object().unwrap().clone();
            let org = body.remove("org").unwrap();
            let header = head.next_header(UnixMillis(1));
            let bytes = seal(&header, kind, org.as_str(), &body).unwrap();
            let entry = parse(&bytes).unwrap();
            head.advance(&entry, &bytes).unwrap();
            replay_entry(&mut state, &entry)?;
        }
        Ok(())
    }

    fn base() -> Vec<(&'static str, Value)> {
        vec![
            (
                "org.registered",
                json!({"org": "o", "name": "O", "country": "DE"}),
            ),
            (
                "beneficiary.registered",
                json!({"org": "o", "beneficiary": "b", "label": "B",
                "beneficiary_kind": "supplier", "country": "DE"}),
            ),
            (
                "beneficiary.registered",
                json!({"org": "o", "beneficiary": "u", "label": "U",
                "beneficiary_kind": "person", "country": "DE"}),
            ),
            (
                "campaign.opened",
                json!({"org": "o", "campaign": "c", "title": "T", "purpose": "P",
                "currency": "EUR", "beneficiaries": ["b"]}),
            ),
            (
                "donation.received",
                json!({"org": "o", "donation": "d1", "campaign": "c", "currency": "EUR",
                "amount": 100, "fee": 10, "net": 90, "received_before": 0, "channel": "card"}),
            ),
        ]
    }

    fn with(extra: (&'static str, Value)) -> Vec<(&'static str, Value)> {
        let mut entries = base();
        entries.push(extra);
        entries
    }

    #[test]
    fn a_consistent_log_replays() {
        replay(&with(("disbursement.made", json!({"org": "o", "disbursement": "x", "campaign": "c",
            "currency": "EUR", "beneficiary": "b", "amount": 90, "disbursed_before": 0, "purpose": "P"}))))
        .unwrap();
    }

    #[test]
    fn rule_breaking_entries_are_named() {
        let cases = [
            (
                json!({"org": "o", "disbursement": "x", "campaign": "c", "currency": "EUR", "beneficiary": "b",
                "amount": 91, "disbursed_before": 0, "purpose": "P"}),
                "disbursement.made",
                Rule::Overspend,
                "amount",
            ),
            (
                json!({"org": "o", "disbursement": "x", "campaign": "c", "currency": "EUR", "beneficiary": "u",
                "amount": 5, "disbursed_before": 0, "purpose": "P"}),
                "disbursement.made",
                Rule::UnstatedBeneficiary,
                "beneficiary",
            ),
            (
                json!({"org": "o", "disbursement": "x", "campaign": "c", "currency": "USD", "beneficiary": "b",
                "amount": 5, "disbursed_before": 0, "purpose": "P"}),
                "disbursement.made",
                Rule::WrongDerivedField,
                "currency",
            ),
            (
                json!({"org": "o", "disbursement": "x", "campaign": "c", "currency": "EUR", "beneficiary": "b",
                "amount": 5, "disbursed_before": 3, "purpose": "P"}),
                "disbursement.made",
                Rule::WrongDerivedField,
                "disbursed_before",
            ),
            (
                json!({"org": "o", "donation": "d2", "campaign": "c", "currency": "EUR", "amount": 10, "fee": 0,
                "net": 10, "received_before": 0, "channel": "card"}),
                "donation.received",
                Rule::WrongDerivedField,
                "received_before",
            ),
            (
                json!({"org": "o", "donation": "d2", "campaign": "c", "currency": "EUR", "amount": 10, "fee": 1,
                "net": 10, "received_before": 90, "channel": "card"}),
                "donation.received",
                Rule::WrongDerivedField,
                "net",
            ),
            (
                json!({"org": "o", "donation": "d2", "campaign": "c", "currency": "GBP", "amount": 10, "fee": 0,
                "net": 10, "received_before": 90, "channel": "card"}),
                "donation.received",
                Rule::CurrencyMismatch,
                "currency",
            ),
            (
                json!({"org": "o", "donation": "d2", "campaign": "c", "currency": "EUR", "amount": 10, "fee": 11,
                "net": -1, "received_before": 90, "channel": "card"}),
                "donation.received",
                Rule::InvalidField,
                "fee",
            ),
            (
                json!({"org": "o", "donation": "d2", "campaign": "nope", "currency": "EUR", "amount": 10, "fee": 0,
                "net": 10, "received_before": 0, "channel": "card"}),
                "donation.received",
                Rule::UnknownCampaign,
                "campaign",
            ),
            (
                json!({"org": "o", "donation": "d2", "campaign": "c", "currency": "EUR", "amount": 10, "fee": 0,
                "net": 10, "received_before": 90, "channel": "card", "extra": "x"}),
                "donation.received",
                Rule::InvalidField,
                "extra",
            ),
            (
                json!({"org": "o", "name": "O", "country": "DE"}),
                "org.registered",
                Rule::DuplicateId,
                "id",
            ),
            (
                json!({"org": "ghost", "beneficiary": "b", "label": "B", "beneficiary_kind": "supplier",
                "country": "DE"}),
                "beneficiary.registered",
                Rule::UnknownOrg,
                "org",
            ),
        ];
        for (body, kind, rule, field) in cases {
            let error = replay(&with((kind, body.clone()))).expect_err(&body.to_string());
            assert_eq!(
                (error.rule, error.field.as_str(), error.seq),
                (rule, field, 5),
                "{body}: {error}"
            );
        }
    }
}
