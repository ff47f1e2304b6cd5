//! Pagination of the list endpoints: `after` (a cursor) and `limit`.

use super::error::ApiError;
use super::extract::ApiQuery;
use crate::read::{DEFAULT_LIST_PAGE, MAX_LIST_PAGE};

/// `after` (a cursor from the previous page's `next`) and `limit`.
pub struct Page {
    pub after: Option<u64>,
    pub limit: u64,
}

impl Page {
    pub fn from_query(query: &ApiQuery, extra: &[&str]) -> Result<Page, ApiError> {
        let mut allowed = vec!["after", "limit"];
        allowed.extend_from_slice(extra);
        query.only(&allowed)?;
        let limit = query.u64("limit")?.unwrap_or(DEFAULT_LIST_PAGE);
        if !(1..=MAX_LIST_PAGE).contains(&limit) {
            return Err(ApiError::bad_parameter(
                "limit",
                format!("limit must be between 1 and {MAX_LIST_PAGE}"),
            ));
        }
        Ok(Page {
            after: query.u64("after")?,
            limit,
        })
    }

    /// The cursor for the next page: the last item's key if the page was full.
    pub fn next<T>(&self, items: &[T], key: impl Fn(&T) -> u64) -> Option<u64> {
        (items.len() as u64 == self.limit)
            .then(|| items.last().map(key))
            .flatten()
    }
}
