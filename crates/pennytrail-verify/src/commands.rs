//! The three checks, as both `pennytrail-verify` and the service's `pennytrail verify` /
//! `verify-receipt` run them: same library calls, same output, same failures (the error is
//! returned with `FAILED:` in front, and [`crate::output::exit_code`] makes it status 1).

use std::path::Path;

use anyhow::Context as _;
use pennytrail_bundle::monitor::{MonitorError, MonitorReport, verify_live};
use pennytrail_bundle::verify::{VerifyReport, verify_bundle};
use pennytrail_log::note::NoteVerifier;
use pennytrail_log::receipt::Receipt;

use crate::http::HttpSource;
use crate::outln;
use crate::progress::Progress;
use crate::report::{print_continuity, print_summary};

/// The pinned key, as `--key` gives it.
fn pinned_key(key: &str) -> anyhow::Result<NoteVerifier> {
    NoteVerifier::from_text(key).context("--key")
}

fn failed(error: impl std::fmt::Display) -> anyhow::Error {
    anyhow::anyhow!("FAILED: {error}")
}

/// Verifies the bundle folder `dir` against the pinned `key` (and `min_size`), with
/// progress on stderr, and prints its summary.
///
/// # Errors
/// The first fault found, naming file, row and field; or a bad `--key`.
pub fn bundle(dir: &Path, key: &str, min_size: Option<u64>) -> anyhow::Result<()> {
    let verifier = pinned_key(key)?;
    let mut progress = Progress::new("verify");
    let report = verify_bundle(dir, &verifier, min_size, |done, total| {
        progress.update(done, total)
    })
    .map_err(failed)?;
    progress.finish();
    print_summary(&report)
}

/// Monitors the live instance at `url` (see [`pennytrail_bundle::monitor`]): verifies it
/// against the pinned `verifier`, continuing from the state file `state`.
///
/// # Errors
/// Any [`MonitorError`]; the state file is then left as it was.
pub fn monitor_url(
    url: &str,
    verifier: &NoteVerifier,
    state: &Path,
    min_size: Option<u64>,
    progress: impl FnMut(u64, u64),
) -> Result<MonitorReport, MonitorError> {
    let source = HttpSource::new(url)?;
    verify_live(&source, verifier, state, min_size, progress)
}

/// `url`: monitors the live instance at `url` and prints its summary and how this run
/// follows the last.
///
/// # Errors
/// As [`monitor_url`], with `FAILED:` in front; or a bad `--key`.
pub fn url(url: &str, key: &str, state: &Path, min_size: Option<u64>) -> anyhow::Result<()> {
    let verifier = pinned_key(key)?;
    let mut progress = Progress::new("verify");
    let report = monitor_url(url, &verifier, state, min_size, |done, total| {
        progress.update(done, total)
    })
    .map_err(failed)?;
    progress.finish();
    print_summary(&VerifyReport {
        checkpoint: report.checkpoint.clone(),
        summary: report.summary,
    })?;
    print_continuity(&report.checkpoint, &report.continuity, state)
}

/// Checks a donor's receipt (C2SP tlog-proof) for the entry whose exact bytes are in
/// `entry`, offline, against the pinned `key`.
///
/// # Errors
/// When a file cannot be read, the receipt does not parse, or it does not prove the
/// entry under a checkpoint signed by the key.
pub fn receipt(receipt: &Path, entry: &Path, key: &str) -> anyhow::Result<()> {
    let verifier = pinned_key(key)?;
    let text = std::fs::read_to_string(receipt)
        .with_context(|| format!("reading {}", receipt.display()))?;
    let bytes = std::fs::read(entry).with_context(|| format!("reading {}", entry.display()))?;
    let parsed = Receipt::parse(&text).with_context(|| format!("{}", receipt.display()))?;
    let checkpoint = parsed.verify(&bytes, &verifier).map_err(failed)?;
    outln!(
        "ok: the entry is number {} of the log {} at size {}, signed by {}",
        parsed.index,
        checkpoint.origin,
        checkpoint.size,
        verifier.to_text()
    );
    Ok(())
}
