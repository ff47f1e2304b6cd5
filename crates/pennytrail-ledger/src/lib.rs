//! The ledger: what each entry kind says and the rules it must obey. Like `pennytrail_log`
//! it has no I/O, so the server and the verifier apply the very same rules.

pub mod allocation;
pub mod attestations;
pub mod caps;
pub mod donor;
pub mod fields;
pub mod iso;
pub mod logged;
pub mod money;
pub mod org;
pub mod records;
pub mod replay;
pub mod report_book;
pub mod rule;
pub mod rules;
pub mod state;
pub mod state_keys;

pub use fields::FieldError;
pub use rule::Rule;
