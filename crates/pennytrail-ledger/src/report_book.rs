//! The figures a report must state, recomputed from the entries: [`ReportBook`] is fed
//! the log's entries in order and answers, for any org and range `[from, to)` of the
//! entries fed so far, the sums a `report.published` entry over that range must carry.
//! The API computes a report's figures with one (fed the org's entries) before
//! accepting it; the verifier keeps one over the whole log and checks every report.
//!
//! Memory: orgs without a key cannot publish reports and are not tracked; for the
//! others, one cumulative line (40 bytes) per donation and per disbursement.

use std::collections::{BTreeMap, HashMap};

use super::attestations::{CampaignFigures, KindFigures, ReportFigures};
use super::money::Currency;
use super::records::{BeneficiaryKind, Derived, Record};

/// Running totals after an entry: received, fees, net, disbursed.
type Totals = [i64; 4];

struct CampaignHistory {
    id: String,
    currency: Currency,
    opened: u64,
    /// (seq, totals after that entry), in log order.
    history: Vec<(u64, Totals)>,
}

#[derive(Default)]
struct OrgBook {
    campaigns: Vec<CampaignHistory>,
    index: HashMap<String, usize>,
    kinds_of: HashMap<String, BeneficiaryKind>,
    /// (currency, kind) → (seq, disbursed so far) after each disbursement. These sums run
    /// over campaigns, so they may pass i64: they wrap, and only their differences (the
    /// sums over a range, which a report can state) are used, exact modulo 2^64.
    disbursed: BTreeMap<(String, &'static str), Vec<(u64, i64)>>,
}

/// The value of a running history just before entry `size` (0 before any entry).
fn at<T: Copy + Default>(history: &[(u64, T)], size: u64) -> T {
    let n = history.partition_point(|(seq, _)| *seq < size);
    if n == 0 {
        T::default()
    } else {
        history[n - 1].1
    }
}

/// See the module docs.
#[derive(Default)]
pub struct ReportBook {
    orgs: HashMap<String, OrgBook>,
    /// Track orgs without a key too (the API, fed one org's entries, answers figures
    /// for any org).
    every_org: bool,
}

impl ReportBook {
    /// A book of the orgs that can publish reports (registered with a key).
    pub fn new() -> ReportBook {
        ReportBook::default()
    }

    /// A book of every org fed to it.
    pub fn every_org() -> ReportBook {
        ReportBook {
            every_org: true,
            ..ReportBook::default()
        }
    }

    /// Feeds one entry (its org, seq, record and the derived fields it carries), in
    /// log order.
    pub fn push(&mut self, org: &str, seq: u64, record: &Record, derived: &Derived) {
        if let Record::Org(o) = record {
            if o.public_key.is_some() || self.every_org {
                self.orgs.insert(org.to_string(), OrgBook::default());
            }
            return;
        }
        let Some(book) = self.orgs.get_mut(org) else {
            return;
        };
        match (record, derived) {
            (Record::Beneficiary(b), _) => {
                book.kinds_of.insert(b.id.clone(), b.kind);
            }
            (Record::Campaign(c), _) => {
                book.index.insert(c.id.clone(), book.campaigns.len());
                book.campaigns.push(CampaignHistory {
                    id: c.id.clone(),
                    currency: c.currency,
                    opened: seq,
                    history: Vec::new(),
                });
            }
            (Record::Donation(d), Derived::Donation { net, .. }) => {
                if let Some(&i) = book.index.get(&d.campaign) {
                    let c = &mut book.campaigns[i];
                    let mut t = c.history.last().map(|(_, t)| *t).unwrap_or_default();
                    t[0] += d.amount.minor_units();
                    t[1] += d.fee.minor_units();
                    t[2] += net.minor_units();
                    c.history.push((seq, t));
                }
            }
            (Record::Disbursement(x), Derived::Disbursement { currency, .. }) => {
                if let Some(&i) = book.index.get(&x.campaign) {
                    let c = &mut book.campaigns[i];
                    let mut t = c.history.last().map(|(_, t)| *t).unwrap_or_default();
                    t[3] += x.amount.minor_units();
                    c.history.push((seq, t));
                }
                let kind = book
                    .kinds_of
                    .get(&x.beneficiary)
                    .map(|k| k.as_str())
                    .unwrap_or("unknown");
                let line = book
                    .disbursed
                    .entry((currency.code().to_string(), kind))
                    .or_default();
                let so_far = line.last().map(|(_, d)| *d).unwrap_or_default();
                line.push((seq, so_far.wrapping_add(x.amount.minor_units())));
            }
            _ => {}
        }
    }

    /// The figures a report of `org` over `[from, to)` must state: per campaign opened
    /// before `to` (in opening order), the sums over the range and what is held at
    /// `to`; per (currency, beneficiary kind) with money disbursed in the range, the sum.
    pub fn figures(&self, org: &str, from: u64, to: u64) -> ReportFigures {
        let Some(book) = self.orgs.get(org) else {
            return ReportFigures::default();
        };
        let campaigns = book
            .campaigns
            .iter()
            .filter(|c| c.opened < to)
            .map(|c| {
                let (end, start) = (at(&c.history, to), at(&c.history, from));
                CampaignFigures {
                    campaign: c.id.clone(),
                    currency: c.currency.code().to_string(),
                    received: end[0] - start[0],
                    fees: end[1] - start[1],
                    net: end[2] - start[2],
                    disbursed: end[3] - start[3],
                    held: end[2] - end[3],
                }
            })
            .collect();
        let beneficiary_kinds = book
            .disbursed
            .iter()
            .filter_map(|((currency, kind), line)| {
                let disbursed = at(line, to).wrapping_sub(at(line, from));
                (disbursed != 0).then(|| KindFigures {
                    currency: currency.clone(),
                    beneficiary_kind: kind.to_string(),
                    disbursed,
                })
            })
            .collect();
        ReportFigures {
            campaigns,
            beneficiary_kinds,
        }
    }
}
