//! Which state the rules read for a record: [`state_keys`] names what every record of
//! its kind reads, [`dependent_state_keys`] what it reads only when the state loaded so far
//! says so (a capped campaign's payouts to a person). The sequencer loads both before
//! [`super::rules::apply`] runs; the verifier holds all state in memory anyway.

use super::caps::{self, Period};
use super::records::{BeneficiaryKind, Record};
use super::rules::LedgerState;
use pennytrail_log::time::UnixMillis;

/// A piece of state a record's rules read.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StateKey {
    Org(String),
    Beneficiary(String, String),
    Campaign(String, String),
    Stated(String, String, String),
    Entry(u64),
    OrgKey(String),
    BeneficiaryKey(String, String),
    Disbursement(String, String),
    /// What a person received from a capped campaign in a day or month.
    PersonPayouts(String, String, String, Period),
}

/// Every piece of state [`apply`] reads for `record` in `org`.
pub fn state_keys(org: &str, record: &Record) -> Vec<StateKey> {
    let o = || org.to_string();
    let mut keys = vec![StateKey::Org(o())];
    match record {
        Record::Org(_) => {}
        Record::Beneficiary(b) => keys.push(StateKey::Beneficiary(o(), b.id.clone())),
        Record::Campaign(c) => {
            keys.push(StateKey::Campaign(o(), c.id.clone()));
            for b in &c.beneficiaries {
                keys.push(StateKey::Beneficiary(o(), b.clone()));
                keys.push(StateKey::Stated(o(), c.id.clone(), b.clone()));
            }
        }
        Record::Statement(s) => {
            keys.push(StateKey::Campaign(o(), s.campaign.clone()));
            for b in &s.beneficiaries {
                keys.push(StateKey::Beneficiary(o(), b.clone()));
                keys.push(StateKey::Stated(o(), s.campaign.clone(), b.clone()));
            }
        }
        Record::Donation(d) => keys.push(StateKey::Campaign(o(), d.campaign.clone())),
        Record::Disbursement(x) => {
            keys.push(StateKey::Campaign(o(), x.campaign.clone()));
            keys.push(StateKey::Beneficiary(o(), x.beneficiary.clone()));
            keys.push(StateKey::Stated(
                o(),
                x.campaign.clone(),
                x.beneficiary.clone(),
            ));
        }
        Record::Correction(c) => keys.push(StateKey::Entry(c.corrects)),
        Record::Acknowledgement(a) => {
            keys.push(StateKey::Disbursement(o(), a.disbursement.clone()));
            keys.push(StateKey::BeneficiaryKey(o(), a.beneficiary.clone()));
        }
        Record::Report(_) | Record::KeyRotation(_) | Record::KeyStatement(_) => {
            keys.push(StateKey::OrgKey(o()))
        }
    }
    keys
}

/// The state [`apply`] reads only when the state already loaded says so: what a person
/// was paid by a capped campaign in the day and month a payout counts in (`time` is the
/// entry's). Read after the keys of [`state_keys`] are loaded; a campaign or beneficiary
/// that does not exist yet has no such state to load.
pub fn dependent_state_keys<S: LedgerState>(
    state: &S,
    org: &str,
    record: &Record,
    time: UnixMillis,
) -> Vec<StateKey> {
    let Record::Disbursement(x) = record else {
        return Vec::new();
    };
    let capped = state
        .campaign(org, &x.campaign)
        .is_some_and(|c| !c.limits.is_none());
    let person = state.beneficiary(org, &x.beneficiary) == Some(BeneficiaryKind::Person);
    match caps::counted_at(x.occurred_at.as_deref(), time) {
        Ok(at) if capped && person => caps::periods(at)
            .into_iter()
            .map(|p| {
                StateKey::PersonPayouts(
                    org.to_string(),
                    x.campaign.clone(),
                    x.beneficiary.clone(),
                    p,
                )
            })
            .collect(),
        _ => Vec::new(),
    }
}
