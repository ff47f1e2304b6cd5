//! Export bundles: a folder a journalist can open in a spreadsheet and anyone can verify
//! offline — `entries.csv` (every entry's exact bytes and hashes), one CSV per record
//! type, `flows.csv` (the allocation rule's donation → disbursement amounts),
//! `checkpoint.txt`, a Frictionless `datapackage.json` and a README.
//!
//! Derived files are a pure function of the entries ([`derive::Deriver`]), so the
//! verifier regenerates each one and compares bytes, naming the first differing file,
//! row and field. The same derivation checks a live log ([`monitor`]), read through a
//! small [`monitor::Fetch`] trait that the verifier's HTTPS client implements.
//!
//! Files in, files out: nothing here opens a database or a network connection.

pub mod csv_out;
pub mod derive;
pub mod effective;
pub mod format;
pub mod monitor;
pub mod package;
pub mod rows;
pub mod static_copy;
pub mod tables;
mod tamper;
pub mod verify;
pub mod witnesses;
mod write;

use std::fs;
use std::path::Path;

use anyhow::Context as _;

pub use format::BundleFormat;
pub use write::BundleWriter;

/// File name of the signed checkpoint in a bundle.
pub const CHECKPOINT_FILE: &str = "checkpoint.txt";
pub const DATAPACKAGE_FILE: &str = "datapackage.json";
pub const README_FILE: &str = "README.txt";

/// The default folder name of a bundle: origin (made file-safe) and size.
pub fn default_name(origin: &str, size: u64) -> String {
    let safe: String = origin
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{safe}-{size}")
}

/// Reads a whole bundle file, naming it on error.
pub(crate) fn read_file(dir: &Path, name: &str) -> anyhow::Result<Vec<u8>> {
    fs::read(dir.join(name)).with_context(|| format!("{name}: cannot read it"))
}
