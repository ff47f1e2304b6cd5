//! One bundle CSV over a slice of the log, read from the store page by page and written
//! in chunks as it goes: what `GET /v1/exports/{file}` streams. Rows come from the same
//! functions as the bundle's ([`super::rows`]), so the whole log's `donations.csv` from
//! the API is byte for byte the bundle's `donations.csv` at the same size.
//!
//! Memory is bounded whatever the log's size: one page of entries, one output chunk, a
//! bounded cache of beneficiary kinds — and, for `campaigns.csv` only, the totals of the
//! campaigns selected (their running totals at `to` are replayed from the entries).

use std::collections::HashMap;
use std::future::Future;

use crate::ledger::allocation::Span;
use crate::ledger::records::{Derived, Record};
use crate::ledger::replay::Replayer;
use crate::ledger::rules::LedgerState;
use crate::log::entry::{self, Entry};
use crate::log::hash::{Hash, leaf_hash};
use crate::log::merkle::stored_hash_index;
use crate::store::{Store, StoreError};
use pennytrail_bundle::csv_out::{Cell, CsvOut};
use pennytrail_bundle::effective::Effective;
use pennytrail_bundle::rows::{self, CampaignLine, Flow, RowSink};
use pennytrail_bundle::tables::table;

/// Entries (or allocation rows) read from the store per query.
pub const STREAM_PAGE: u64 = 1000;

/// Output is handed on in chunks of about this size.
pub const CHUNK_BYTES: usize = 64 * 1024;

/// Beneficiary kinds remembered while streaming; the cache is emptied when full.
const KIND_CACHE_ENTRIES: usize = 10_000;

/// Which rows of which file: entries with seq in `[from, to)`, of `org` and `campaign`
/// when given (`campaign` needs `org`). For `campaigns.csv`, the campaigns opened in
/// `[from, to)` with their totals at `to`.
#[derive(Debug, Clone)]
pub struct Selection {
    pub file: &'static str,
    pub from: u64,
    pub to: u64,
    pub org: Option<String>,
    pub campaign: Option<String>,
    /// Rows read per store query: [`STREAM_PAGE`] (tests use small pages to cross page
    /// boundaries).
    pub page: u64,
}

/// The files a campaign filter applies to (the others hold no campaign column).
pub const CAMPAIGN_FILES: [&str; 6] = [
    "entries.csv",
    "campaigns.csv",
    "stated_beneficiaries.csv",
    "donations.csv",
    "disbursements.csv",
    "flows.csv",
];

/// Why a stream stopped early.
#[derive(Debug, thiserror::Error)]
pub enum SelectError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the stored log is inconsistent at entry {seq}: {message}")]
    Corrupt { seq: u64, message: String },
    /// The receiver went away (the client disconnected): not a fault.
    #[error("the receiver stopped listening")]
    Closed,
}

fn corrupt(seq: u64, message: impl ToString) -> SelectError {
    SelectError::Corrupt {
        seq,
        message: message.to_string(),
    }
}

/// Writes only the rows of one file.
struct OneFile {
    file: &'static str,
    out: CsvOut<Vec<u8>>,
}

impl RowSink for OneFile {
    type Error = SelectError;
    fn row(&mut self, file: &'static str, cells: &[Cell<'_>]) -> Result<(), SelectError> {
        if file == self.file {
            self.out
                .row(cells)
                .map_err(|e| corrupt(0, format!("writing a row: {e}")))?;
        }
        Ok(())
    }
}

/// Streams the selection, handing each chunk to `send`, which answers whether the
/// receiver still listens. Returns the number of data rows written.
pub async fn stream_csv<F, Fut>(
    store: &Store,
    selection: &Selection,
    mut send: F,
) -> Result<u64, SelectError>
where
    F: FnMut(Vec<u8>) -> Fut,
    Fut: Future<Output = bool>,
{
    let table = table(selection.file).expect("the caller checked the file name");
    let mut sink = OneFile {
        file: selection.file,
        out: CsvOut::new(Vec::new(), table).map_err(|e| corrupt(0, e))?,
    };
    // Corrections up to the slice's end, as a bundle of those entries would apply them.
    let effective = if table.columns.iter().any(|c| c.name.ends_with("_effective")) {
        super::corrections_before(store, selection.to).await?
    } else {
        Effective::default()
    };
    let mut streamer = Streamer {
        store,
        selection,
        kinds: HashMap::new(),
        last_leaf: None,
        effective,
    };
    if selection.file == "campaigns.csv" {
        streamer.campaigns(&mut sink).await?;
    } else {
        let mut next = selection.from;
        while next < selection.to {
            let page = streamer.page(next).await?;
            let Some((last, _)) = page.last() else { break };
            next = last + 1;
            streamer.write_page(&mut sink, &page).await?;
            flush(&mut sink, &mut send, CHUNK_BYTES).await?;
        }
    }
    flush(&mut sink, &mut send, 0).await?;
    Ok(sink.out.rows)
}

async fn flush<F, Fut>(sink: &mut OneFile, send: &mut F, at_least: usize) -> Result<(), SelectError>
where
    F: FnMut(Vec<u8>) -> Fut,
    Fut: Future<Output = bool>,
{
    let chunk = sink
        .out
        .take_written(at_least)
        .map_err(|e| corrupt(0, format!("writing a row: {e}")))?;
    if chunk.is_empty() {
        return Ok(());
    }
    if send(chunk).await {
        Ok(())
    } else {
        Err(SelectError::Closed)
    }
}

struct Streamer<'a> {
    store: &'a Store,
    selection: &'a Selection,
    kinds: HashMap<(String, String), String>,
    /// The previous entry written to `entries.csv` and its leaf hash.
    last_leaf: Option<(u64, Hash)>,
    /// The corrections before the slice's end, for the `X_effective` columns.
    effective: Effective,
}

impl Streamer<'_> {
    /// The next page of candidate entries from `next` on, below `to`.
    async fn page(&self, next: u64) -> Result<Vec<(u64, Vec<u8>)>, SelectError> {
        let to = self.selection.to;
        let page = match &self.selection.org {
            Some(org) => {
                self.store
                    .org_entries(org, next, to, self.selection.page)
                    .await?
            }
            None => {
                let page = self
                    .store
                    .entries(next, self.selection.page.min(to - next))
                    .await?;
                if page.first().map(|(seq, _)| *seq) != Some(next) {
                    return Err(corrupt(next, "the entry is missing from the store"));
                }
                page
            }
        };
        Ok(page)
    }

    /// Parses an entry and its record; `None` if the campaign filter excludes it.
    fn read(
        &self,
        seq: u64,
        bytes: &[u8],
    ) -> Result<Option<(Entry, Record, Derived)>, SelectError> {
        let e = entry::parse(bytes).map_err(|e| corrupt(seq, e))?;
        if e.seq != seq {
            return Err(corrupt(seq, format!("the entry says seq {}", e.seq)));
        }
        let (record, derived) = Record::from_entry(&e).map_err(|e| corrupt(seq, e))?;
        if let Some(campaign) = &self.selection.campaign
            && rows::record_campaign(&record) != Some(campaign.as_str())
        {
            return Ok(None);
        }
        Ok(Some((e, record, derived)))
    }

    async fn write_page(
        &mut self,
        sink: &mut OneFile,
        page: &[(u64, Vec<u8>)],
    ) -> Result<(), SelectError> {
        let prevs = if sink.file == "entries.csv" {
            self.previous_leaves(page).await?
        } else {
            HashMap::new()
        };
        for (seq, bytes) in page {
            // Every entry of the page is the next one's predecessor, kept or not.
            let leaf = (sink.file == "entries.csv").then(|| leaf_hash(bytes));
            let read = self.read(*seq, bytes)?;
            let previous = self.last_leaf;
            if let Some(leaf) = leaf {
                self.last_leaf = Some((*seq, leaf));
            }
            let Some((e, record, derived)) = read else {
                continue;
            };
            match sink.file {
                "entries.csv" => {
                    let leaf = leaf.expect("computed for entries.csv");
                    let prev = match previous {
                        Some((last, hash)) if last + 1 == *seq => hash,
                        _ if *seq == 0 => Hash::ZERO,
                        _ => *prevs
                            .get(seq)
                            .ok_or_else(|| corrupt(*seq, "no leaf hash for the previous entry"))?,
                    };
                    rows::entry_row(sink, &e, bytes, &leaf, &prev)?;
                }
                "flows.csv" => {
                    if let Record::Disbursement(x) = &record {
                        self.flows(sink, &e, x, &derived).await?;
                    }
                }
                _ => {
                    let kind = match &record {
                        Record::Disbursement(x) if sink.file == "disbursements.csv" => {
                            self.kind(&e, &x.beneficiary).await?
                        }
                        _ => String::new(),
                    };
                    rows::record_rows(sink, &e, &record, &derived, &kind, &self.effective)?;
                }
            }
        }
        Ok(())
    }

    /// The leaf hashes of the entries just before those of the page whose predecessor
    /// is not itself on the page (one query per page, from the stored tree).
    async fn previous_leaves(
        &self,
        page: &[(u64, Vec<u8>)],
    ) -> Result<HashMap<u64, Hash>, SelectError> {
        let mut wanted = Vec::new();
        let mut before = self.last_leaf.map(|(seq, _)| seq);
        for (seq, _) in page {
            if *seq > 0 && before.map(|b| b + 1) != Some(*seq) {
                wanted.push(*seq);
            }
            before = Some(*seq);
        }
        let indexes: Vec<u64> = wanted.iter().map(|s| stored_hash_index(0, s - 1)).collect();
        let hashes = self.store.tree_hashes(&indexes).await?;
        Ok(wanted.into_iter().zip(hashes).collect())
    }

    /// The kind of an org's beneficiary, from a bounded cache or the store.
    async fn kind(&mut self, e: &Entry, beneficiary: &str) -> Result<String, SelectError> {
        let org = e.org.clone().unwrap_or_default();
        let key = (org, beneficiary.to_string());
        if let Some(kind) = self.kinds.get(&key) {
            return Ok(kind.clone());
        }
        let kind = self
            .store
            .beneficiary(&key.0, beneficiary)
            .await?
            .ok_or_else(|| corrupt(e.seq, format!("beneficiary {beneficiary:?} is not stored")))?
            .kind;
        if self.kinds.len() >= KIND_CACHE_ENTRIES {
            self.kinds.clear();
        }
        self.kinds.insert(key, kind.clone());
        Ok(kind)
    }

    /// The `flows.csv` rows of one disbursement: the donations whose spans on the
    /// campaign's money line overlap its span (DESIGN.md "Allocation rule"), in pages.
    async fn flows(
        &mut self,
        sink: &mut OneFile,
        e: &Entry,
        x: &crate::ledger::records::Disbursement,
        derived: &Derived,
    ) -> Result<(), SelectError> {
        let Derived::Disbursement {
            currency,
            disbursed_before,
        } = derived
        else {
            return Err(corrupt(e.seq, "a disbursement without derived fields"));
        };
        let kind = self.kind(e, &x.beneficiary).await?;
        let org = e.org.as_deref().unwrap_or_default();
        let span = Span {
            start: disbursed_before.minor_units(),
            len: x.amount.minor_units(),
        };
        let (mut after, mut covered) = (None, 0);
        loop {
            let donations = self
                .store
                .donations_on_line(
                    org,
                    &x.campaign,
                    span.start,
                    span.end(),
                    after,
                    self.selection.page,
                )
                .await?;
            for d in &donations {
                let amount = Span {
                    start: d.received_before,
                    len: d.net,
                }
                .overlap(&span);
                if amount > 0 {
                    covered += amount;
                    let flow = Flow {
                        donation: &d.id,
                        donation_seq: d.seq,
                        amount,
                    };
                    rows::flow_row(sink, e, x, currency.code(), &kind, &flow)?;
                }
            }
            match donations.last() {
                Some(last) if donations.len() as u64 == self.selection.page => {
                    after = Some(last.received_before)
                }
                _ => break,
            }
        }
        if covered != span.len {
            return Err(corrupt(
                e.seq,
                format!(
                    "the stored donations cover {covered} of the disbursement's {}",
                    span.len
                ),
            ));
        }
        Ok(())
    }

    /// `campaigns.csv`: replays the (org's) entries up to `to` for the totals there.
    async fn campaigns(&mut self, sink: &mut OneFile) -> Result<(), SelectError> {
        let origin = self
            .store
            .log_meta()
            .await?
            .ok_or_else(|| corrupt(0, "the store holds no log"))?
            .origin;
        let mut ledger = Replayer::new(&origin);
        let mut lines = Vec::new();
        let mut next = 0;
        while next < self.selection.to {
            let page = self.page(next).await?;
            let Some((last, _)) = page.last() else { break };
            next = last + 1;
            for (seq, bytes) in &page {
                let e = entry::parse(bytes).map_err(|e| corrupt(*seq, e))?;
                if e.seq != *seq {
                    return Err(corrupt(*seq, format!("the entry says seq {}", e.seq)));
                }
                // The replay reads the record; it is not parsed a second time.
                let (record, _) = ledger
                    .replay(&e, leaf_hash(bytes))
                    .map_err(|e| corrupt(*seq, e))?;
                if *seq < self.selection.from {
                    continue;
                }
                if let Record::Campaign(c) = &record
                    && self
                        .selection
                        .campaign
                        .as_deref()
                        .is_none_or(|wanted| wanted == c.id)
                {
                    lines.push(CampaignLine::opened(&e, c));
                }
            }
        }
        for line in &lines {
            let totals = ledger
                .state()
                .campaign(&line.org, &line.id)
                .ok_or_else(|| corrupt(line.seq, "the campaign is not in the replayed ledger"))?;
            rows::campaign_row(sink, line, &totals, &self.effective)?;
        }
        Ok(())
    }
}
