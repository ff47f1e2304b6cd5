//! The derived files of a bundle as a pure function of the entries: the exporter feeds
//! the log's entries through a [`Deriver`] writing files, the verifier feeds the bundle's
//! `entries.csv` through one writing into comparators, so both apply the same code — and
//! the same chain, tree and money rules — to the same bytes.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::io::Write;

use super::csv_out::{Cell, CsvOut};
use crate::ledger::records::{Derived, Record};
use crate::ledger::replay::{ReplayError, replay_entry};
use crate::ledger::rules::LedgerState;
use crate::ledger::state::LedgerMemory;
use crate::log::entry::{self, ChainError, ChainHead, EntryError};
use crate::log::hash::Hash;
use crate::log::merkle::Frontier;

/// Every CSV of a bundle with its header, in the order they are written and listed.
pub const CSV_FILES: [(&str, &[&str]); 9] = [
    (
        "entries.csv",
        &["seq", "time", "kind", "org", "leaf_hash", "prev", "entry"],
    ),
    (
        "orgs.csv",
        &[
            "org",
            "name",
            "country",
            "charity_number",
            "public_key",
            "seq",
            "time",
        ],
    ),
    (
        "beneficiaries.csv",
        &[
            "org",
            "beneficiary",
            "label",
            "beneficiary_kind",
            "country",
            "public_key",
            "seq",
            "time",
        ],
    ),
    (
        "campaigns.csv",
        &[
            "org",
            "campaign",
            "title",
            "purpose",
            "currency",
            "received",
            "fees",
            "net",
            "disbursed",
            "held",
            "donations",
            "disbursements",
            "seq",
            "time",
        ],
    ),
    (
        "stated_beneficiaries.csv",
        &["org", "campaign", "beneficiary", "stated_seq"],
    ),
    (
        "donations.csv",
        &[
            "org",
            "donation",
            "campaign",
            "currency",
            "amount",
            "fee",
            "net",
            "received_before",
            "channel",
            "donor_commitment",
            "occurred_at",
            "seq",
            "time",
        ],
    ),
    (
        "disbursements.csv",
        &[
            "org",
            "disbursement",
            "campaign",
            "currency",
            "beneficiary",
            "beneficiary_kind",
            "amount",
            "disbursed_before",
            "purpose",
            "evidence_sha256",
            "seq",
            "time",
        ],
    ),
    (
        "flows.csv",
        &[
            "org",
            "campaign",
            "currency",
            "donation",
            "disbursement",
            "beneficiary",
            "beneficiary_kind",
            "amount",
            "donation_seq",
            "disbursement_seq",
        ],
    ),
    (
        "corrections.csv",
        &[
            "org",
            "correction",
            "corrects",
            "field",
            "value",
            "seq",
            "time",
        ],
    ),
];

/// Why the entries cannot make a bundle (or a bundle's entries fail verification).
#[derive(Debug, thiserror::Error)]
pub enum DeriveError {
    #[error("entries.csv row {row} (entry {seq}): {error}")]
    Entry {
        row: u64,
        seq: u64,
        error: EntryError,
    },
    #[error("entries.csv row {row}: {error}")]
    Chain { row: u64, error: ChainError },
    #[error("entries.csv row {row}: {error}")]
    Rule { row: u64, error: ReplayError },
    #[error("writing {file}: {error}")]
    Io {
        file: &'static str,
        error: std::io::Error,
    },
}

/// Totals per currency, for the verifier's summary.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CurrencyTotals {
    pub received: i64,
    pub fees: i64,
    pub net: i64,
    pub disbursed: i64,
    /// Disbursed per beneficiary kind.
    pub by_kind: BTreeMap<String, i64>,
}

/// What a whole run over the entries found.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub entries: u64,
    pub root: Hash,
    pub orgs: u64,
    pub campaigns: u64,
    pub donations: u64,
    pub disbursements: u64,
    pub by_currency: BTreeMap<String, CurrencyTotals>,
}

struct Outstanding {
    donation: String,
    seq: u64,
    remaining: i64,
}

struct CampaignMeta {
    org: String,
    id: String,
    title: String,
    purpose: String,
    currency: String,
    seq: u64,
    time: String,
}

/// A finished file's sink, with the file's name.
pub type NamedSink<W> = (&'static str, W);

/// Turns entries, in log order, into every derived file.
pub struct Deriver<W: Write> {
    files: Vec<Option<CsvOut<W>>>,
    chain: ChainHead,
    frontier: Frontier,
    ledger: LedgerMemory,
    queues: HashMap<(String, String), VecDeque<Outstanding>>,
    campaigns: Vec<CampaignMeta>,
    /// A 128-bit fingerprint of every record id seen, to refuse a second record with the
    /// same id (ids are idempotency keys: a repeat would count money twice). 16 bytes per
    /// entry instead of the ids themselves keeps a 10M-entry check to ~300 MB; a false
    /// repeat needs a 2^-64 collision.
    ids: std::collections::HashSet<[u8; 16]>,
    summary: Summary,
}

fn index(name: &str) -> usize {
    CSV_FILES
        .iter()
        .position(|(n, _)| *n == name)
        .expect("known file")
}

impl<W: Write> Deriver<W> {
    /// `open` makes the sink of each CSV file.
    pub fn new(
        mut open: impl FnMut(&'static str) -> std::io::Result<W>,
    ) -> Result<Deriver<W>, DeriveError> {
        let mut files = Vec::with_capacity(CSV_FILES.len());
        for (name, header) in CSV_FILES {
            let sink = open(name).map_err(|error| DeriveError::Io { file: name, error })?;
            files.push(Some(
                CsvOut::new(sink, header).map_err(|error| DeriveError::Io { file: name, error })?,
            ));
        }
        Ok(Deriver {
            files,
            chain: ChainHead::GENESIS,
            frontier: Frontier::empty(),
            ledger: LedgerMemory::new(),
            queues: HashMap::new(),
            campaigns: Vec::new(),
            ids: std::collections::HashSet::new(),
            summary: Summary::default(),
        })
    }

    fn write(&mut self, file: &'static str, cells: &[Cell<'_>]) -> Result<(), DeriveError> {
        self.files[index(file)]
            .as_mut()
            .expect("open until finish")
            .row(cells)
            .map_err(|error| DeriveError::Io { file, error })
    }

    /// Checks and derives one entry (the next in the log).
    pub fn push(&mut self, bytes: &[u8]) -> Result<(), DeriveError> {
        let row = self.chain.size + 1;
        let e = entry::parse(bytes).map_err(|error| DeriveError::Entry {
            row,
            seq: self.chain.size,
            error,
        })?;
        let prev = self.chain.leaf_hash;
        let leaf = self
            .chain
            .advance(&e, bytes)
            .map_err(|error| DeriveError::Chain { row, error })?;
        replay_entry(&mut self.ledger, &e).map_err(|error| DeriveError::Rule { row, error })?;
        self.frontier.append(leaf);
        self.summary.entries += 1;

        let seq = e.seq as i64;
        let time = e.time.format();
        let org = e.org.clone().unwrap_or_default();
        let json = std::str::from_utf8(bytes).expect("canonical entries are UTF-8");
        let (leaf_hex, prev_hex) = (leaf.to_hex(), prev.to_hex());
        self.write(
            "entries.csv",
            &[
                Cell::Int(seq),
                Cell::Plain(&time),
                Cell::Plain(&e.kind),
                Cell::Plain(&org),
                Cell::Plain(&leaf_hex),
                Cell::Plain(&prev_hex),
                Cell::Plain(json),
            ],
        )?;
        let (record, derived) = Record::from_entry(&e).expect("replay_entry checked the record");
        let key = record.key(&org);
        let fingerprint =
            crate::log::hash::sha256(format!("{}\n{}\n{}", key.org, key.scope, key.id).as_bytes());
        if !self
            .ids
            .insert(fingerprint.0[..16].try_into().expect("16 of 32 bytes"))
        {
            return Err(DeriveError::Rule {
                row,
                error: ReplayError {
                    seq: e.seq,
                    // The entry field holding the id is named after the record type.
                    field: if key.scope == "statement" {
                        "beneficiaries"
                    } else {
                        key.scope
                    }
                    .to_string(),
                    rule: "duplicate-id",
                    message: format!(
                        "{} id {:?} of org {org:?} was already used by an earlier entry",
                        key.scope, key.id
                    ),
                },
            });
        }
        match record {
            Record::Org(o) => {
                self.summary.orgs += 1;
                self.write(
                    "orgs.csv",
                    &[
                        Cell::Plain(&o.id),
                        Cell::Text(&o.name),
                        Cell::Plain(&o.country),
                        Cell::Opt(o.charity_number.as_deref()),
                        Cell::Opt(o.public_key.as_deref()),
                        Cell::Int(seq),
                        Cell::Plain(&time),
                    ],
                )?;
            }
            Record::Beneficiary(b) => self.write(
                "beneficiaries.csv",
                &[
                    Cell::Plain(&org),
                    Cell::Plain(&b.id),
                    Cell::Text(&b.label),
                    Cell::Plain(b.kind.as_str()),
                    Cell::Plain(&b.country),
                    Cell::Opt(b.public_key.as_deref()),
                    Cell::Int(seq),
                    Cell::Plain(&time),
                ],
            )?,
            Record::Campaign(c) => {
                self.summary.campaigns += 1;
                for b in &c.beneficiaries {
                    self.write(
                        "stated_beneficiaries.csv",
                        &[
                            Cell::Plain(&org),
                            Cell::Plain(&c.id),
                            Cell::Plain(b),
                            Cell::Int(seq),
                        ],
                    )?;
                }
                self.campaigns.push(CampaignMeta {
                    org: org.clone(),
                    id: c.id,
                    title: c.title,
                    purpose: c.purpose,
                    currency: c.currency.code().to_string(),
                    seq: e.seq,
                    time: time.clone(),
                });
            }
            Record::Statement(s) => {
                for b in &s.beneficiaries {
                    self.write(
                        "stated_beneficiaries.csv",
                        &[
                            Cell::Plain(&org),
                            Cell::Plain(&s.campaign),
                            Cell::Plain(b),
                            Cell::Int(seq),
                        ],
                    )?;
                }
            }
            Record::Donation(d) => {
                let Derived::Donation {
                    currency,
                    net,
                    received_before,
                } = derived
                else {
                    unreachable!("donations carry derived fields")
                };
                self.summary.donations += 1;
                let totals = self
                    .summary
                    .by_currency
                    .entry(currency.code().to_string())
                    .or_default();
                totals.received += d.amount.minor_units();
                totals.fees += d.fee.minor_units();
                totals.net += net.minor_units();
                self.write(
                    "donations.csv",
                    &[
                        Cell::Plain(&org),
                        Cell::Plain(&d.id),
                        Cell::Plain(&d.campaign),
                        Cell::Plain(currency.code()),
                        Cell::Int(d.amount.minor_units()),
                        Cell::Int(d.fee.minor_units()),
                        Cell::Int(net.minor_units()),
                        Cell::Int(received_before.minor_units()),
                        Cell::Plain(&d.channel),
                        Cell::Opt(d.donor_commitment.as_deref()),
                        Cell::Opt(d.occurred_at.as_deref()),
                        Cell::Int(seq),
                        Cell::Plain(&time),
                    ],
                )?;
                if net.minor_units() > 0 {
                    self.queues
                        .entry((org.clone(), d.campaign.clone()))
                        .or_default()
                        .push_back(Outstanding {
                            donation: d.id,
                            seq: e.seq,
                            remaining: net.minor_units(),
                        });
                }
            }
            Record::Disbursement(x) => {
                let Derived::Disbursement {
                    currency,
                    disbursed_before,
                } = derived
                else {
                    unreachable!("disbursements carry derived fields")
                };
                self.summary.disbursements += 1;
                let kind = self
                    .ledger
                    .beneficiary(&org, &x.beneficiary)
                    .map(|k| k.as_str())
                    .unwrap_or_default();
                let totals = self
                    .summary
                    .by_currency
                    .entry(currency.code().to_string())
                    .or_default();
                totals.disbursed += x.amount.minor_units();
                *totals.by_kind.entry(kind.to_string()).or_default() += x.amount.minor_units();
                self.write(
                    "disbursements.csv",
                    &[
                        Cell::Plain(&org),
                        Cell::Plain(&x.id),
                        Cell::Plain(&x.campaign),
                        Cell::Plain(currency.code()),
                        Cell::Plain(&x.beneficiary),
                        Cell::Plain(kind),
                        Cell::Int(x.amount.minor_units()),
                        Cell::Int(disbursed_before.minor_units()),
                        Cell::Text(&x.purpose),
                        Cell::Opt(x.evidence_sha256.as_deref()),
                        Cell::Int(seq),
                        Cell::Plain(&time),
                    ],
                )?;
                // FIFO: drain the campaign's outstanding donations in log order.
                let mut to_pay = x.amount.minor_units();
                let mut flows = Vec::new();
                let queue = self
                    .queues
                    .entry((org.clone(), x.campaign.clone()))
                    .or_default();
                while to_pay > 0 {
                    let front = queue.front_mut().expect("the rules forbid overspending");
                    let part = front.remaining.min(to_pay);
                    flows.push((front.donation.clone(), front.seq, part));
                    front.remaining -= part;
                    to_pay -= part;
                    if front.remaining == 0 {
                        queue.pop_front();
                    }
                }
                for (donation, donation_seq, amount) in flows {
                    self.write(
                        "flows.csv",
                        &[
                            Cell::Plain(&org),
                            Cell::Plain(&x.campaign),
                            Cell::Plain(currency.code()),
                            Cell::Plain(&donation),
                            Cell::Plain(&x.id),
                            Cell::Plain(&x.beneficiary),
                            Cell::Plain(kind),
                            Cell::Int(amount),
                            Cell::Int(donation_seq as i64),
                            Cell::Int(seq),
                        ],
                    )?;
                }
            }
            Record::Correction(c) => {
                for (field, value) in &c.fields {
                    self.write(
                        "corrections.csv",
                        &[
                            Cell::Plain(&org),
                            Cell::Plain(&c.id),
                            Cell::Int(c.corrects as i64),
                            Cell::Plain(field),
                            Cell::Text(value),
                            Cell::Int(seq),
                            Cell::Plain(&time),
                        ],
                    )?;
                }
            }
        }
        Ok(())
    }

    /// Entries derived so far and the Merkle root over them.
    pub fn position(&self) -> (u64, Hash) {
        (self.chain.size, self.frontier.root())
    }

    /// Writes what only the end knows (campaign totals) and returns the sinks and summary.
    pub fn finish(mut self) -> Result<(Vec<NamedSink<W>>, Summary), DeriveError> {
        let campaigns = std::mem::take(&mut self.campaigns);
        for c in &campaigns {
            let t = self
                .ledger
                .campaign(&c.org, &c.id)
                .expect("campaigns are in the ledger");
            self.write(
                "campaigns.csv",
                &[
                    Cell::Plain(&c.org),
                    Cell::Plain(&c.id),
                    Cell::Text(&c.title),
                    Cell::Text(&c.purpose),
                    Cell::Plain(&c.currency),
                    Cell::Int(t.received.minor_units()),
                    Cell::Int(t.fees.minor_units()),
                    Cell::Int(t.net.minor_units()),
                    Cell::Int(t.disbursed.minor_units()),
                    Cell::Int(t.held().minor_units()),
                    Cell::Int(t.donations as i64),
                    Cell::Int(t.disbursements as i64),
                    Cell::Int(c.seq as i64),
                    Cell::Plain(&c.time),
                ],
            )?;
        }
        self.summary.root = self.frontier.root();
        let mut sinks = Vec::with_capacity(CSV_FILES.len());
        for ((name, _), file) in CSV_FILES.iter().zip(self.files) {
            let out = file.expect("open until finish");
            sinks.push((
                *name,
                out.finish()
                    .map_err(|error| DeriveError::Io { file: name, error })?,
            ));
        }
        Ok((sinks, self.summary))
    }
}
