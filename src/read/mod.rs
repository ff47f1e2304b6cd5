//! The read side the JSON API and the explorer share: each record as everyone reads it
//! (corrections applied, totals, acknowledgements), a donation's trace and a
//! disbursement's sources under the allocation rule with their receipts, reports verified
//! afresh, and a donor's donations found by their reference. The API serialises these
//! views; the explorer renders them; so a page can never show a figure the API would not.

pub mod campaigns;
pub mod disbursements;
pub mod donations;
pub mod entries;
pub mod figures;
pub mod orgs;
pub mod receipts;
pub mod reports;
pub mod tiles;
pub mod witnessed;

use crate::ledger::FieldError;
use crate::limits::RateLimited;
use crate::store::StoreError;

/// Default and largest page of the list endpoints. A page of 100 reads 100 entries; 500
/// bounds one response's work while keeping a 100,000-row walk to 200 requests.
pub const DEFAULT_LIST_PAGE: u64 = 100;
pub const MAX_LIST_PAGE: u64 = 500;

/// Most flows per trace page: each flow carries a receipt (O(log n) hash reads), so 100
/// keeps a page to a few thousand reads even on a very large log.
pub const MAX_TRACE_PAGE: u64 = 100;

/// Why a view could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// Nothing has this id (the sentence names it).
    #[error("{0}")]
    NotFound(String),
    /// A field the reader gave is invalid (a donor lookup's org or reference).
    #[error(transparent)]
    Invalid(#[from] FieldError),
    /// The reader asked too often.
    #[error(transparent)]
    Limited(#[from] RateLimited),
    /// Too many costly reads run at once; retry after `retry_after_s` seconds.
    #[error("{detail}")]
    Busy { retry_after_s: u64, detail: String },
    /// The log is witnessed and no checkpoint the witness quorum cosigned includes the
    /// entry yet; retry after [`witnessed::RETRY_AFTER_S`] seconds.
    #[error("{0}")]
    NotWitnessedYet(String),
    /// The store failed: an outage, never the reader's fault.
    #[error(transparent)]
    Store(#[from] StoreError),
}
