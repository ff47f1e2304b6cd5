//! What a batch will write if it commits, as its jobs are sequenced: entries, tree
//! hashes, idempotency keys and the ledger's rows; and how a refused job is rolled back
//! out of it.

use std::collections::HashMap;

use super::SideEffect;
use crate::ledger::records::{Derived, Record, RecordKey};
use crate::log::hash::Hash;
use crate::store::{AckRow, CorrectionRow, DisbursementRow, DonationRow};

/// What a batch will write if it commits.
#[derive(Default)]
pub(super) struct BatchWrites {
    pub(super) entries: Vec<(u64, Vec<u8>)>,
    pub(super) tree_hashes: Vec<Hash>,
    pub(super) first_tree_index: Option<u64>,
    pub(super) records: Vec<(RecordKey, u64)>,
    pub(super) side_effects: Vec<SideEffect>,
    pub(super) donations: Vec<DonationRow>,
    pub(super) disbursements: Vec<DisbursementRow>,
    pub(super) corrections: Vec<CorrectionRow>,
    pub(super) acks: Vec<AckRow>,
    /// Each record appended in this batch, for replays within the batch.
    pub(super) new_keys: HashMap<RecordKey, (u64, Record)>,
}

/// Lengths of a [`BatchWrites`]' lists, to roll a refused job back to.
pub(super) struct WritesMark {
    pub(super) entries: usize,
    pub(super) tree_hashes: usize,
    pub(super) records: usize,
    pub(super) side_effects: usize,
    pub(super) donations: usize,
    pub(super) disbursements: usize,
    pub(super) corrections: usize,
    pub(super) acks: usize,
}

impl BatchWrites {
    pub(super) fn mark(&self) -> WritesMark {
        WritesMark {
            entries: self.entries.len(),
            tree_hashes: self.tree_hashes.len(),
            records: self.records.len(),
            side_effects: self.side_effects.len(),
            donations: self.donations.len(),
            disbursements: self.disbursements.len(),
            corrections: self.corrections.len(),
            acks: self.acks.len(),
        }
    }

    pub(super) fn rollback_to(&mut self, mark: WritesMark) {
        for (key, _) in self.records.drain(mark.records..) {
            self.new_keys.remove(&key);
        }
        self.entries.truncate(mark.entries);
        self.tree_hashes.truncate(mark.tree_hashes);
        self.side_effects.truncate(mark.side_effects);
        self.donations.truncate(mark.donations);
        self.disbursements.truncate(mark.disbursements);
        self.corrections.truncate(mark.corrections);
        self.acks.truncate(mark.acks);
        if self.tree_hashes.is_empty() {
            self.first_tree_index = None;
        }
    }

    /// The ledger rows a newly appended record adds.
    pub(super) fn add_rows(&mut self, org: &str, seq: u64, record: &Record, derived: &Derived) {
        match (record, derived) {
            (
                Record::Donation(d),
                Derived::Donation {
                    net,
                    received_before,
                    ..
                },
            ) => self.donations.push(DonationRow {
                org: org.to_string(),
                id: d.id.clone(),
                campaign: d.campaign.clone(),
                seq,
                amount: d.amount.minor_units(),
                fee: d.fee.minor_units(),
                net: net.minor_units(),
                received_before: received_before.minor_units(),
                donor_commitment: d.donor_commitment.clone(),
            }),
            (
                Record::Disbursement(x),
                Derived::Disbursement {
                    disbursed_before, ..
                },
            ) => self.disbursements.push(DisbursementRow {
                org: org.to_string(),
                id: x.id.clone(),
                campaign: x.campaign.clone(),
                beneficiary: x.beneficiary.clone(),
                seq,
                amount: x.amount.minor_units(),
                disbursed_before: disbursed_before.minor_units(),
            }),
            (Record::Correction(c), _) => self.corrections.push(CorrectionRow {
                org: org.to_string(),
                id: c.id.clone(),
                corrects: c.corrects,
                seq,
            }),
            (Record::Acknowledgement(a), _) => self.acks.push(AckRow {
                org: org.to_string(),
                disbursement: a.disbursement.clone(),
                status: a.status.as_str(),
                amount_received: a.amount_received.minor_units(),
                seq,
            }),
            _ => {}
        }
    }
}
