//! Writing a bundle folder (of the current [`BundleFormat`]) from a log's entries, in log
//! order: every derived CSV as the
//! entries go by, then the checkpoint, README and data package. The folder is written
//! under a temporary name, fsynced and only then renamed, so a crash never leaves a
//! half-written bundle under the final name.

use std::fs::{self, File};
use std::io::{BufWriter, Write as _};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use pennytrail_log::checkpoint::Checkpoint;
use pennytrail_log::note::NoteVerifier;

use crate::derive::{Deriver, Summary};
use crate::effective::Effective;
use crate::{BundleFormat, CHECKPOINT_FILE, README_FILE, package};

/// A bundle being written: push every entry covered by the checkpoint, then
/// [`finish`](BundleWriter::finish).
pub struct BundleWriter {
    out: PathBuf,
    tmp: PathBuf,
    origin: String,
    deriver: Deriver<BufWriter<File>>,
}

impl BundleWriter {
    /// Starts a bundle of the log `origin` that will land in `out`, which must not exist
    /// yet (a bundle is never half-overwritten). `effective` holds the corrections among
    /// the entries to come (for the `X_effective` columns).
    ///
    /// # Errors
    /// When `out` exists or the temporary folder beside it cannot be made.
    pub fn create(out: &Path, origin: &str, effective: Effective) -> anyhow::Result<BundleWriter> {
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
        let deriver = Deriver::new(origin, |name| {
            File::create(tmp.join(name)).map(BufWriter::new)
        })?
        .with_effective(effective);
        Ok(BundleWriter {
            out: out.to_path_buf(),
            tmp,
            origin: origin.to_string(),
            deriver,
        })
    }

    /// The next entry's exact bytes.
    ///
    /// # Errors
    /// When the entry breaks a rule of the log or the ledger, or a file cannot be written.
    pub fn push(&mut self, entry: &[u8]) -> anyhow::Result<()> {
        self.deriver.push(entry)?;
        Ok(())
    }

    /// Writes the checkpoint (whose note must verify with `verifier` and cover exactly the
    /// entries pushed), the README and the data package, fsyncs every file and renames the
    /// folder into place. Returns the folder and what it holds.
    ///
    /// # Errors
    /// When the entries do not match the checkpoint, or a file cannot be written.
    pub fn finish(
        self,
        checkpoint_note: &str,
        verifier: &NoteVerifier,
    ) -> anyhow::Result<(PathBuf, Summary)> {
        let BundleWriter {
            out,
            tmp,
            origin,
            deriver,
        } = self;
        let (sinks, summary) = deriver.finish()?;
        for (name, mut sink) in sinks {
            sink.flush().with_context(|| format!("writing {name}"))?;
        }
        let opened = Checkpoint::open(checkpoint_note, verifier)?;
        if summary.root != opened.root || summary.entries != opened.size {
            bail!(
                "the entries do not match the checkpoint of size {}",
                opened.size
            );
        }
        let verifier_key = verifier.to_text();
        fs::write(tmp.join(CHECKPOINT_FILE), checkpoint_note)?;
        let format = BundleFormat::CURRENT;
        fs::write(
            tmp.join(README_FILE),
            package::readme(format, &origin, &verifier_key, opened.size),
        )?;
        package::write_datapackage(&tmp, format, &origin, &verifier_key, &opened)?;
        for entry in fs::read_dir(&tmp)? {
            File::open(entry?.path())?.sync_all()?;
        }
        fs::rename(&tmp, &out)
            .with_context(|| format!("moving the bundle to {}", out.display()))?;
        Ok((out, summary))
    }
}
