//! Per-client rate limiting (token buckets), answered with 429 and Retry-After.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::StatusCode;

use super::error::ApiError;

/// Donor lookups per client and minute: a donor checks a handful of gifts; 30 a minute
/// stops anyone from testing guessed references (emails) at scale.
pub const DONOR_LOOKUPS_PER_MINUTE: u32 = 30;

/// Clients tracked at once before idle buckets are dropped, bounding memory.
const MAX_TRACKED_CLIENTS: usize = 100_000;

/// A token bucket per client IP: `capacity` requests, refilled evenly over `period`.
pub struct RateLimiter {
    capacity: u32,
    period: Duration,
    buckets: Mutex<HashMap<IpAddr, (u32, Instant)>>,
}

impl RateLimiter {
    pub fn new(capacity: u32, period: Duration) -> RateLimiter {
        RateLimiter {
            capacity,
            period,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `client`, or answers 429 with the seconds until the next one.
    pub fn check(&self, client: IpAddr) -> Result<(), ApiError> {
        let now = Instant::now();
        let per_token = self.period / self.capacity.max(1);
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() >= MAX_TRACKED_CLIENTS {
            let period = self.period;
            buckets.retain(|_, (_, last)| now.duration_since(*last) < period);
        }
        let (tokens, last) = buckets.entry(client).or_insert((self.capacity, now));
        let refill = (now.duration_since(*last).as_nanos() / per_token.as_nanos().max(1)) as u32;
        if refill > 0 {
            *tokens = (*tokens).saturating_add(refill).min(self.capacity);
            *last += per_token * refill;
        }
        if *tokens == 0 {
            let wait = per_token.saturating_sub(now.duration_since(*last));
            let mut error = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate-limited",
                format!("too many requests; retry in {} s", wait.as_secs().max(1)),
            );
            error.retry_after_s = Some(wait.as_secs().max(1));
            return Err(error);
        }
        *tokens -= 1;
        Ok(())
    }
}
