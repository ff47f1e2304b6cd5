//! The three checks, as both `pennytrail-verify` and the service's `pennytrail verify` /
//! `verify-receipt` run them: same library calls, same output, same failures (the error is
//! returned with `FAILED:` in front, and [`crate::output::exit_code`] makes it status 1).

use std::path::Path;

use anyhow::Context as _;
use pennytrail_bundle::monitor::{
    MonitorError, MonitorReport, Reading, detect_reading, verify_live,
};
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

/// What a monitor reads.
#[derive(Debug, Clone, Copy)]
pub enum Live<'a> {
    /// A service's base URL: its tiles under `/log` when it serves them, else its JSON API.
    Service(&'a str),
    /// The URL prefix of a static tile copy (`pennytrail tiles sync`), wherever it is hosted.
    Tiles(&'a str),
}

/// Monitors the live log `live` (see [`pennytrail_bundle::monitor`]): verifies it
/// against the pinned `verifier`, continuing from the state file `state`. Returns how
/// it was read too.
///
/// # Errors
/// Any [`MonitorError`]; the state file is then left as it was.
pub fn monitor_url(
    live: Live<'_>,
    verifier: &NoteVerifier,
    state: &Path,
    min_size: Option<u64>,
    progress: impl FnMut(u64, u64),
) -> Result<(MonitorReport, Reading), MonitorError> {
    let (source, reading) = match live {
        Live::Service(url) => {
            let source = HttpSource::new(url)?;
            let reading = detect_reading(&source)?;
            (source, reading)
        }
        Live::Tiles(prefix) => (
            HttpSource::new(prefix)?,
            Reading::Tiles {
                prefix: String::new(),
            },
        ),
    };
    let report = verify_live(&source, &reading, verifier, state, min_size, progress)?;
    Ok((report, reading))
}

/// `url`: monitors the live log and prints its summary, how it was read and how this
/// run follows the last.
///
/// # Errors
/// As [`monitor_url`], with `FAILED:` in front; or a bad `--key`.
pub fn url(live: Live<'_>, key: &str, state: &Path, min_size: Option<u64>) -> anyhow::Result<()> {
    let verifier = pinned_key(key)?;
    let mut progress = Progress::new("verify");
    let (report, reading) = monitor_url(live, &verifier, state, min_size, |done, total| {
        progress.update(done, total)
    })
    .map_err(failed)?;
    progress.finish();
    print_summary(&VerifyReport {
        checkpoint: report.checkpoint.clone(),
        summary: report.summary,
    })?;
    match reading {
        Reading::Api => {
            outln!("read through: the JSON API (/v1/entries; the service serves no tiles)")
        }
        Reading::Tiles { prefix } if prefix.is_empty() => {
            outln!("read through: the static tile copy (checkpoint, hash tiles and entry bundles)")
        }
        Reading::Tiles { prefix } => {
            outln!(
                "read through: the service's tiles under {prefix}/ (checkpoint, hash tiles and entry bundles)"
            )
        }
    }
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
