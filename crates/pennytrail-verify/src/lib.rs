//! `pennytrail-verify`: the small program a journalist or donor installs to check a
//! pennytrail log without trusting its operator — an export bundle, a donor's receipt, or
//! a live instance over time. It is the service's own checking code (`pennytrail_log`,
//! `pennytrail_ledger`, `pennytrail_bundle`) with a blocking HTTPS client and a command
//! line; no database, web server or async runtime comes with it.
//!
//! The service's `pennytrail verify` and `verify-receipt` call [`commands`] too, so both
//! programs print the same reports and fail the same way.

pub mod commands;
pub mod http;
pub mod output;
pub mod progress;
pub mod report;
