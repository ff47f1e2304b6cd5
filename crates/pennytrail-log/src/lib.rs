//! The log's rules, with no I/O: canonical entry encoding, RFC 6962 hashing, the
//! Merkle tree over stored hashes, C2SP signed-note checkpoints and tlog-proof receipts.
//!
//! Nothing in this module touches a database, the network, a file or the clock. The
//! server, `pennytrail check` and the offline verifier all call these functions, so there
//! is exactly one copy of every rule a third party can check.

pub mod canonical;
pub mod checkpoint;
pub mod cosignature;
pub mod entry;
pub mod hash;
pub mod merkle;
pub mod note;
pub mod policy;
pub mod receipt;
pub mod tiles;
pub mod witness;

pub mod time;

pub use hash::Hash;
