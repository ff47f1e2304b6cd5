//! The derived files of a bundle as a pure function of the entries: the exporter feeds
//! the log's entries through a [`Deriver`] writing files, the verifier feeds the bundle's
//! `entries.csv` through one writing into comparators, so both apply the same code — and
//! the same chain, tree and money rules — to the same bytes.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::io::Write;

use super::csv_out::{Cell, CsvOut};
use super::effective::Effective;
use super::rows::{self, CampaignLine, Flow, RowSink};
use super::tables::TABLES;
use crate::BundleFormat;
use pennytrail_ledger::Rule;
use pennytrail_ledger::records::{Derived, Record, Scope};
use pennytrail_ledger::replay::{ReplayError, Replayer};
use pennytrail_ledger::rules::LedgerState;
use pennytrail_log::entry::{self, ChainError, ChainHead, EntryError};
use pennytrail_log::hash::Hash;
use pennytrail_log::merkle::Frontier;

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

/// Totals per currency, for the verifier's summary. Each campaign's totals stay within
/// 2^53 − 1, but a currency's add up over campaigns: i128 holds any log's (2^63 entries
/// of 2^53 at most), where i64 overflowed past 1,024 full campaigns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CurrencyTotals {
    pub received: i128,
    pub fees: i128,
    pub net: i128,
    pub disbursed: i128,
    /// Disbursed per beneficiary kind.
    pub by_kind: BTreeMap<String, i128>,
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
    /// Beneficiaries' signed acknowledgements and disputes, and signed reports.
    pub acknowledged: u64,
    pub disputed: u64,
    pub reports: u64,
    pub by_currency: BTreeMap<String, CurrencyTotals>,
}

struct Outstanding {
    donation: String,
    seq: u64,
    remaining: i64,
}

/// An entry's bytes parsed (canonical form checked) and hashed: the part of the work
/// that needs no state, so a reader thread can do it ahead of the deriver.
pub struct Parsed {
    entry: Result<entry::Entry, EntryError>,
    leaf: Hash,
}

impl Parsed {
    pub fn new(bytes: &[u8]) -> Parsed {
        Parsed {
            entry: entry::parse(bytes),
            leaf: pennytrail_log::hash::leaf_hash(bytes),
        }
    }
}

/// A finished file's sink, with the file's name.
pub type NamedSink<W> = (&'static str, W);

/// Turns entries, in log order, into every derived file.
pub struct Deriver<W: Write> {
    files: Vec<Option<CsvOut<W>>>,
    chain: ChainHead,
    frontier: Frontier,
    ledger: Replayer,
    queues: HashMap<(String, String), VecDeque<Outstanding>>,
    campaigns: Vec<CampaignLine>,
    /// A 128-bit fingerprint of every record id seen, to refuse a second record with the
    /// same id (ids are idempotency keys: a repeat would count money twice). 16 bytes per
    /// entry instead of the ids themselves keeps a 10M-entry check to ~300 MB; a false
    /// repeat needs a 2^-64 collision.
    ids: std::collections::HashSet<[u8; 16]>,
    summary: Summary,
    /// The corrections of the whole bundle, for the `X_effective` columns.
    effective: Effective,
}

impl<W: Write> RowSink for Deriver<W> {
    type Error = DeriveError;
    fn row(&mut self, file: &'static str, cells: &[Cell<'_>]) -> Result<(), DeriveError> {
        let index = TABLES
            .iter()
            .position(|t| t.file == file)
            .expect("rows are written to bundle files");
        self.files[index]
            .as_mut()
            .expect("open until finish")
            .row(cells)
            .map_err(|error| DeriveError::Io { file, error })
    }
}

impl<W: Write> Deriver<W> {
    /// `origin` is the log's (signed statements name it); `open` makes the sink of
    /// each CSV file.
    pub fn new(
        origin: &str,
        open: impl FnMut(&'static str) -> std::io::Result<W>,
    ) -> Result<Deriver<W>, DeriveError> {
        Deriver::of_format(origin, BundleFormat::CURRENT, open)
    }

    /// A deriver of the files as bundle format `format` lays them out.
    pub fn of_format(
        origin: &str,
        format: BundleFormat,
        mut open: impl FnMut(&'static str) -> std::io::Result<W>,
    ) -> Result<Deriver<W>, DeriveError> {
        let mut files = Vec::with_capacity(TABLES.len());
        for table in &TABLES {
            let name = table.file;
            let sink = open(name).map_err(|error| DeriveError::Io { file: name, error })?;
            files.push(Some(
                CsvOut::of_format(sink, table, format)
                    .map_err(|error| DeriveError::Io { file: name, error })?,
            ));
        }
        Ok(Deriver {
            files,
            chain: ChainHead::GENESIS,
            frontier: Frontier::empty(),
            ledger: Replayer::new(origin),
            queues: HashMap::new(),
            campaigns: Vec::new(),
            ids: std::collections::HashSet::new(),
            summary: Summary::default(),
            effective: Effective::default(),
        })
    }

    /// The corrections of the whole bundle (gathered before its entries are pushed), so
    /// that each `X_effective` column says the text as corrected. Without them, every
    /// `X_effective` equals `X`.
    pub fn with_effective(mut self, effective: Effective) -> Deriver<W> {
        self.effective = effective;
        self
    }

    /// Checks and derives one entry (the next in the log).
    pub fn push(&mut self, bytes: &[u8]) -> Result<(), DeriveError> {
        self.push_parsed(bytes, Parsed::new(bytes))
    }

    /// [`Deriver::push`] of an entry parsed and hashed ahead (on another thread).
    pub fn push_parsed(&mut self, bytes: &[u8], parsed: Parsed) -> Result<(), DeriveError> {
        let row = self.chain.size + 1;
        let e = parsed.entry.map_err(|error| DeriveError::Entry {
            row,
            seq: self.chain.size,
            error,
        })?;
        let prev = self.chain.leaf_hash;
        let leaf = self
            .chain
            .advance_with_leaf(&e, parsed.leaf)
            .map_err(|error| DeriveError::Chain { row, error })?;
        let (record, derived) = self
            .ledger
            .replay(&e, leaf)
            .map_err(|error| DeriveError::Rule { row, error })?;
        self.frontier.append(leaf);
        self.summary.entries += 1;

        rows::entry_row(self, &e, bytes, &leaf, &prev)?;
        let org = e.org.clone().unwrap_or_default();
        let key = record.key(&org);
        let fingerprint: [u8; 32] = {
            use sha2::Digest as _;
            let mut h = sha2::Sha256::new();
            for part in [
                key.org.as_bytes(),
                key.scope.as_str().as_bytes(),
                key.id.as_bytes(),
            ] {
                h.update(part);
                h.update(b"\n");
            }
            h.finalize().into()
        };
        if !self
            .ids
            .insert(fingerprint[..16].try_into().expect("16 of 32 bytes"))
        {
            return Err(DeriveError::Rule {
                row,
                error: ReplayError {
                    seq: e.seq,
                    // The entry field holding the id is named after the record type.
                    field: match key.scope {
                        Scope::Statement => "beneficiaries",
                        Scope::Acknowledgement => "disbursement",
                        Scope::OrgKey => "public_key",
                        scope => scope.as_str(),
                    }
                    .to_string(),
                    rule: Rule::DuplicateId,
                    message: format!(
                        "{} id {:?} of org {org:?} was already used by an earlier entry",
                        key.scope, key.id
                    ),
                },
            });
        }
        let kind = match &record {
            Record::Disbursement(x) => self
                .ledger
                .state()
                .beneficiary(&org, &x.beneficiary)
                .map(|k| k.as_str())
                .unwrap_or_default(),
            _ => "",
        };
        // The rows borrow the deriver as their sink: the corrections are lent meanwhile.
        let effective = std::mem::take(&mut self.effective);
        let written = rows::record_rows(self, &e, &record, &derived, kind, &effective);
        self.effective = effective;
        written?;
        match (record, derived) {
            (Record::Campaign(c), _) => {
                self.summary.campaigns += 1;
                self.campaigns.push(CampaignLine::opened(&e, &c));
            }
            (Record::Org(_), _) => self.summary.orgs += 1,
            (Record::Report(_), _) => self.summary.reports += 1,
            (Record::Acknowledgement(a), _) => match a.status {
                pennytrail_ledger::attestations::AckStatus::Received => {
                    self.summary.acknowledged += 1
                }
                pennytrail_ledger::attestations::AckStatus::Disputed => self.summary.disputed += 1,
            },
            (Record::Donation(d), Derived::Donation { currency, net, .. }) => {
                self.summary.donations += 1;
                let totals = self
                    .summary
                    .by_currency
                    .entry(currency.code().to_string())
                    .or_default();
                totals.received += i128::from(d.amount.minor_units());
                totals.fees += i128::from(d.fee.minor_units());
                totals.net += i128::from(net.minor_units());
                if net.minor_units() > 0 {
                    self.queues
                        .entry((org, d.campaign))
                        .or_default()
                        .push_back(Outstanding {
                            donation: d.id,
                            seq: e.seq,
                            remaining: net.minor_units(),
                        });
                }
            }
            (Record::Disbursement(x), Derived::Disbursement { currency, .. }) => {
                self.summary.disbursements += 1;
                let totals = self
                    .summary
                    .by_currency
                    .entry(currency.code().to_string())
                    .or_default();
                totals.disbursed += i128::from(x.amount.minor_units());
                *totals.by_kind.entry(kind.to_string()).or_default() +=
                    i128::from(x.amount.minor_units());
                // FIFO: drain the campaign's outstanding donations in log order.
                let mut to_pay = x.amount.minor_units();
                let mut flows = Vec::new();
                let queue = self.queues.entry((org, x.campaign.clone())).or_default();
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
                    let flow = Flow {
                        donation: &donation,
                        donation_seq,
                        amount,
                    };
                    rows::flow_row(self, &e, &x, currency.code(), kind, &flow)?;
                }
            }
            _ => {}
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
        let effective = std::mem::take(&mut self.effective);
        for c in &campaigns {
            let totals = self
                .ledger
                .state()
                .campaign(&c.org, &c.id)
                .expect("campaigns are in the ledger");
            rows::campaign_row(&mut self, c, &totals, &effective)?;
        }
        self.summary.root = self.frontier.root();
        let mut sinks = Vec::with_capacity(TABLES.len());
        for (table, file) in TABLES.iter().zip(self.files) {
            let out = file.expect("open until finish");
            let name = table.file;
            sinks.push((
                name,
                out.finish()
                    .map_err(|error| DeriveError::Io { file: name, error })?,
            ));
        }
        Ok((sinks, self.summary))
    }
}
