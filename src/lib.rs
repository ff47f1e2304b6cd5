//! pennytrail: a transparent impact-tracking audit service — the service itself. The
//! log's and the ledger's rules, the bundles and the verifier are crates of their own
//! (`pennytrail_log`, `pennytrail_ledger`, `pennytrail_bundle`, `pennytrail_verify`).
//!
//! From the outside in:
//! - [`app`]: starting the service, the state every handler shares, the router.
//! - [`api`]: the JSON API; [`explorer`]: the public web pages. Both read through
//!   [`read`] (the views they share) and parse queries with [`input`].
//! - [`sequencer`]: the single writer per process that batches appends (group commit).
//! - [`store`]: durable storage of entries, tree hashes and checkpoints on SQLite or
//!   PostgreSQL behind one interface.
//! - [`export`]: bundles out of the store; [`check`]: re-verifying a whole store.
//! - [`witness`]: `pennytrail witness`, which cosigns other logs' checkpoints.

pub mod api;
pub mod app;
pub mod check;
pub mod demo;
pub mod drafts;
pub mod explorer;
pub mod export;
pub mod formats;
pub mod input;
pub mod keys;
pub mod limits;
pub mod loadgen;
pub mod metrics;
pub mod read;
pub mod sequencer;
pub mod store;
pub mod witness;

/// The money model's pure rules; `pennytrail::ledger` names that crate here too.
pub use pennytrail_ledger as ledger;
/// The log's pure rules live in their own crate; `pennytrail::log` names it here too.
pub use pennytrail_log as log;
