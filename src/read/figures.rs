//! The figures a report over a log range `[from, to)` must state, recomputed from the
//! org's entries (a scan of its whole history up to `to`), and the cache that answers
//! them again: the log only grows, so the figures of a range below a signed checkpoint
//! never change. Recomputations run at most [`MAX_CONCURRENT_RECOMPUTATIONS`] at a time,
//! so unauthenticated readers asking for many ranges cannot load the database.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;

use super::ReadError;
use crate::ledger::attestations::{self, ReportFigures};
use crate::ledger::records::Record;
use crate::ledger::report_book::ReportBook;
use crate::log::entry;
use crate::store::{Store, StoreError};

/// Ranges whose figures are kept: each is a few hundred bytes to a few KB (at most 50 +
/// 50 lines), so 4,096 are at most ~20 MB, and far more than the reports and drafts a
/// log has.
pub const MAX_CACHED_RANGES: usize = 4096;

/// Recomputations (scans of an org's history) running at once; more are answered 503
/// with `Retry-After`. Two keep one core for everything else on a two-core machine.
pub const MAX_CONCURRENT_RECOMPUTATIONS: usize = 2;

/// Seconds a reader refused for a busy recomputation is told to wait.
const BUSY_RETRY_AFTER_S: u64 = 5;

/// A campaign's figures in a report: sums over the covered range, `held` at its end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CampaignFigures {
    #[schema(value_type = crate::formats::Id)]
    pub campaign: String,
    #[schema(value_type = crate::formats::CurrencyCode)]
    pub currency: String,
    /// Received in the range (minor units).
    #[schema(value_type = crate::formats::MinorUnits)]
    pub received: i64,
    #[schema(value_type = crate::formats::MinorUnits)]
    pub fees: i64,
    #[schema(value_type = crate::formats::MinorUnits)]
    pub net: i64,
    #[schema(value_type = crate::formats::MinorUnits)]
    pub disbursed: i64,
    /// Net received and not yet disbursed at `to_size`.
    #[schema(value_type = crate::formats::MinorUnits)]
    pub held: i64,
}

impl From<CampaignFigures> for attestations::CampaignFigures {
    fn from(figures: CampaignFigures) -> Self {
        let CampaignFigures {
            campaign,
            currency,
            received,
            fees,
            net,
            disbursed,
            held,
        } = figures;
        attestations::CampaignFigures {
            campaign,
            currency,
            received,
            fees,
            net,
            disbursed,
            held,
        }
    }
}

impl From<attestations::CampaignFigures> for CampaignFigures {
    fn from(figures: attestations::CampaignFigures) -> Self {
        let attestations::CampaignFigures {
            campaign,
            currency,
            received,
            fees,
            net,
            disbursed,
            held,
        } = figures;
        CampaignFigures {
            campaign,
            currency,
            received,
            fees,
            net,
            disbursed,
            held,
        }
    }
}

/// Disbursed in the range to beneficiaries of one kind, in one currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KindFigures {
    #[schema(value_type = crate::formats::CurrencyCode)]
    pub currency: String,
    #[schema(value_type = crate::formats::BeneficiaryKindName)]
    pub beneficiary_kind: String,
    #[schema(value_type = crate::formats::MinorUnits)]
    pub disbursed: i64,
}

impl From<KindFigures> for attestations::KindFigures {
    fn from(figures: KindFigures) -> Self {
        let KindFigures {
            currency,
            beneficiary_kind,
            disbursed,
        } = figures;
        attestations::KindFigures {
            currency,
            beneficiary_kind,
            disbursed,
        }
    }
}

impl From<attestations::KindFigures> for KindFigures {
    fn from(figures: attestations::KindFigures) -> Self {
        let attestations::KindFigures {
            currency,
            beneficiary_kind,
            disbursed,
        } = figures;
        KindFigures {
            currency,
            beneficiary_kind,
            disbursed,
        }
    }
}

/// A report's two lists of figures, as the API shows them.
pub fn figure_lists(
    figures: attestations::ReportFigures,
) -> (Vec<CampaignFigures>, Vec<KindFigures>) {
    let attestations::ReportFigures {
        campaigns,
        beneficiary_kinds,
    } = figures;
    (
        campaigns.into_iter().map(Into::into).collect(),
        beneficiary_kinds.into_iter().map(Into::into).collect(),
    )
}

/// Entries read per query while recomputing a report's figures.
const FIGURES_PAGE: u64 = 1000;

/// The figures a report of `org` over `[from, to)` must state, recomputed from the org's
/// committed entries.
async fn figures_from_store(
    store: &Store,
    org: &str,
    from: u64,
    to: u64,
) -> Result<ReportFigures, StoreError> {
    let mut book = ReportBook::every_org();
    let mut next = 0;
    while next < to {
        let page = store.org_entries(org, next, to, FIGURES_PAGE).await?;
        let Some((last, _)) = page.last() else { break };
        next = last + 1;
        for (seq, bytes) in &page {
            let e = entry::parse(bytes)
                .map_err(|e| StoreError::Corrupt(format!("entry {seq}: {e}")))?;
            let (record, derived) = Record::from_entry(&e)
                .map_err(|e| StoreError::Corrupt(format!("entry {seq}: {e}")))?;
            book.push(org, *seq, &record, &derived);
        }
    }
    Ok(book.figures(org, from, to))
}

/// A range of one org's log: (org, from, to).
type Range = (String, u64, u64);

/// The figures of each range kept, and the ranges in the order they were kept.
type Ranges = (HashMap<Range, Arc<ReportFigures>>, VecDeque<Range>);

/// The figures of ranges already recomputed, oldest first out when full, and the permits
/// for recomputing.
pub struct FiguresCache {
    ranges: Mutex<Ranges>,
    recomputations: Semaphore,
}

impl Default for FiguresCache {
    fn default() -> FiguresCache {
        FiguresCache {
            ranges: Mutex::default(),
            recomputations: Semaphore::new(MAX_CONCURRENT_RECOMPUTATIONS),
        }
    }
}

impl FiguresCache {
    /// The figures of `org` over `[from, to)`; `to` must not pass a signed checkpoint
    /// (the caller checks), so the answer never changes and is kept.
    ///
    /// # Errors
    /// [`ReadError::Busy`] when [`MAX_CONCURRENT_RECOMPUTATIONS`] run already, or a store
    /// error.
    pub async fn figures(
        &self,
        store: &Store,
        org: &str,
        from: u64,
        to: u64,
    ) -> Result<Arc<ReportFigures>, ReadError> {
        let key = (org.to_string(), from, to);
        if let Some(hit) = self.lock().0.get(&key) {
            return Ok(hit.clone());
        }
        let _permit = self.recomputations.try_acquire().map_err(|_| ReadError::Busy {
            retry_after_s: BUSY_RETRY_AFTER_S,
            detail: format!(
                "{MAX_CONCURRENT_RECOMPUTATIONS} report figures are being recomputed already; retry in a few seconds"
            ),
        })?;
        let figures = Arc::new(figures_from_store(store, org, from, to).await?);
        let mut cache = self.lock();
        let (ranges, order) = &mut *cache;
        if ranges.insert(key.clone(), figures.clone()).is_none() {
            order.push_back(key);
            while order.len() > MAX_CACHED_RANGES {
                if let Some(oldest) = order.pop_front() {
                    ranges.remove(&oldest);
                }
            }
        }
        Ok(figures)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Ranges> {
        self.ranges.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{self, StoreConfig};

    #[tokio::test]
    async fn ranges_are_kept_and_recomputations_limited() {
        let dir = tempfile::tempdir().unwrap();
        let store = store::open(&StoreConfig {
            data_dir: dir.path().to_path_buf(),
            database_url: None,
        })
        .await
        .unwrap();
        let cache = FiguresCache::default();
        let first = cache.figures(&store, "o", 0, 0).await.unwrap();

        // Every permit taken: a kept range is still answered, a new one is refused busy.
        let permits: Vec<_> = (0..MAX_CONCURRENT_RECOMPUTATIONS)
            .map(|_| cache.recomputations.try_acquire().unwrap())
            .collect();
        let again = cache.figures(&store, "o", 0, 0).await.unwrap();
        assert!(Arc::ptr_eq(&first, &again), "answered from the cache");
        match cache.figures(&store, "o", 0, 1).await {
            Err(ReadError::Busy { retry_after_s, .. }) => assert!(retry_after_s > 0),
            other => panic!("not busy: {other:?}"),
        }
        drop(permits);
        cache.figures(&store, "o", 0, 1).await.unwrap();

        // The cache never holds more than its bound; the oldest ranges go first.
        for to in 2..(MAX_CACHED_RANGES as u64 + 10) {
            cache.figures(&store, "o", 0, to).await.unwrap();
        }
        let (ranges, order) = &*cache.lock();
        assert_eq!(
            (ranges.len(), order.len()),
            (MAX_CACHED_RANGES, MAX_CACHED_RANGES)
        );
        assert!(!ranges.contains_key(&("o".to_string(), 0, 0)));
    }
}
