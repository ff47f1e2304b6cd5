//! Per-client rate limits (GCRA, from `governor`) whose memory is bounded and which an
//! attacker cannot get around by changing addresses. A refusal is a [`RateLimited`] with
//! the seconds to wait; the API answers it 429 with `Retry-After`, and so does the
//! explorer.
//!
//! - Clients are keyed as [`Client`]s: an IPv4 address, an IPv6 client by its /64 (one
//!   subscriber's whole network, which a single host can fill with addresses), and an
//!   IPv4-mapped IPv6 address as the IPv4 address it is.
//! - Behind a reverse proxy the client is the rightmost `X-Forwarded-For` address that is
//!   not one of the `--trusted-proxy` networks; the header is ignored from anyone else, so
//!   it cannot be forged to get a fresh bucket.
//! - At most [`MAX_TRACKED_CLIENTS`] clients are tracked. When that many are active, a new
//!   client shares one overflow bucket with every other new client: nobody tracked loses
//!   their bucket (so waiting out a limit cannot be skipped by flooding the table), and no
//!   one network can lock out the clients it does not share a key with. Idle clients are
//!   dropped as soon as the table is full, at most once a second.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::num::NonZeroU32;
use std::str::FromStr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use governor::clock::{Clock as _, DefaultClock};
use governor::nanos::Nanos;
use governor::state::StateStore;
use governor::state::keyed::ShrinkableKeyedStateStore;
use governor::{Quota, RateLimiter as Gcra};

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

/// Clients tracked at once per limiter. A client's state is a key and one 8-byte time, a
/// few dozen bytes in a hash map, so 100,000 are a few MB.
pub const MAX_TRACKED_CLIENTS: usize = 100_000;

/// Least time between two sweeps of idle clients out of a full table: a sweep visits
/// every client, so a flood of new clients costs one sweep a second, not one each.
const SWEEP_EVERY: Duration = Duration::from_secs(1);

/// A client asked too often: it may try again in `retry_after_s` seconds (at least 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("too many requests; retry in {retry_after_s} s")]
pub struct RateLimited {
    pub retry_after_s: u64,
}

/// Whom a per-address limit counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Client {
    V4(Ipv4Addr),
    /// An IPv6 client's /64: the upper 64 bits of its address.
    V6Network(u64),
}

impl From<IpAddr> for Client {
    fn from(ip: IpAddr) -> Client {
        match ip {
            IpAddr::V4(v4) => Client::V4(v4),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Client::V4(v4),
                None => Client::V6Network((u128::from(v6) >> 64) as u64),
            },
        }
    }
}

/// The state of the tracked clients, and the one bucket that new clients share while
/// the table is full.
struct BoundedStore<K> {
    tracked: Mutex<HashMap<K, Nanos>>,
    overflow: Mutex<Option<Nanos>>,
    capacity: usize,
}

impl<K: Hash + Eq + Clone> StateStore for BoundedStore<K> {
    type Key = K;

    fn measure_and_replace<T, F, E>(&self, key: &K, f: F) -> Result<T, E>
    where
        F: Fn(Option<Nanos>) -> Result<(T, Nanos), E>,
    {
        let mut tracked = self.tracked.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(state) = tracked.get_mut(key) {
            let (outcome, next) = f(Some(*state))?;
            *state = next;
            return Ok(outcome);
        }
        if tracked.len() < self.capacity {
            let (outcome, next) = f(None)?;
            tracked.insert(key.clone(), next);
            return Ok(outcome);
        }
        drop(tracked);
        let mut overflow = self.overflow.lock().unwrap_or_else(|e| e.into_inner());
        let (outcome, next) = f(*overflow)?;
        *overflow = Some(next);
        Ok(outcome)
    }
}

impl<K: Hash + Eq + Clone> ShrinkableKeyedStateStore<K> for BoundedStore<K> {
    fn retain_recent(&self, drop_below: Nanos) {
        let mut tracked = self.tracked.lock().unwrap_or_else(|e| e.into_inner());
        tracked.retain(|_, state| *state > drop_below);
    }

    fn len(&self) -> usize {
        self.tracked.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A rate limit per client (a [`Client`] address, or an org for its token's writes):
/// `capacity` requests at once, coming back evenly over `period`.
pub struct RateLimiter<K: Hash + Eq + Clone = Client> {
    gcra: Gcra<K, BoundedStore<K>, DefaultClock>,
    capacity: usize,
    last_sweep: Mutex<Instant>,
}

impl<K: Hash + Eq + Clone> RateLimiter<K> {
    pub fn new(capacity: u32, period: Duration) -> RateLimiter<K> {
        RateLimiter::bounded(capacity, period, MAX_TRACKED_CLIENTS)
    }

    /// A limiter tracking at most `clients` clients (tests use small tables).
    pub fn bounded(capacity: u32, period: Duration, clients: usize) -> RateLimiter<K> {
        let burst = NonZeroU32::new(capacity.max(1)).expect("at least 1");
        let every = (period / burst.get()).max(Duration::from_nanos(1));
        let quota = Quota::with_period(every)
            .expect("a positive period")
            .allow_burst(burst);
        let store = BoundedStore {
            tracked: Mutex::new(HashMap::new()),
            overflow: Mutex::new(None),
            capacity: clients,
        };
        RateLimiter {
            gcra: Gcra::new(quota, store, DefaultClock::default()),
            capacity: clients,
            last_sweep: Mutex::new(Instant::now()),
        }
    }

    /// Takes one request of `client`'s allowance, or says how many seconds until the
    /// next one.
    ///
    /// # Errors
    /// [`RateLimited`] when `client` has used its allowance.
    pub fn check(&self, client: K) -> Result<(), RateLimited> {
        if self.gcra.len() >= self.capacity {
            let mut last = self.last_sweep.lock().unwrap_or_else(|e| e.into_inner());
            if last.elapsed() >= SWEEP_EVERY {
                *last = Instant::now();
                drop(last);
                self.gcra.retain_recent();
            }
        }
        self.gcra.check_key(&client).map_err(|not_until| {
            let wait = not_until.wait_time_from(self.gcra.clock().now());
            // Rounded up: a client that waits exactly Retry-After is let through.
            RateLimited {
                retry_after_s: (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1),
            }
        })
    }
}

/// An IP network in CIDR notation (`10.0.0.0/8`, `2001:db8::/32`, or one address).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNetwork {
    address: IpAddr,
    prefix: u8,
}

impl IpNetwork {
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.address, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl FromStr for IpNetwork {
    type Err = String;

    fn from_str(text: &str) -> Result<IpNetwork, String> {
        let bad = || {
            format!(
                "{text:?} is not an IP address or network (e.g. 10.0.0.1, 10.0.0.0/8, fd00::/8)"
            )
        };
        let (address, prefix) = match text.trim().split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text.trim(), None),
        };
        let address: IpAddr = address.parse().map_err(|_| bad())?;
        let max = if address.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p.parse::<u8>().ok().filter(|p| *p <= max).ok_or_else(bad)?,
        };
        Ok(IpNetwork { address, prefix })
    }
}

/// The client a request comes from: the peer, or, when the peer is a trusted proxy, the
/// rightmost `X-Forwarded-For` address that is not a trusted proxy (proxies append the
/// address they saw; whatever lies left of it, the client could have written).
pub fn client_address(
    peer: SocketAddr,
    forwarded_for: impl Iterator<Item = String>,
    trusted: &[IpNetwork],
) -> IpAddr {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|net| net.contains(ip));
    let mut client = peer.ip();
    if !is_trusted(client) {
        return client;
    }
    let hops: Vec<String> = forwarded_for
        .flat_map(|header| {
            header
                .split(',')
                .map(|hop| hop.trim().to_string())
                .collect::<Vec<_>>()
        })
        .collect();
    for hop in hops.iter().rev() {
        // A hop a trusted proxy could not parse stops the walk: the last trusted hop's
        // view is the best left.
        let Ok(ip) = hop.parse::<IpAddr>() else {
            break;
        };
        client = ip;
        if !is_trusted(ip) {
            break;
        }
    }
    client
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn an_allowance_is_spent_then_answered_with_retry_after() {
        let limiter: RateLimiter<&str> = RateLimiter::new(3, Duration::from_secs(60));
        for _ in 0..3 {
            limiter.check("org-a").unwrap();
        }
        let refused = limiter.check("org-a").unwrap_err();
        assert!((19..=20).contains(&refused.retry_after_s), "{refused:?}");
        // Allowances are per client.
        limiter.check("org-b").unwrap();
    }

    #[test]
    fn clients_are_keyed_by_ipv4_address_and_ipv6_network() {
        assert_eq!(
            Client::from(ip("203.0.113.9")),
            Client::from(ip("::ffff:203.0.113.9"))
        );
        assert_eq!(
            Client::from(ip("2001:db8:1:2::1")),
            Client::from(ip("2001:db8:1:2:ffff:ffff:ffff:ffff"))
        );
        assert_ne!(
            Client::from(ip("2001:db8:1:2::1")),
            Client::from(ip("2001:db8:1:3::1"))
        );
        assert_ne!(
            Client::from(ip("203.0.113.9")),
            Client::from(ip("203.0.113.10"))
        );

        // One host rotating through its /64 shares one allowance.
        let limiter: RateLimiter = RateLimiter::new(2, Duration::from_secs(60));
        limiter.check(Client::from(ip("2001:db8::1"))).unwrap();
        limiter.check(Client::from(ip("2001:db8::2"))).unwrap();
        assert!(limiter.check(Client::from(ip("2001:db8::3"))).is_err());
        limiter.check(Client::from(ip("2001:db8:0:1::1"))).unwrap();
    }

    #[test]
    fn a_full_table_keeps_every_tracked_client_and_shares_one_overflow_bucket() {
        let limiter: RateLimiter<u32> = RateLimiter::bounded(2, Duration::from_secs(3600), 3);
        for client in 0..3 {
            limiter.check(client).unwrap();
        }
        // Client 0 spends its allowance; a flood of new clients does not reset it.
        limiter.check(0).unwrap();
        assert!(limiter.check(0).is_err());
        // New clients share one bucket of the same allowance.
        limiter.check(100).unwrap();
        limiter.check(101).unwrap();
        assert!(limiter.check(102).is_err());
        assert!(limiter.check(103).is_err());
        assert!(
            limiter.check(0).is_err(),
            "a tracked client kept its spent allowance"
        );
        // Tracked clients are unaffected by the overflow.
        limiter.check(1).unwrap();
        limiter.check(2).unwrap();
    }

    #[test]
    fn idle_clients_are_swept_out_of_a_full_table() {
        let limiter: RateLimiter<u32> = RateLimiter::bounded(1, Duration::from_millis(1), 2);
        limiter.check(0).unwrap();
        limiter.check(1).unwrap();
        std::thread::sleep(Duration::from_millis(1100));
        // Both are idle (their allowance came back): a new client takes a tracked place.
        limiter.check(2).unwrap();
        assert!(limiter.gcra.len() <= 2);
        limiter.check(3).unwrap();
    }

    #[test]
    fn forwarded_addresses_count_only_behind_trusted_proxies() {
        let trusted: Vec<IpNetwork> = ["10.0.0.0/8", "fd00::/8"]
            .iter()
            .map(|n| n.parse().unwrap())
            .collect();
        let peer = |text: &str| SocketAddr::new(ip(text), 443);
        let xff = |headers: &[&str]| {
            headers
                .iter()
                .map(|h| h.to_string())
                .collect::<Vec<_>>()
                .into_iter()
        };
        // From a peer that is no trusted proxy, the header is ignored.
        assert_eq!(
            client_address(peer("203.0.113.1"), xff(&["198.51.100.7"]), &trusted),
            ip("203.0.113.1")
        );
        // Behind trusted proxies, the rightmost untrusted address; what the client wrote
        // on the left does not count.
        assert_eq!(
            client_address(
                peer("10.0.0.2"),
                xff(&["1.2.3.4, 198.51.100.7", "10.0.0.5"]),
                &trusted
            ),
            ip("198.51.100.7")
        );
        assert_eq!(
            client_address(
                peer("10.0.0.2"),
                xff(&["not an address, 10.0.0.5"]),
                &trusted
            ),
            ip("10.0.0.5")
        );
        assert_eq!(
            client_address(peer("10.0.0.2"), xff(&[]), &trusted),
            ip("10.0.0.2")
        );
        assert_eq!(
            client_address(peer("::ffff:10.0.0.2"), xff(&["2001:db8::9"]), &trusted),
            ip("2001:db8::9")
        );
        for bad in ["10.0.0.0/33", "fd00::/129", "x", "10.0.0.0/", ""] {
            assert!(bad.parse::<IpNetwork>().is_err(), "{bad}");
        }
    }
}
