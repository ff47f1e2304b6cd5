//! Per-client rate limiting (token buckets). A refusal is a [`RateLimited`] with the
//! seconds to wait; the API answers it 429 with `Retry-After`, and so does the explorer.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Donor lookups per client and minute: a donor checks a handful of gifts; 30 a minute
/// stops anyone from testing guessed references (emails) at scale.
pub const DONOR_LOOKUPS_PER_MINUTE: u32 = 30;

/// Default writes per org token and second (single or batch requests alike). Well above
/// what the performance benchmark applies to one org (a few thousand requests a second),
/// so a benchmark runs with the defaults; `--org-writes-per-second` changes it.
pub const DEFAULT_ORG_WRITES_PER_SECOND: u32 = 50_000;

/// Acknowledgements per client IP and minute: the endpoint takes no token (the
/// signature authenticates), so a flood of bad signatures is cut off here.
pub const ACKNOWLEDGEMENTS_PER_MINUTE: u32 = 60;

/// Clients tracked at once before idle buckets are dropped, bounding memory (a bucket is
/// a few dozen bytes, so a few MB per limiter).
const MAX_TRACKED_CLIENTS: usize = 100_000;

/// A client asked too often: it may try again in `retry_after_s` seconds (at least 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("too many requests; retry in {retry_after_s} s")]
pub struct RateLimited {
    pub retry_after_s: u64,
}

/// A token bucket per client (an IP, or an org for its token's writes): `capacity`
/// requests, refilled evenly over `period`.
pub struct RateLimiter<K = IpAddr> {
    capacity: u32,
    period: Duration,
    buckets: Mutex<HashMap<K, (u32, Instant)>>,
}

impl<K: std::hash::Hash + Eq> RateLimiter<K> {
    pub fn new(capacity: u32, period: Duration) -> RateLimiter<K> {
        RateLimiter {
            capacity,
            period,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `client`, or says how many seconds until the next one.
    ///
    /// # Errors
    /// [`RateLimited`] when `client`'s bucket is empty.
    pub fn check(&self, client: K) -> Result<(), RateLimited> {
        let now = Instant::now();
        let per_token = self.period / self.capacity.max(1);
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() >= MAX_TRACKED_CLIENTS && !buckets.contains_key(&client) {
            let period = self.period;
            buckets.retain(|_, (_, last)| now.duration_since(*last) < period);
            if buckets.len() >= MAX_TRACKED_CLIENTS {
                // More clients were active within one period than are tracked: start
                // over rather than grow (every client then gets a full bucket once).
                tracing::warn!(
                    clients = buckets.len(),
                    "rate limiter tracks too many active clients; starting over"
                );
                buckets.clear();
            }
        }
        let (tokens, last) = buckets.entry(client).or_insert((self.capacity, now));
        let refill = (now.duration_since(*last).as_nanos() / per_token.as_nanos().max(1)) as u32;
        if refill > 0 {
            *tokens = (*tokens).saturating_add(refill).min(self.capacity);
            *last += per_token * refill;
        }
        if *tokens == 0 {
            let wait = per_token.saturating_sub(now.duration_since(*last));
            // Rounded up: a client that waits exactly Retry-After finds a token.
            let seconds = (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1);
            return Err(RateLimited {
                retry_after_s: seconds,
            });
        }
        *tokens -= 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_allows_its_capacity_then_answers_429_with_retry_after() {
        let limiter: RateLimiter<&str> = RateLimiter::new(3, Duration::from_secs(60));
        for _ in 0..3 {
            limiter.check("org-a").unwrap();
        }
        let refused = limiter.check("org-a").unwrap_err();
        assert_eq!(refused.retry_after_s, 20);
        // Buckets are per client.
        limiter.check("org-b").unwrap();
    }

    #[test]
    fn active_clients_never_grow_the_map_past_its_bound() {
        let limiter: RateLimiter<usize> = RateLimiter::new(5, Duration::from_secs(3600));
        for client in 0..MAX_TRACKED_CLIENTS {
            limiter.check(client).unwrap();
        }
        let tracked = || limiter.buckets.lock().unwrap().len();
        assert_eq!(tracked(), MAX_TRACKED_CLIENTS);
        // A tracked client keeps its bucket (and its spent token) while the map is full.
        limiter.check(0).unwrap();
        assert_eq!(limiter.buckets.lock().unwrap()[&0].0, 3);
        assert_eq!(tracked(), MAX_TRACKED_CLIENTS);
        // None is idle, so a new client makes the limiter start over instead of growing.
        limiter.check(MAX_TRACKED_CLIENTS).unwrap();
        assert_eq!(tracked(), 1);
    }

    #[test]
    fn idle_buckets_are_dropped_once_the_map_is_full() {
        let limiter: RateLimiter<usize> = RateLimiter::new(1, Duration::from_millis(1));
        for client in 0..MAX_TRACKED_CLIENTS {
            limiter.check(client).unwrap();
        }
        let tracked = || limiter.buckets.lock().unwrap().len();
        assert_eq!(tracked(), MAX_TRACKED_CLIENTS);
        std::thread::sleep(Duration::from_millis(5));
        // A new client finds the map full: every bucket idle for a whole period goes.
        limiter.check(MAX_TRACKED_CLIENTS).unwrap();
        assert_eq!(tracked(), 1);
    }
}
