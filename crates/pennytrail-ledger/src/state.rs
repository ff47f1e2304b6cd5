//! [`LedgerMemory`]: the ledger state in memory. The verifier replays a whole log into
//! one; the sequencer uses one per batch as an overlay over the database, loading the
//! keys a record needs first ([`LedgerMemory::missing`], [`LedgerMemory::load`]), and
//! rolling a refused job back ([`LedgerMemory::mark`], [`LedgerMemory::rollback`]).
//!
//! A key that was never loaded reads as absent, which can only make a rule refuse (an
//! unknown campaign, an unstated beneficiary), never let something through.

use std::collections::{BTreeSet, HashMap};

use super::caps::{Period, PersonPayouts};
use super::records::BeneficiaryKind;
use super::rules::{
    CampaignTotals, DisbursementFacts, EntrySummary, LedgerState, OrgKeyState, StateKey,
    StatedTotals,
};

/// A loaded or changed value of one key: `None` means "known to be absent".
#[derive(Debug, Clone, PartialEq)]
pub enum StateValue {
    Org(Option<u64>),
    Beneficiary(Option<(BeneficiaryKind, u64)>),
    Campaign(Option<CampaignTotals>),
    Stated(Option<StatedTotals>),
    Entry(Option<EntrySummary>),
    OrgKey(Option<OrgKeyState>),
    BeneficiaryKey(Option<String>),
    Disbursement(Option<DisbursementFacts>),
    PersonPayouts(Option<PersonPayouts>),
}

/// Ledger state keyed by [`StateKey`], with an undo journal.
#[derive(Debug, Default)]
pub struct LedgerMemory {
    values: HashMap<StateKey, StateValue>,
    /// (key, value before the change; `None` if the key was not present).
    journal: Vec<(StateKey, Option<StateValue>)>,
    /// Keys changed since the last [`LedgerMemory::take_changes`].
    changed: BTreeSet<StateKey>,
    /// Whether changes are journaled (the sequencer's overlay) or not (the verifier).
    journaled: bool,
    origin: String,
}

impl LedgerMemory {
    /// State for replaying a whole log of `origin`: no journal.
    pub fn new(origin: &str) -> LedgerMemory {
        LedgerMemory {
            origin: origin.to_string(),
            ..LedgerMemory::default()
        }
    }

    /// An overlay for one batch of the log `origin`: changes are journaled and reported.
    pub fn overlay(origin: &str) -> LedgerMemory {
        LedgerMemory {
            journaled: true,
            origin: origin.to_string(),
            ..LedgerMemory::default()
        }
    }

    /// Records the leaf hash of a committed disbursement entry (replays call this after
    /// each entry, since the rules run before an entry's hash exists).
    pub fn note_leaf(
        &mut self,
        org: &str,
        record: &super::records::Record,
        leaf: pennytrail_log::hash::Hash,
    ) {
        if let super::records::Record::Disbursement(x) = record
            && let Some(mut facts) = self.disbursement(org, &x.id)
        {
            facts.leaf = Some(leaf);
            self.put_disbursement(org, &x.id, facts);
        }
    }

    /// How many keys are held (loaded or changed).
    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Which of `keys` are not loaded yet.
    pub fn missing<'a>(&self, keys: &'a [StateKey]) -> Vec<&'a StateKey> {
        keys.iter()
            .filter(|k| !self.values.contains_key(*k))
            .collect()
    }

    /// Loads a value read from storage (not a change).
    pub fn load(&mut self, key: StateKey, value: StateValue) {
        self.values.entry(key).or_insert(value);
    }

    pub fn mark(&self) -> usize {
        self.journal.len()
    }

    /// Undoes every change made after `mark`.
    pub fn rollback(&mut self, mark: usize) {
        while self.journal.len() > mark {
            let (key, before) = self.journal.pop().expect("journal longer than mark");
            match before {
                Some(v) => self.values.insert(key, v),
                None => self.values.remove(&key),
            };
        }
    }

    /// The changed keys with their current values, clearing the journal.
    pub fn take_changes(&mut self) -> Vec<(StateKey, StateValue)> {
        self.journal.clear();
        std::mem::take(&mut self.changed)
            .into_iter()
            .filter_map(|k| self.values.get(&k).cloned().map(|v| (k, v)))
            .collect()
    }

    fn set(&mut self, key: StateKey, value: StateValue) {
        let before = self.values.insert(key.clone(), value);
        if self.journaled {
            self.journal.push((key.clone(), before));
            self.changed.insert(key);
        }
    }

    fn get(&self, key: &StateKey) -> Option<&StateValue> {
        self.values.get(key)
    }
}

fn k2(a: &str, b: &str) -> (String, String) {
    (a.to_string(), b.to_string())
}

impl LedgerState for LedgerMemory {
    fn org_registered(&self, org: &str) -> bool {
        matches!(
            self.get(&StateKey::Org(org.to_string())),
            Some(StateValue::Org(Some(_)))
        )
    }

    fn register_org(&mut self, org: &str, seq: u64) {
        self.set(StateKey::Org(org.to_string()), StateValue::Org(Some(seq)));
    }

    fn beneficiary(&self, org: &str, id: &str) -> Option<BeneficiaryKind> {
        let (o, i) = k2(org, id);
        match self.get(&StateKey::Beneficiary(o, i)) {
            Some(StateValue::Beneficiary(Some((kind, _)))) => Some(*kind),
            _ => None,
        }
    }

    fn register_beneficiary(&mut self, org: &str, id: &str, kind: BeneficiaryKind, seq: u64) {
        let (o, i) = k2(org, id);
        self.set(
            StateKey::Beneficiary(o, i),
            StateValue::Beneficiary(Some((kind, seq))),
        );
    }

    fn campaign(&self, org: &str, id: &str) -> Option<CampaignTotals> {
        let (o, i) = k2(org, id);
        match self.get(&StateKey::Campaign(o, i)) {
            Some(StateValue::Campaign(Some(t))) => Some(*t),
            _ => None,
        }
    }

    fn put_campaign(&mut self, org: &str, id: &str, totals: CampaignTotals) {
        let (o, i) = k2(org, id);
        self.set(StateKey::Campaign(o, i), StateValue::Campaign(Some(totals)));
    }

    fn stated(&self, org: &str, campaign: &str, beneficiary: &str) -> Option<StatedTotals> {
        let key = StateKey::Stated(
            org.to_string(),
            campaign.to_string(),
            beneficiary.to_string(),
        );
        match self.get(&key) {
            Some(StateValue::Stated(Some(t))) => Some(*t),
            _ => None,
        }
    }

    fn put_stated(&mut self, org: &str, campaign: &str, beneficiary: &str, totals: StatedTotals) {
        let key = StateKey::Stated(
            org.to_string(),
            campaign.to_string(),
            beneficiary.to_string(),
        );
        self.set(key, StateValue::Stated(Some(totals)));
    }

    fn entry(&self, seq: u64) -> Option<EntrySummary> {
        match self.get(&StateKey::Entry(seq)) {
            Some(StateValue::Entry(Some(e))) => Some(e.clone()),
            _ => None,
        }
    }

    fn note_entry(&mut self, seq: u64, summary: EntrySummary) {
        // Journaled like any change, so a refused job's seq leaves nothing behind;
        // storage skips entry keys (the log itself stores entries).
        self.set(StateKey::Entry(seq), StateValue::Entry(Some(summary)));
    }

    fn origin(&self) -> &str {
        &self.origin
    }

    fn org_key(&self, org: &str) -> Option<OrgKeyState> {
        match self.get(&StateKey::OrgKey(org.to_string())) {
            Some(StateValue::OrgKey(Some(k))) => Some(k.clone()),
            _ => None,
        }
    }

    fn put_org_key(&mut self, org: &str, keys: OrgKeyState) {
        self.set(
            StateKey::OrgKey(org.to_string()),
            StateValue::OrgKey(Some(keys)),
        );
    }

    fn beneficiary_key(&self, org: &str, id: &str) -> Option<String> {
        let (o, i) = k2(org, id);
        match self.get(&StateKey::BeneficiaryKey(o, i)) {
            Some(StateValue::BeneficiaryKey(Some(k))) => Some(k.clone()),
            _ => None,
        }
    }

    fn put_beneficiary_key(&mut self, org: &str, id: &str, key: &str) {
        let (o, i) = k2(org, id);
        self.set(
            StateKey::BeneficiaryKey(o, i),
            StateValue::BeneficiaryKey(Some(key.to_string())),
        );
    }

    fn disbursement(&self, org: &str, id: &str) -> Option<DisbursementFacts> {
        let (o, i) = k2(org, id);
        match self.get(&StateKey::Disbursement(o, i)) {
            Some(StateValue::Disbursement(Some(f))) => Some(f.clone()),
            _ => None,
        }
    }

    fn put_disbursement(&mut self, org: &str, id: &str, facts: DisbursementFacts) {
        let (o, i) = k2(org, id);
        self.set(
            StateKey::Disbursement(o, i),
            StateValue::Disbursement(Some(facts)),
        );
    }

    fn person_payouts(
        &self,
        org: &str,
        campaign: &str,
        beneficiary: &str,
        period: &Period,
    ) -> PersonPayouts {
        let key = StateKey::PersonPayouts(
            org.to_string(),
            campaign.to_string(),
            beneficiary.to_string(),
            period.clone(),
        );
        match self.get(&key) {
            Some(StateValue::PersonPayouts(Some(p))) => *p,
            _ => PersonPayouts::default(),
        }
    }

    fn put_person_payouts(
        &mut self,
        org: &str,
        campaign: &str,
        beneficiary: &str,
        period: &Period,
        payouts: PersonPayouts,
    ) {
        let key = StateKey::PersonPayouts(
            org.to_string(),
            campaign.to_string(),
            beneficiary.to_string(),
            period.clone(),
        );
        self.set(key, StateValue::PersonPayouts(Some(payouts)));
    }
}
