//! The three checks, as both `pennytrail-verify` and the service's `pennytrail verify` /
//! `verify-receipt` run them: same library calls, same output, same failures (the error is
//! returned with `FAILED:` in front, and [`crate::output::exit_code`] makes it status 1).

use std::path::Path;

use anyhow::Context as _;
use pennytrail_bundle::monitor::{
    MonitorError, MonitorReport, Reading, detect_reading, verify_live,
};
use pennytrail_bundle::verify::{VerifyReport, verify_bundle};
use pennytrail_bundle::witnesses::{WitnessView, compare};
use pennytrail_log::checkpoint::Checkpoint;
use pennytrail_log::note::NoteVerifier;
use pennytrail_log::policy::Policy;
use pennytrail_log::receipt::{Receipt, ReceiptError, explain_mismatch, split_receipt_file};

use crate::http::HttpSource;
use crate::outln;
use crate::progress::Progress;
use crate::report::{print_continuity, print_summary};

/// The pinned key, as `--key` gives it.
fn pinned_key(key: &str) -> anyhow::Result<NoteVerifier> {
    NoteVerifier::from_text(key).context("--key")
}

/// The pinned witness policy, as `--policy FILE` gives it: a tlog-policy whose `log`
/// lines include the pinned key.
///
/// # Errors
/// The file cannot be read, does not parse (naming the line), or does not list `key`.
pub fn pinned_policy(path: Option<&Path>, key: &NoteVerifier) -> anyhow::Result<Option<Policy>> {
    let Some(path) = path else {
        return Ok(None);
    };
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("--policy: reading {}", path.display()))?;
    let policy = Policy::parse(&text).with_context(|| format!("--policy {}", path.display()))?;
    if policy.log_with_key(key).is_none() {
        anyhow::bail!(
            "--policy {}: its log lines do not list --key {} (a policy pins the log as well as its witnesses)",
            path.display(),
            key.to_text()
        );
    }
    Ok(Some(policy))
}

/// Checks `note` against the pinned policy, if any; the line to print says who
/// witnessed it.
fn require_witnesses(policy: Option<&Policy>, note: &str) -> anyhow::Result<Option<String>> {
    let Some(policy) = policy else {
        return Ok(None);
    };
    let witnesses = policy
        .require_quorum(note)
        .map_err(|reason| failed(format!("NOT WITNESSED: {reason}")))?;
    Ok(Some(witnessed_line(&witnesses)))
}

/// What is printed of a checkpoint that met the pinned policy's quorum.
fn witnessed_line(witnesses: &[impl AsRef<str>]) -> String {
    if witnesses.is_empty() {
        "witnessed: not required (the policy's quorum is none)".to_string()
    } else {
        let names: Vec<&str> = witnesses.iter().map(AsRef::as_ref).collect();
        format!(
            "witnessed: cosigned by {} (the policy's quorum is met)",
            names.join(", ")
        )
    }
}

fn failed(error: impl std::fmt::Display) -> anyhow::Error {
    anyhow::anyhow!("FAILED: {error}")
}

/// Verifies the bundle folder `dir` against the pinned `key` (and `min_size`), with
/// progress on stderr, and prints its summary.
///
/// # Errors
/// The first fault found, naming file, row and field; or a bad `--key`.
pub fn bundle(
    dir: &Path,
    key: &str,
    min_size: Option<u64>,
    policy: Option<&Path>,
) -> anyhow::Result<()> {
    let verifier = pinned_key(key)?;
    let policy = pinned_policy(policy, &verifier)?;
    // The cosignatures are checked first: an unwitnessed bundle fails before the long work.
    let witnessed = match &policy {
        Some(policy) => {
            let path = dir.join(pennytrail_bundle::CHECKPOINT_FILE);
            let note = std::fs::read_to_string(&path)
                .with_context(|| format!("reading {}", path.display()))?;
            require_witnesses(Some(policy), &note)?
        }
        None => None,
    };
    let mut progress = Progress::new("verify");
    let report = verify_bundle(dir, &verifier, min_size, |done, total| {
        progress.update(done, total)
    })
    .map_err(failed)?;
    progress.finish();
    print_summary(&report)?;
    if let Some(line) = witnessed {
        outln!("{line}");
    }
    Ok(())
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
    policy: Option<&Policy>,
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
    let report = verify_live(
        &source, &reading, verifier, policy, state, min_size, progress,
    )?;
    Ok((report, reading))
}

/// `url`: monitors the live log and prints its summary, how it was read and how this
/// run follows the last.
///
/// # Errors
/// As [`monitor_url`], with `FAILED:` in front; or a bad `--key`.
pub fn url(
    live: Live<'_>,
    key: &str,
    state: &Path,
    min_size: Option<u64>,
    policy: Option<&Path>,
) -> anyhow::Result<()> {
    let verifier = pinned_key(key)?;
    let policy = pinned_policy(policy, &verifier)?;
    let mut progress = Progress::new("verify");
    let (report, reading) = monitor_url(
        live,
        &verifier,
        policy.as_ref(),
        state,
        min_size,
        |done, total| progress.update(done, total),
    )
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
    if let Some(witnesses) = &report.witnessed_by {
        outln!("{}", witnessed_line(witnesses));
    }
    if let Some(policy) = &policy {
        compare_with_witnesses(live, policy, &verifier, &report.checkpoint)?;
    }
    print_continuity(&report.checkpoint, &report.continuity, state)
}

/// Asks each witness of `policy` that has a URL what it cosigned of the log, and fails on
/// a split view; a witness that cannot be asked is said, not a failure.
fn compare_with_witnesses(
    live: Live<'_>,
    policy: &Policy,
    verifier: &NoteVerifier,
    checkpoint: &Checkpoint,
) -> anyhow::Result<()> {
    let instance = match live {
        Live::Service(url) => Some(HttpSource::new(url).map_err(failed)?),
        Live::Tiles(_) => None,
    };
    for witness in &policy.witnesses {
        let Some(url) = &witness.url else {
            outln!("witness {}: no URL in the policy, not asked", witness.name);
            continue;
        };
        let view = match HttpSource::new(url) {
            Ok(source) => compare(
                instance.as_ref(),
                &source,
                &witness.name,
                &witness.key,
                verifier,
                checkpoint,
            )
            .map_err(failed)?,
            Err(error) => WitnessView::Unavailable(error.to_string()),
        };
        let said = match view {
            WitnessView::Same => "cosigned this same checkpoint".to_string(),
            WitnessView::Consistent { size } => {
                format!("cosigned size {size}, consistent with this checkpoint (proof checked)")
            }
            WitnessView::NotCompared { size } => format!(
                "cosigned size {size}; not compared (a static copy serves no consistency proofs)"
            ),
            WitnessView::NotSeen => "has not cosigned this log".to_string(),
            WitnessView::Unavailable(reason) => format!("could not be asked: {reason}"),
        };
        outln!("witness {} ({url}): {said}", witness.name);
    }
    Ok(())
}

/// Checks a donor's receipt offline, against the pinned `key`: the one-file receipt
/// (`GET /v1/orgs/{org}/donations/{id}/receipt`: the entry's exact bytes, one LF, the
/// C2SP tlog-proof), or, with `entry`, a tlog-proof and the entry's bytes apart.
///
/// # Errors
/// When a file cannot be read, the receipt does not parse, or it does not prove the
/// entry under a checkpoint signed by the key (saying what is wrong with the entry's
/// bytes: a trailing newline, another form of the JSON, another entry).
pub fn receipt(
    receipt: &Path,
    entry: Option<&Path>,
    key: &str,
    policy: Option<&Path>,
) -> anyhow::Result<()> {
    let verifier = pinned_key(key)?;
    let policy = pinned_policy(policy, &verifier)?;
    let file = std::fs::read(receipt).with_context(|| format!("reading {}", receipt.display()))?;
    let (bytes, parsed) = match entry {
        Some(entry) => {
            let text = std::str::from_utf8(&file)
                .map_err(|_| anyhow::anyhow!("{}: not UTF-8 text", receipt.display()))?;
            let parsed = Receipt::parse(text).with_context(|| format!("{}", receipt.display()))?;
            let bytes =
                std::fs::read(entry).with_context(|| format!("reading {}", entry.display()))?;
            (bytes, parsed)
        }
        None => {
            let (bytes, parsed) =
                split_receipt_file(&file).with_context(|| format!("{}", receipt.display()))?;
            (bytes.to_vec(), parsed)
        }
    };
    let checkpoint = match parsed.verify(&bytes, &verifier) {
        Ok(checkpoint) => checkpoint,
        Err(ReceiptError::Proof(_)) => {
            return Err(failed(format!(
                "the receipt does not prove this entry: {}",
                explain_mismatch(&bytes, &parsed)
            )));
        }
        Err(e) => return Err(failed(e)),
    };
    let witnessed = require_witnesses(policy.as_ref(), &parsed.checkpoint_note)?;
    outln!(
        "ok: the entry is number {} of the log {} at size {}, signed by {}",
        parsed.index,
        checkpoint.origin,
        checkpoint.size,
        verifier.to_text()
    );
    if let Some(line) = witnessed {
        outln!("{line}");
    }
    Ok(())
}
