//! The money rules, decided when an entry takes its place in the log: campaigns and
//! beneficiaries exist, a disbursement goes only to a beneficiary stated for its campaign
//! before it, a campaign never pays out more than its net received, currencies match,
//! totals stay within 2^53 − 1, and corrections touch only non-money fields.
//!
//! [`apply`] is the only place these rules live. The sequencer calls it inside the append
//! transaction (with a view of the database); the verifier calls it while replaying a
//! bundle (with a view in memory) and compares the derived fields with the entry's.

use super::attestations::{AckStatus, Acknowledgement, KeyRotation, KeyStatement, signature_valid};
use super::caps::{self, PayoutLimits, Period, PersonPayouts};
use super::money::{Amount, Currency};
use super::records::{BeneficiaryKind, Derived, Record, correctable_fields};
use super::rule::Rule;
use pennytrail_log::hash::Hash;
use pennytrail_log::time::UnixMillis;

/// A rule an entry breaks: which rule, which field, and what the numbers were.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{rule}: {message}")]
pub struct RuleViolation {
    pub rule: Rule,
    pub field: String,
    pub message: String,
}

fn violation(rule: Rule, field: impl Into<String>, message: impl Into<String>) -> RuleViolation {
    RuleViolation {
        rule,
        field: field.into(),
        message: message.into(),
    }
}

/// A campaign's running totals, all in its currency's minor units, with the limits on
/// payouts to people it opened with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CampaignTotals {
    pub currency: Currency,
    /// Seq of the `campaign.opened` entry.
    pub seq: u64,
    pub limits: PayoutLimits,
    pub received: Amount,
    pub fees: Amount,
    pub net: Amount,
    pub disbursed: Amount,
    pub donations: u64,
    pub disbursements: u64,
}

impl CampaignTotals {
    /// Net received and not yet disbursed, in minor units. The rules keep it at zero or
    /// more; totals read from a damaged store could make it negative, and it then says so
    /// rather than failing.
    pub fn held(&self) -> i64 {
        self.net.minor_units() - self.disbursed.minor_units()
    }
}

/// What one stated beneficiary of a campaign has received from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatedTotals {
    /// Seq of the entry that stated the beneficiary for the campaign.
    pub stated_at: u64,
    pub disbursed: Amount,
    pub disbursements: u64,
}

/// What an acknowledgement needs of the disbursement it speaks of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisbursementFacts {
    pub seq: u64,
    pub beneficiary: String,
    pub amount: Amount,
    /// Its campaign's currency, to say amounts in.
    pub currency: Currency,
    /// The disbursement entry's leaf hash; unknown until the entry is committed (an
    /// acknowledgement in the same batch as its disbursement is refused).
    pub leaf: Option<Hash>,
}

/// An org's signing key: the current one, the seq of the entry that set it, and the key
/// it registered with (which a rotation may not bring back).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgKeyState {
    pub key: String,
    pub seq: u64,
    pub registered: String,
}

/// A logged entry as corrections need to see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntrySummary {
    pub kind: String,
    pub org: Option<String>,
}

/// The state the rules read and update. Implementations answer from memory (the
/// verifier) or from a per-batch overlay over the database (the sequencer), which must
/// have loaded every key [`state_keys`] names before [`apply`] runs.
pub trait LedgerState {
    fn org_registered(&self, org: &str) -> bool;
    fn register_org(&mut self, org: &str, seq: u64);
    fn beneficiary(&self, org: &str, id: &str) -> Option<BeneficiaryKind>;
    fn register_beneficiary(&mut self, org: &str, id: &str, kind: BeneficiaryKind, seq: u64);
    fn campaign(&self, org: &str, id: &str) -> Option<CampaignTotals>;
    fn put_campaign(&mut self, org: &str, id: &str, totals: CampaignTotals);
    fn stated(&self, org: &str, campaign: &str, beneficiary: &str) -> Option<StatedTotals>;
    fn put_stated(&mut self, org: &str, campaign: &str, beneficiary: &str, totals: StatedTotals);
    fn entry(&self, seq: u64) -> Option<EntrySummary>;
    /// Remembers an entry that a later correction may name (kinds with correctable fields).
    fn note_entry(&mut self, seq: u64, summary: EntrySummary);
    /// The log's origin, which signed statements name.
    fn origin(&self) -> &str;
    /// An org's current key and the seq of the entry that set it.
    fn org_key(&self, org: &str) -> Option<OrgKeyState>;
    fn put_org_key(&mut self, org: &str, keys: OrgKeyState);
    /// The key an org stated for its beneficiary.
    fn beneficiary_key(&self, org: &str, id: &str) -> Option<String>;
    fn put_beneficiary_key(&mut self, org: &str, id: &str, key: &str);
    fn disbursement(&self, org: &str, id: &str) -> Option<DisbursementFacts>;
    fn put_disbursement(&mut self, org: &str, id: &str, facts: DisbursementFacts);
    /// What a person received from a capped campaign within a period (zero if nothing).
    fn person_payouts(
        &self,
        org: &str,
        campaign: &str,
        beneficiary: &str,
        period: &Period,
    ) -> PersonPayouts;
    fn put_person_payouts(
        &mut self,
        org: &str,
        campaign: &str,
        beneficiary: &str,
        period: &Period,
        payouts: PersonPayouts,
    );
}

pub use super::state_keys::{StateKey, dependent_state_keys, state_keys};

fn campaign_of<S: LedgerState>(
    state: &S,
    org: &str,
    id: &str,
) -> Result<CampaignTotals, RuleViolation> {
    state.campaign(org, id).ok_or_else(|| {
        violation(
            Rule::UnknownCampaign,
            "campaign",
            format!("campaign {id:?} does not exist in {org:?}"),
        )
    })
}

fn add(total: Amount, more: Amount, field: &str) -> Result<Amount, RuleViolation> {
    total.checked_add(more).ok_or_else(|| {
        violation(
            Rule::TotalOverflow,
            field,
            "the campaign's running total would pass 2^53-1 minor units",
        )
    })
}

/// States `ids` for a campaign at `seq`: each must be registered and not yet stated.
fn state_beneficiaries<S: LedgerState>(
    state: &mut S,
    org: &str,
    campaign: &str,
    ids: &[String],
    seq: u64,
) -> Result<(), RuleViolation> {
    for (i, id) in ids.iter().enumerate() {
        let field = format!("beneficiaries[{i}]");
        if state.beneficiary(org, id).is_none() {
            return Err(violation(
                Rule::UnknownBeneficiary,
                field,
                format!("beneficiary {id:?} is not registered in {org:?}"),
            ));
        }
        if state.stated(org, campaign, id).is_some() {
            return Err(violation(
                Rule::AlreadyStated,
                field,
                format!("beneficiary {id:?} is already stated for campaign {campaign:?}"),
            ));
        }
        state.put_stated(
            org,
            campaign,
            id,
            StatedTotals {
                stated_at: seq,
                disbursed: Amount::ZERO,
                disbursements: 0,
            },
        );
    }
    Ok(())
}

/// Checks `record`, which takes seq `seq` at `time` in `org`, against the state; updates
/// the state and returns the fields the log derives. On error the state may be partly
/// updated: the caller discards it (the sequencer rolls back the job, the verifier stops).
pub fn apply<S: LedgerState>(
    state: &mut S,
    org: &str,
    seq: u64,
    time: UnixMillis,
    record: &Record,
) -> Result<Derived, RuleViolation> {
    let derived = apply_rules(state, org, seq, time, record)?;
    if !correctable_fields(record.kind()).is_empty() {
        state.note_entry(
            seq,
            EntrySummary {
                kind: record.kind().to_string(),
                org: Some(org.to_string()),
            },
        );
    }
    Ok(derived)
}

fn apply_rules<S: LedgerState>(
    state: &mut S,
    org: &str,
    seq: u64,
    time: UnixMillis,
    record: &Record,
) -> Result<Derived, RuleViolation> {
    if let Record::Org(_) = record {
        if state.org_registered(org) {
            return Err(violation(
                Rule::DuplicateId,
                "id",
                format!("org {org:?} is already registered"),
            ));
        }
        state.register_org(org, seq);
        if let Record::Org(o) = record
            && let Some(key) = &o.public_key
        {
            state.put_org_key(
                org,
                OrgKeyState {
                    key: key.clone(),
                    seq,
                    registered: key.clone(),
                },
            );
        }
        return Ok(Derived::Nothing);
    }
    if !state.org_registered(org) {
        return Err(violation(
            Rule::UnknownOrg,
            "org",
            format!("org {org:?} is not registered"),
        ));
    }
    match record {
        Record::Org(_) => unreachable!("handled above"),
        Record::Beneficiary(b) => {
            if state.beneficiary(org, &b.id).is_some() {
                return Err(violation(
                    Rule::DuplicateId,
                    "id",
                    format!("beneficiary {:?} is already registered", b.id),
                ));
            }
            state.register_beneficiary(org, &b.id, b.kind, seq);
            if let Some(key) = &b.public_key {
                state.put_beneficiary_key(org, &b.id, key);
            }
            Ok(Derived::Nothing)
        }
        Record::Campaign(c) => {
            if state.campaign(org, &c.id).is_some() {
                return Err(violation(
                    Rule::DuplicateId,
                    "id",
                    format!("campaign {:?} already exists", c.id),
                ));
            }
            state.put_campaign(
                org,
                &c.id,
                CampaignTotals {
                    currency: c.currency,
                    seq,
                    limits: c.limits,
                    received: Amount::ZERO,
                    fees: Amount::ZERO,
                    net: Amount::ZERO,
                    disbursed: Amount::ZERO,
                    donations: 0,
                    disbursements: 0,
                },
            );
            state_beneficiaries(state, org, &c.id, &c.beneficiaries, seq)?;
            Ok(Derived::Nothing)
        }
        Record::Statement(s) => {
            campaign_of(state, org, &s.campaign)?;
            state_beneficiaries(state, org, &s.campaign, &s.beneficiaries, seq)?;
            Ok(Derived::Nothing)
        }
        Record::Donation(d) => {
            let mut campaign = campaign_of(state, org, &d.campaign)?;
            if let Some(currency) = d.currency
                && currency != campaign.currency
            {
                return Err(violation(
                    Rule::CurrencyMismatch,
                    "currency",
                    format!(
                        "campaign {:?} is in {}, not {}",
                        d.campaign,
                        campaign.currency.code(),
                        currency.code()
                    ),
                ));
            }
            let net = d
                .net()
                .map_err(|e| violation(Rule::InvalidFee, e.field.clone(), e.to_string()))?;
            let received_before = campaign.net;
            campaign.received = add(campaign.received, d.amount, "amount")?;
            campaign.fees = add(campaign.fees, d.fee, "fee")?;
            campaign.net = add(campaign.net, net, "amount")?;
            campaign.donations += 1;
            state.put_campaign(org, &d.campaign, campaign);
            Ok(Derived::Donation {
                currency: campaign.currency,
                net,
                received_before,
            })
        }
        Record::Disbursement(x) => {
            let mut campaign = campaign_of(state, org, &x.campaign)?;
            let counted_at = caps::counted_at(x.occurred_at.as_deref(), time)?;
            let Some(kind) = state.beneficiary(org, &x.beneficiary) else {
                return Err(violation(
                    Rule::UnknownBeneficiary,
                    "beneficiary",
                    format!(
                        "beneficiary {:?} is not registered in {org:?}",
                        x.beneficiary
                    ),
                ));
            };
            let Some(mut stated) = state.stated(org, &x.campaign, &x.beneficiary) else {
                return Err(violation(
                    Rule::UnstatedBeneficiary,
                    "beneficiary",
                    format!(
                        "beneficiary {:?} was not stated for campaign {:?} before this disbursement",
                        x.beneficiary, x.campaign
                    ),
                ));
            };
            let available = campaign.held();
            if x.amount.minor_units() > available {
                return Err(violation(
                    Rule::Overspend,
                    "amount",
                    format!(
                        "campaign {:?} holds {}; cannot disburse {}",
                        x.campaign,
                        campaign.currency.format(available),
                        campaign.currency.format(x.amount.minor_units())
                    ),
                ));
            }
            if kind == BeneficiaryKind::Person && !campaign.limits.is_none() {
                caps::count_payout(
                    state,
                    org,
                    &x.campaign,
                    &x.beneficiary,
                    &campaign.limits,
                    campaign.currency,
                    x.amount,
                    counted_at,
                )?;
            }
            let disbursed_before = campaign.disbursed;
            campaign.disbursed = add(campaign.disbursed, x.amount, "amount")?;
            campaign.disbursements += 1;
            stated.disbursed = add(stated.disbursed, x.amount, "amount")?;
            stated.disbursements += 1;
            state.put_campaign(org, &x.campaign, campaign);
            state.put_stated(org, &x.campaign, &x.beneficiary, stated);
            state.put_disbursement(
                org,
                &x.id,
                DisbursementFacts {
                    seq,
                    beneficiary: x.beneficiary.clone(),
                    amount: x.amount,
                    currency: campaign.currency,
                    leaf: None,
                },
            );
            Ok(Derived::Disbursement {
                currency: campaign.currency,
                disbursed_before,
            })
        }
        Record::Correction(c) => {
            let target = state
                .entry(c.corrects)
                .filter(|e| e.org.as_deref() == Some(org))
                .ok_or_else(|| {
                    violation(
                        Rule::CorrectionTarget,
                        "corrects",
                        format!(
                            "entry {} does not exist or does not belong to {org:?}",
                            c.corrects
                        ),
                    )
                })?;
            let allowed = correctable_fields(&target.kind);
            if let Some((name, _)) = c
                .fields
                .iter()
                .find(|(name, _)| !allowed.contains(&name.as_str()))
            {
                return Err(violation(
                    Rule::UncorrectableField,
                    format!("fields.{name}"),
                    format!(
                        "{name:?} of a {} entry cannot be corrected (correctable: {})",
                        target.kind,
                        if allowed.is_empty() {
                            "none".to_string()
                        } else {
                            allowed.join(", ")
                        }
                    ),
                ));
            }
            Ok(Derived::Nothing)
        }
        Record::Acknowledgement(a) => acknowledge(state, org, a),
        Record::Report(r) => {
            let OrgKeyState {
                key, seq: key_seq, ..
            } = org_key(state, org)?;
            if r.to_size > seq {
                return Err(violation(
                    Rule::ReportRange,
                    "to_size",
                    format!(
                        "a report at seq {seq} cannot cover entries up to {}: they do not exist yet",
                        r.to_size
                    ),
                ));
            }
            let message = r.signed_message(state.origin(), org).map_err(|e| {
                violation(
                    Rule::BadSignature,
                    "signature",
                    format!("the report's signed message cannot be built: {e}"),
                )
            })?;
            if !signature_valid(&key, &message, &r.signature) {
                return Err(violation(
                    Rule::BadSignature,
                    "signature",
                    format!(
                        "not a valid signature over this report by {org:?}'s key {key} (set at seq {key_seq})"
                    ),
                ));
            }
            Ok(Derived::Nothing)
        }
        Record::KeyRotation(k) => rotate_key(state, org, seq, k),
        Record::KeyStatement(k) => state_first_key(state, org, seq, k),
    }
}

fn org_key<S: LedgerState>(state: &S, org: &str) -> Result<OrgKeyState, RuleViolation> {
    state.org_key(org).ok_or_else(|| {
        violation(
            Rule::NoOrgKey,
            "signature",
            format!(
                "org {org:?} has no key: the operator states its first one with \
                 POST /v1/admin/orgs/{org}/key"
            ),
        )
    })
}

fn acknowledge<S: LedgerState>(
    state: &mut S,
    org: &str,
    a: &Acknowledgement,
) -> Result<Derived, RuleViolation> {
    let facts = state.disbursement(org, &a.disbursement).ok_or_else(|| {
        violation(
            Rule::UnknownDisbursement,
            "disbursement",
            format!(
                "disbursement {:?} does not exist in {org:?}",
                a.disbursement
            ),
        )
    })?;
    let Some(leaf) = facts.leaf else {
        return Err(violation(
            Rule::UnknownDisbursement,
            "disbursement",
            format!(
                "disbursement {:?} is not committed yet; acknowledge it once its entry is in the log",
                a.disbursement
            ),
        ));
    };
    if facts.beneficiary != a.beneficiary {
        return Err(violation(
            Rule::WrongBeneficiary,
            "beneficiary",
            format!(
                "disbursement {:?} went to {:?}, not {:?}",
                a.disbursement, facts.beneficiary, a.beneficiary
            ),
        ));
    }
    if a.status == AckStatus::Received && a.amount_received != facts.amount {
        return Err(violation(
            Rule::AckAmount,
            "amount_received",
            format!(
                "\"received\" confirms the whole amount {}; to say {} arrived, dispute it",
                facts.currency.format(facts.amount.minor_units()),
                facts.currency.format(a.amount_received.minor_units())
            ),
        ));
    }
    let key = state.beneficiary_key(org, &a.beneficiary).ok_or_else(|| {
        violation(
            Rule::NoBeneficiaryKey,
            "beneficiary",
            format!(
                "{org:?} stated no key for beneficiary {:?}, so it cannot acknowledge",
                a.beneficiary
            ),
        )
    })?;
    let message = Acknowledgement::message(
        state.origin(),
        facts.seq,
        &leaf,
        a.status,
        a.amount_received.minor_units(),
    );
    if !signature_valid(&key, message.as_bytes(), &a.signature) {
        return Err(violation(
            Rule::BadSignature,
            "signature",
            format!(
                "not a valid signature by beneficiary {:?}'s key {key} over the acknowledgement of entry {}",
                a.beneficiary, facts.seq
            ),
        ));
    }
    Ok(Derived::Nothing)
}

fn state_first_key<S: LedgerState>(
    state: &mut S,
    org: &str,
    seq: u64,
    k: &KeyStatement,
) -> Result<Derived, RuleViolation> {
    if let Some(existing) = state.org_key(org) {
        return Err(violation(
            Rule::OrgKeyExists,
            "public_key",
            format!(
                "org {org:?} already has a key ({}, set by entry {}); a new key is a rotation \
                 the org signs with its current key (POST /v1/orgs/{org}/key)",
                existing.key, existing.seq
            ),
        ));
    }
    state.put_org_key(
        org,
        OrgKeyState {
            key: k.public_key.clone(),
            seq,
            // The first key, like a registration's: once rotated away it cannot come back.
            registered: k.public_key.clone(),
        },
    );
    Ok(Derived::Nothing)
}

fn rotate_key<S: LedgerState>(
    state: &mut S,
    org: &str,
    seq: u64,
    k: &KeyRotation,
) -> Result<Derived, RuleViolation> {
    let OrgKeyState {
        key: current,
        seq: current_seq,
        registered,
    } = org_key(state, org)?;
    if k.public_key == current {
        return Err(violation(
            Rule::SameKey,
            "public_key",
            "the new key is the current key",
        ));
    }
    // A key rotated to earlier is refused by its idempotency id (409); the registration
    // key has none, so it is refused here.
    if k.public_key == registered {
        return Err(violation(
            Rule::KeyReused,
            "public_key",
            "the org registered with this key and rotated it away; a key once rotated away cannot come back",
        ));
    }
    let message = KeyRotation::message(state.origin(), org, current_seq, &k.public_key);
    if !signature_valid(&current, message.as_bytes(), &k.signature) {
        return Err(violation(
            Rule::BadSignature,
            "signature",
            format!("not a valid signature by {org:?}'s current key {current} over this rotation"),
        ));
    }
    state.put_org_key(
        org,
        OrgKeyState {
            key: k.public_key.clone(),
            seq,
            registered,
        },
    );
    Ok(Derived::Nothing)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attestations::{Report, ReportFigures};
    use crate::money::Currency;
    use crate::org::{OrgRegistration, OrgRegistrationInput};
    use crate::records::{Campaign, CampaignInput, Donation};
    use crate::state::LedgerMemory;

    fn eur() -> Currency {
        Currency::parse("currency", "EUR").unwrap()
    }

    /// What stored or client data can reach is an error, never a panic: totals that
    /// disbursed more than their net (a damaged store), a donation built with a fee above
    /// its amount, a report whose signed message no entry could hold.
    #[test]
    fn bad_data_is_refused_not_panicked_on() {
        let totals = CampaignTotals {
            currency: eur(),
            seq: 0,
            limits: PayoutLimits::default(),
            received: Amount::non_negative("x", 10).unwrap(),
            fees: Amount::ZERO,
            net: Amount::non_negative("x", 10).unwrap(),
            disbursed: Amount::non_negative("x", 25).unwrap(),
            donations: 1,
            disbursements: 1,
        };
        assert_eq!(totals.held(), -15);

        let donation = Donation {
            id: "d".into(),
            campaign: "c".into(),
            amount: Amount::non_negative("amount", 5).unwrap(),
            fee: Amount::non_negative("fee", 6).unwrap(),
            currency: None,
            channel: "card".into(),
            donor_commitment: None,
            occurred_at: None,
        };
        assert_eq!(donation.net().unwrap_err().field, "fee");
        let mut state = LedgerMemory::new("test.example/log");
        let org = OrgRegistration::parse(OrgRegistrationInput {
            id: "o".into(),
            name: "O".into(),
            country: "DE".into(),
            charity_number: None,
            public_key: None,
        })
        .unwrap();
        apply(&mut state, "o", 0, UnixMillis(0), &Record::Org(org)).unwrap();
        let campaign = Campaign::parse(CampaignInput {
            id: "c".into(),
            title: "T".into(),
            purpose: "P".into(),
            currency: "EUR".into(),
            beneficiaries: vec![],
            max_per_person_per_day: None,
            max_per_person_per_month: None,
            max_payouts_per_person_per_day: None,
        })
        .unwrap();
        apply(
            &mut state,
            "o",
            1,
            UnixMillis(0),
            &Record::Campaign(campaign),
        )
        .unwrap();
        let refused = apply(
            &mut state,
            "o",
            2,
            UnixMillis(0),
            &Record::Donation(donation),
        )
        .unwrap_err();
        assert_eq!(
            (refused.rule, refused.field.as_str()),
            (Rule::InvalidFee, "fee")
        );

        let report = Report {
            id: "r".into(),
            from_size: 0,
            to_size: 0,
            figures: ReportFigures::default(),
            document_sha256: None,
            signature: String::new(),
        };
        let huge_origin = "o".repeat(20_000);
        assert!(
            report
                .signed_message(&huge_origin, &"x".repeat(20_000))
                .is_err()
        );
    }
}
