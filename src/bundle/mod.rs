//! Export bundles: a folder a journalist can open in a spreadsheet and anyone can verify
//! offline — `entries.csv` (every entry's exact bytes and hashes), one CSV per record
//! type, `flows.csv` (the allocation rule's donation → disbursement amounts),
//! `checkpoint.txt`, a Frictionless `datapackage.json` and a README.
//!
//! Derived files are a pure function of the entries ([`derive::Deriver`]), so the
//! verifier regenerates each one and compares bytes, naming the first differing file,
//! row and field.

pub mod csv_out;
pub mod derive;
pub mod package;
pub mod rows;
pub mod select;
pub mod verify;

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};

use crate::log::checkpoint::Checkpoint;
use crate::log::note::NoteVerifier;
use crate::store::Store;
use derive::{Deriver, Summary};

/// Entries read from the store per page while exporting.
const EXPORT_PAGE: u64 = 1000;

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

/// Writes a bundle of the store's log at its latest checkpoint into `out` (which must
/// not exist yet, so a bundle is never half-overwritten). Returns the folder and summary.
pub async fn export_store(
    store: &Store,
    out: Option<PathBuf>,
    mut progress: impl FnMut(u64, u64),
) -> anyhow::Result<(PathBuf, Summary)> {
    let meta = store.log_meta().await?.context("the store holds no log")?;
    let verifier = NoteVerifier::from_text(&meta.verifier_key)?;
    // The checkpoint first: the bundle holds exactly the entries it covers.
    let checkpoint = store.latest_checkpoint().await?;
    let out = out.unwrap_or_else(|| {
        PathBuf::from("exports").join(default_name(&meta.origin, checkpoint.size))
    });
    if out.exists() {
        bail!(
            "{} already exists; choose another --out or remove it",
            out.display()
        );
    }
    let tmp = out.with_extension("partial");
    if tmp.exists() {
        fs::remove_dir_all(&tmp).with_context(|| format!("removing {}", tmp.display()))?;
    }
    fs::create_dir_all(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
    let mut deriver = Deriver::new(&meta.origin, |name| {
        File::create(tmp.join(name)).map(BufWriter::new)
    })?;
    let mut next = 0;
    while next < checkpoint.size {
        let page = store
            .entries(next, EXPORT_PAGE.min(checkpoint.size - next))
            .await?;
        if page.is_empty() {
            bail!("entry {next} is missing from the store");
        }
        for (seq, bytes) in page {
            if seq != next {
                bail!("entry {next} is missing from the store");
            }
            deriver.push(&bytes)?;
            next += 1;
        }
        progress(next, checkpoint.size);
    }
    let (sinks, summary) = deriver.finish()?;
    for (name, mut sink) in sinks {
        sink.flush().with_context(|| format!("writing {name}"))?;
    }
    let opened = Checkpoint::open(&checkpoint.note, &verifier)?;
    if summary.root != opened.root || summary.entries != opened.size {
        bail!(
            "the store's entries do not match its checkpoint of size {}",
            opened.size
        );
    }
    fs::write(tmp.join(CHECKPOINT_FILE), &checkpoint.note)?;
    fs::write(
        tmp.join(README_FILE),
        package::readme(&meta.origin, &meta.verifier_key, checkpoint.size),
    )?;
    package::write_datapackage(&tmp, &meta.origin, &meta.verifier_key, &opened)?;
    for entry in fs::read_dir(&tmp)? {
        File::open(entry?.path())?.sync_all()?;
    }
    fs::rename(&tmp, &out).with_context(|| format!("moving the bundle to {}", out.display()))?;
    Ok((out, summary))
}

/// Reads a whole bundle file, naming it on error.
pub(crate) fn read_file(dir: &Path, name: &str) -> anyhow::Result<Vec<u8>> {
    fs::read(dir.join(name)).with_context(|| format!("{name}: cannot read it"))
}
