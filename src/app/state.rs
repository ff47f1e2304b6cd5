//! What every handler of the API and the explorer shares: the store, the sequencer, the
//! log's identity, the donor secret, the limits and the metrics.

use std::sync::Arc;

use crate::api::{auth, exports};
use crate::limits;
use crate::sequencer::Sequencer;
use crate::store::Store;

/// Shared by every handler.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub sequencer: Sequencer,
    pub log: Arc<LogIdentity>,
    /// Key of the per-org HMAC that turns donor references into commitments.
    pub donor_secret: Arc<[u8; 32]>,
    pub donor_lookups: Arc<limits::RateLimiter>,
    /// Writes per org token (see [`limits::DEFAULT_ORG_WRITES_PER_SECOND`]).
    pub org_writes: Arc<limits::RateLimiter<String>>,
    /// Unauthenticated acknowledgements per client IP.
    pub acknowledgements: Arc<limits::RateLimiter>,
    pub exports: Arc<exports::Exports>,
    pub metrics: Arc<crate::metrics::Metrics>,
    /// Tokens verified in the last second (see [`auth::TOKEN_CACHE_TTL`]).
    pub tokens: Arc<auth::TokenCache>,
    /// Report figures already recomputed, and the limit on recomputing them.
    pub figures: Arc<crate::read::figures::FiguresCache>,
    /// Tiles and entry bundles already served (`--tile-cache-mb`).
    pub tiles: Arc<crate::read::tiles::TileCache>,
    /// Reverse proxies whose `X-Forwarded-For` names the client (`--trusted-proxy`).
    pub trusted_proxies: Arc<[limits::IpNetwork]>,
    /// The witnesses this log asks for cosignatures, and the quorum its witnessed
    /// checkpoints meet (`--witness-policy`); `None` for a log that is not witnessed.
    pub witness_policy: Option<Arc<crate::log::policy::Policy>>,
}

/// The log's public identity, fixed for the life of the process.
#[derive(Debug, Clone)]
pub struct LogIdentity {
    pub origin: String,
    pub verifier_key: String,
}
