//! pennytrail: a transparent impact-tracking audit service.
//!
//! Architecture, from the inside out:
//! - [`log`]: the log's pure rules (canonical entries, hashing, Merkle proofs, signed
//!   checkpoints, receipts) shared by the server and every verifier.
//! - [`store`]: durable storage of entries, tree hashes and checkpoints on SQLite or
//!   PostgreSQL behind one interface.
//! - [`sequencer`]: the single writer per process that batches appends (group commit).
//! - [`api`]: the HTTP surface; [`explorer`]: the public web pages on top of it.
//! - [`bundle`] and [`monitor`]: export bundles and the verifiers of a bundle and of a live
//!   instance; [`progress`] reports their progress on long runs.

pub mod api;
pub mod app;
pub mod bundle;
pub mod check;
pub mod demo;
pub mod drafts;
pub mod explorer;
pub mod keys;
pub mod loadgen;
pub mod metrics;
pub mod monitor;
pub mod progress;
pub mod sequencer;
pub mod store;

/// The money model's pure rules; `pennytrail::ledger` names that crate here too.
pub use pennytrail_ledger as ledger;
/// The log's pure rules live in their own crate; `pennytrail::log` names it here too.
pub use pennytrail_log as log;
