//! The ledger tables inside an append transaction: loading the state the money rules read,
//! and saving what a batch changed, in the same transaction as its entries.

use sqlx::Row;

use super::append::{AppendTx, on_tx};
use super::{StoreError, StoreResult, to_u64};
use crate::ledger::caps::PayoutLimits;
use crate::ledger::money::{Amount, Currency};
use crate::ledger::records::{BeneficiaryKind, Derived, Record, Scope};
use crate::ledger::rules::{
    CampaignTotals, DisbursementFacts, EntrySummary, OrgKeyState, StateKey, StatedTotals,
};
use crate::ledger::state::StateValue;
use crate::log::entry;
use crate::log::hash::{Hash, leaf_hash};

/// A donation's place on its campaign's money line.
#[derive(Debug, Clone)]
pub struct DonationRow {
    pub org: String,
    pub id: String,
    pub campaign: String,
    pub seq: u64,
    pub amount: i64,
    pub fee: i64,
    pub net: i64,
    pub received_before: i64,
    pub donor_commitment: Option<String>,
}

/// A disbursement's place on its campaign's money line.
#[derive(Debug, Clone)]
pub struct DisbursementRow {
    pub org: String,
    pub id: String,
    pub campaign: String,
    pub beneficiary: String,
    pub seq: u64,
    pub amount: i64,
    pub disbursed_before: i64,
}

#[derive(Debug, Clone)]
pub struct CorrectionRow {
    pub org: String,
    pub id: String,
    pub corrects: u64,
    pub seq: u64,
}

/// A beneficiary's acknowledgement or dispute of a disbursement.
#[derive(Debug, Clone)]
pub struct AckRow {
    pub org: String,
    pub disbursement: String,
    pub status: &'static str,
    pub amount_received: i64,
    pub seq: u64,
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(what.to_string())
}

fn amount(v: i64, what: &str) -> StoreResult<Amount> {
    Amount::non_negative(what, v).map_err(|e| corrupt(&e.to_string()))
}

impl AppendTx {
    /// Reads the current value of each key (absent keys read as `None`).
    pub async fn load_state(
        &mut self,
        keys: &[&StateKey],
    ) -> StoreResult<Vec<(StateKey, StateValue)>> {
        let (people, keys): (Vec<&StateKey>, Vec<&StateKey>) = keys
            .iter()
            .partition(|k| matches!(k, StateKey::PersonPayouts(..)));
        let mut out = self.load_person_payouts(&people).await?;
        out.reserve(keys.len());
        for key in keys {
            let value = match key {
                StateKey::Org(org) => {
                    let seq: Option<i64> = on_tx!(self, c => sqlx::query(
                        "SELECT seq FROM record_ids WHERE org = $1 AND scope = $2 AND id = $1"
                    ).bind(org).bind(Scope::Org.as_str()).fetch_optional(c).await?.map(|r| r.get(0)));
                    StateValue::Org(seq.map(|s| to_u64(s, "seq")).transpose()?)
                }
                StateKey::Beneficiary(org, id) => {
                    let row: Option<(String, i64)> = on_tx!(self, c => sqlx::query(
                        "SELECT kind, seq FROM beneficiaries WHERE org = $1 AND id = $2"
                    ).bind(org).bind(id).fetch_optional(c).await?.map(|r| (r.get(0), r.get(1))));
                    StateValue::Beneficiary(
                        row.map(|(kind, seq)| {
                            let kind = BeneficiaryKind::parse("kind", &kind)
                                .map_err(|e| corrupt(&e.to_string()))?;
                            Ok::<_, StoreError>((kind, to_u64(seq, "seq")?))
                        })
                        .transpose()?,
                    )
                }
                StateKey::Campaign(org, id) => {
                    let totals = on_tx!(self, c => match sqlx::query(
                        "SELECT currency, seq, received, fees, net, disbursed, donations_count, disbursements_count, \
                         max_per_person_per_day, max_per_person_per_month, max_payouts_per_person_per_day \
                         FROM campaigns WHERE org = $1 AND id = $2"
                    ).bind(org).bind(id).fetch_optional(c).await? {
                        None => None,
                        Some(r) => Some(CampaignTotals {
                            currency: Currency::parse("currency", &r.try_get::<String, _>(0)?)
                                .map_err(|e| corrupt(&e.to_string()))?,
                            seq: to_u64(r.try_get(1)?, "seq")?,
                            limits: PayoutLimits::parse(r.try_get(8)?, r.try_get(9)?, r.try_get(10)?)
                                .map_err(|e| corrupt(&e.to_string()))?,
                            received: amount(r.try_get(2)?, "received")?,
                            fees: amount(r.try_get(3)?, "fees")?,
                            net: amount(r.try_get(4)?, "net")?,
                            disbursed: amount(r.try_get(5)?, "disbursed")?,
                            donations: to_u64(r.try_get(6)?, "donations_count")?,
                            disbursements: to_u64(r.try_get(7)?, "disbursements_count")?,
                        }),
                    });
                    StateValue::Campaign(totals)
                }
                StateKey::Stated(org, campaign, beneficiary) => {
                    let row: Option<(i64, i64, i64)> = on_tx!(self, c => sqlx::query(
                        "SELECT stated_at, disbursed, disbursements_count FROM campaign_beneficiaries \
                         WHERE org = $1 AND campaign = $2 AND beneficiary = $3"
                    ).bind(org).bind(campaign).bind(beneficiary).fetch_optional(c).await?
                        .map(|r| (r.get(0), r.get(1), r.get(2))));
                    StateValue::Stated(
                        row.map(|(stated_at, disbursed, count)| {
                            Ok::<_, StoreError>(StatedTotals {
                                stated_at: to_u64(stated_at, "stated_at")?,
                                disbursed: amount(disbursed, "disbursed")?,
                                disbursements: to_u64(count, "disbursements_count")?,
                            })
                        })
                        .transpose()?,
                    )
                }
                StateKey::PersonPayouts(..) => unreachable!("loaded above, for the batch"),
                StateKey::Entry(seq) => {
                    let summary = match self.entry(*seq).await? {
                        None => None,
                        Some(bytes) => {
                            let e = entry::parse(&bytes)
                                .map_err(|e| corrupt(&format!("entry {seq}: {e}")))?;
                            Some(EntrySummary {
                                kind: e.kind,
                                org: e.org,
                            })
                        }
                    };
                    StateValue::Entry(summary)
                }
                StateKey::OrgKey(org) => {
                    // The latest entry that set the org's key (its registration, the
                    // operator's statement or a rotation), and its registration.
                    let latest: Option<i64> = on_tx!(self, c => sqlx::query(
                        "SELECT seq FROM record_ids WHERE org = $1 AND scope IN ($2, $3) \
                         ORDER BY seq DESC LIMIT 1"
                    ).bind(org).bind(Scope::Org.as_str()).bind(Scope::OrgKey.as_str())
                        .fetch_optional(c).await?.map(|r| r.get(0)));
                    let registration: Option<i64> = on_tx!(self, c => sqlx::query(
                        "SELECT seq FROM record_ids WHERE org = $1 AND scope = $2 AND id = $1"
                    ).bind(org).bind(Scope::Org.as_str()).fetch_optional(c).await?.map(|r| r.get(0)));
                    match (latest, registration) {
                        (Some(latest), Some(registration)) => {
                            let seq = to_u64(latest, "seq")?;
                            let current = org_key_of(&self.logged_record(seq).await?.0);
                            let registered = match org_key_of(
                                &self.logged_record(to_u64(registration, "seq")?).await?.0,
                            ) {
                                Some(key) => Some(key),
                                // Registered without a key: the first key is the one the
                                // operator stated, the org's first key entry.
                                None => {
                                    let first: Option<i64> = on_tx!(self, c => sqlx::query(
                                        "SELECT seq FROM record_ids WHERE org = $1 AND scope = $2 \
                                         ORDER BY seq LIMIT 1"
                                    ).bind(org).bind(Scope::OrgKey.as_str())
                                        .fetch_optional(c).await?.map(|r| r.get(0)));
                                    match first {
                                        Some(first) => org_key_of(
                                            &self.logged_record(to_u64(first, "seq")?).await?.0,
                                        ),
                                        None => None,
                                    }
                                }
                            };
                            match (current, registered) {
                                (Some(key), Some(registered)) => {
                                    StateValue::OrgKey(Some(OrgKeyState {
                                        key,
                                        seq,
                                        registered,
                                    }))
                                }
                                _ => StateValue::OrgKey(None),
                            }
                        }
                        _ => StateValue::OrgKey(None),
                    }
                }
                StateKey::BeneficiaryKey(org, id) => {
                    let seq: Option<i64> = on_tx!(self, c => sqlx::query(
                        "SELECT seq FROM beneficiaries WHERE org = $1 AND id = $2"
                    ).bind(org).bind(id).fetch_optional(c).await?.map(|r| r.get(0)));
                    match seq {
                        None => StateValue::BeneficiaryKey(None),
                        Some(seq) => {
                            let seq = to_u64(seq, "seq")?;
                            match self.logged_record(seq).await?.0 {
                                Record::Beneficiary(b) => StateValue::BeneficiaryKey(b.public_key),
                                other => return Err(not_a(seq, "beneficiary", &other)),
                            }
                        }
                    }
                }
                StateKey::Disbursement(org, id) => {
                    let seq: Option<i64> = on_tx!(self, c => sqlx::query(
                        "SELECT seq FROM disbursements WHERE org = $1 AND id = $2"
                    ).bind(org).bind(id).fetch_optional(c).await?.map(|r| r.get(0)));
                    match seq {
                        None => StateValue::Disbursement(None),
                        Some(seq) => {
                            let seq = to_u64(seq, "seq")?;
                            let (record, derived, leaf) = self.logged_record(seq).await?;
                            match (record, derived) {
                                (
                                    Record::Disbursement(d),
                                    Derived::Disbursement { currency, .. },
                                ) => StateValue::Disbursement(Some(DisbursementFacts {
                                    seq,
                                    beneficiary: d.beneficiary,
                                    amount: d.amount,
                                    currency,
                                    leaf: Some(leaf),
                                })),
                                (other, _) => return Err(not_a(seq, "disbursement", &other)),
                            }
                        }
                    }
                }
            };
            out.push((key.clone(), value));
        }
        Ok(out)
    }

    /// A committed entry read back as its record and derived fields (every field checked
    /// as the verifier checks it), with its leaf hash.
    async fn logged_record(&mut self, seq: u64) -> StoreResult<(Record, Derived, Hash)> {
        let bytes = self
            .entry(seq)
            .await?
            .ok_or_else(|| corrupt(&format!("entry {seq} is missing")))?;
        let entry = entry::parse(&bytes).map_err(|e| corrupt(&format!("entry {seq}: {e}")))?;
        let (record, derived) =
            Record::from_entry(&entry).map_err(|e| corrupt(&format!("entry {seq}: {e}")))?;
        Ok((record, derived, leaf_hash(&bytes)))
    }
}

/// The key an org signs with, as the entry that set it says: its registration, the
/// operator's statement or a rotation.
fn org_key_of(record: &Record) -> Option<String> {
    match record {
        Record::Org(org) => org.public_key.clone(),
        Record::KeyRotation(rotation) => Some(rotation.public_key.clone()),
        Record::KeyStatement(statement) => Some(statement.public_key.clone()),
        _ => None,
    }
}

fn not_a(seq: u64, expected: &str, found: &Record) -> StoreError {
    corrupt(&format!(
        "entry {seq} should be a {expected} but is a {}",
        found.kind()
    ))
}
