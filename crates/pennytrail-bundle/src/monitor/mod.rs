//! `pennytrail-verify url URL --key VKEY --state FILE` (and `pennytrail verify --url`): the
//! monitor a journalist leaves running against a live instance. Each run fetches the
//! latest signed checkpoint and
//! opens it with the pinned key, re-derives the whole log from `GET /v1/entries` through
//! the same [`Deriver`] the exporter and the bundle verifier use (canonical bytes, chain,
//! money rules, Merkle root), and requires the root and count to equal the checkpoint's.
//!
//! The state file remembers the last checkpoint a run verified. The next run demands a
//! consistency proof from it and re-derives the old root at the old size, so a log that
//! was rolled back (fewer entries than before) or forked (another history under the same
//! key) fails loudly with `ROLLBACK` or `FORK` instead of passing as a fresh log. For the
//! same reason the state is never reset silently: a state file that cannot be read or
//! belongs to another key is an error naming the file, and the state is written only
//! after a run passed, atomically (temp file in the same folder, fsync, rename).
//!
//! The state file is JSON (see [`StateFile`]): the format tag, the log's origin and
//! verifier key, the size and base64 root of the checkpoint, and the signed checkpoint
//! note itself, so a later run — or a person — can check the remembered checkpoint's
//! signature instead of trusting the file.
//!
//! The log is read through [`Fetch`], one bounded GET at a time, so this logic has no
//! network code of its own: the verifier's HTTPS client implements it. It is read as
//! C2SP tiles ([`Reading::Tiles`]: `/log/…` on the service, or a static copy anywhere)
//! when they are there, and through the JSON API otherwise. From tiles, every hash tile
//! is checked too (each level-0 hash is its entry's leaf hash, each hash above the root
//! of the full tile below, the partial tiles give the signed root), and the remembered
//! checkpoint must be a prefix of the same tiles, so no consistency proof is asked for.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::derive::{DeriveError, Deriver, Summary};
use pennytrail_log::canonical::MAX_ENTRY_BYTES;
use pennytrail_log::checkpoint::{Checkpoint, CheckpointError};
use pennytrail_log::hash::Hash;
use pennytrail_log::merkle::verify_consistency;
use pennytrail_log::note::{MAX_NOTE_BYTES, NoteVerifier};
use pennytrail_log::policy::Policy;
use pennytrail_log::tiles::{TileCheckError, TileId, TileKind, TreeCheck, decode_bundle};

mod state;
use state::folder_of;
pub use state::{MAX_STATE_BYTES, STATE_FORMAT, StateFile, read_state, write_state};

/// Entries asked for per `GET /v1/entries` page: the server's largest page (its
/// `MAX_PAGE`), so a million-entry log takes 1,000 requests. A server that answers with
/// shorter pages is still read correctly, a page at a time.
pub const PAGE_ENTRIES: u64 = 1000;
/// Largest entries page accepted: a full page of the largest entries, each with its
/// newline (16 MiB + 1,000 bytes).
pub const MAX_PAGE_BYTES: usize = PAGE_ENTRIES as usize * (MAX_ENTRY_BYTES + 1);
/// Largest consistency proof accepted: at most 2·64 hashes of 44 base64 characters plus
/// quotes and commas is ~6.2 KB; 16 KiB leaves room for the JSON around them.
pub const MAX_PROOF_BYTES: usize = 16 * 1024;
/// Why a live instance failed verification, or could not be verified.
///
/// # Errors
/// `Rollback` and `Fork` mean the log contradicts a checkpoint verified on an earlier run:
/// the evidence a monitor exists to find. The `State*` variants are about the state file
/// and name it; the others name the URL that answered wrongly.
#[derive(Debug, thiserror::Error)]
pub enum MonitorError {
    #[error("--url {url:?}: {reason}")]
    BadUrl { url: String, reason: String },
    #[error("{url}: {reason}")]
    Http { url: String, reason: String },
    #[error("{url} answered HTTP {status}: {detail}")]
    Status {
        url: String,
        status: u16,
        detail: String,
    },
    #[error("{url}: bad answer: {reason}")]
    Body { url: String, reason: String },
    #[error(
        "the checkpoint at {url} does not verify with the pinned key {key}: {error} (is --key this log's key?)"
    )]
    Checkpoint {
        url: String,
        key: String,
        error: CheckpointError,
    },
    #[error("NOT WITNESSED: the checkpoint at {url} does not meet --policy: {reason}")]
    NotWitnessed { url: String, reason: String },
    #[error("the log at {url} has {size} entries, fewer than --min-size {min_size}")]
    TooSmall {
        url: String,
        size: u64,
        min_size: u64,
    },
    #[error(
        "ROLLBACK: the log at {url} now has {new_size} entries, fewer than the {old_size} of the checkpoint verified on an earlier run (remembered in {state}); a genuine log never shrinks"
    )]
    Rollback {
        url: String,
        state: PathBuf,
        old_size: u64,
        new_size: u64,
    },
    #[error(transparent)]
    Fork(Box<Fork>),
    #[error("entry {seq} served by {url} fails verification: {reason}")]
    Entry {
        url: String,
        seq: u64,
        reason: String,
    },
    #[error("the log at {url} serves only {served} entries, but its signed checkpoint has {size}")]
    MissingEntries { url: String, served: u64, size: u64 },
    #[error(
        "the {entries} entries served by {url} have root {root}, but the signed checkpoint says {size} entries with root {checkpoint_root}: the entries do not match the checkpoint"
    )]
    Mismatch {
        url: String,
        entries: u64,
        root: String,
        size: u64,
        checkpoint_root: String,
    },
    #[error("state file {path}: {error}")]
    StateRead {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error(
        "state file {path} is corrupt: {reason}; it is not reset automatically — find out why it changed, then move it away to start afresh"
    )]
    StateCorrupt { path: PathBuf, reason: String },
    #[error("state file {path} remembers another log: {reason}")]
    StateMismatch { path: PathBuf, reason: String },
    #[error("writing state file {path}: {error}")]
    StateWrite {
        path: PathBuf,
        error: std::io::Error,
    },
}

/// The evidence of a fork: the live log's checkpoint does not extend the remembered one.
#[derive(Debug, thiserror::Error)]
#[error(
    "FORK: the log at {url} (size {new_size}, root {}) does not extend the checkpoint verified on an earlier run (size {old_size}, root {}, remembered in {}): {reason}",
    new_root.to_base64(),
    old_root.to_base64(),
    state.display()
)]
pub struct Fork {
    pub url: String,
    pub state: PathBuf,
    pub old_size: u64,
    pub old_root: Hash,
    pub new_size: u64,
    pub new_root: Hash,
    pub reason: String,
}

/// How this run's checkpoint relates to the one the state file remembered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Continuity {
    /// No state file yet: this run's checkpoint is the first remembered.
    FirstRun,
    /// The same size and root as last time.
    Unchanged,
    /// The log grew from `from_size` (whose root was `from_root`): a consistency proof
    /// verified, and re-deriving the entries gave `from_root` at `from_size`.
    Extended { from_size: u64, from_root: Hash },
}

/// What a successful run verified.
#[derive(Debug, Clone)]
pub struct MonitorReport {
    pub checkpoint: Checkpoint,
    /// The checkpoint as served: the signed note, with any cosignatures.
    pub note: String,
    /// With a policy: the witnesses (in policy order) whose cosignatures the checkpoint
    /// carries, which met its quorum.
    pub witnessed_by: Option<Vec<String>>,
    pub summary: Summary,
    pub continuity: Continuity,
}

/// How the monitor reads a live log: a GET of a path below the instance's base URL
/// (`/v1/checkpoint`, `/v1/entries?…`, `/v1/proofs/consistency?…`) whose answer may be at
/// most `limit` bytes.
pub trait Fetch {
    /// The base URL, as errors name it (`https://host`, no trailing slash).
    fn base(&self) -> &str;

    /// The body of a successful answer to `GET {base}{path}`.
    ///
    /// # Errors
    /// [`MonitorError::Http`] when no answer came, [`MonitorError::Status`] for an answer
    /// other than 2xx (with the problem's `detail`), [`MonitorError::Body`] for a body
    /// over `limit` bytes or cut short.
    fn get(&self, path: &str, limit: usize) -> Result<Vec<u8>, MonitorError>;

    /// The full URL of `path`, for messages.
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base())
    }
}

/// Where a monitor reads the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reading {
    /// The JSON API: `/v1/checkpoint`, `/v1/proofs/consistency`, `/v1/entries`.
    Api,
    /// C2SP tlog-tiles: `{prefix}/checkpoint` and `{prefix}/tile/…`; the prefix is
    /// `/log` on the service and empty for a static copy's own URL.
    Tiles { prefix: String },
}

impl Reading {
    fn checkpoint_path(&self) -> String {
        match self {
            Reading::Api => "/v1/checkpoint".into(),
            Reading::Tiles { prefix } => format!("{prefix}/checkpoint"),
        }
    }
}

/// The service's tile prefix.
pub const SERVICE_TILE_PREFIX: &str = "/log";

/// Tiles under `/log` when the instance serves them (its `/log/checkpoint` answers),
/// the JSON API when it answers 404 there (a service older than tiles).
///
/// # Errors
/// Any other failure to read `/log/checkpoint`.
pub fn detect_reading(instance: &impl Fetch) -> Result<Reading, MonitorError> {
    let path = format!("{SERVICE_TILE_PREFIX}/checkpoint");
    match instance.get(&path, MAX_NOTE_BYTES) {
        Ok(_) => Ok(Reading::Tiles {
            prefix: SERVICE_TILE_PREFIX.into(),
        }),
        Err(MonitorError::Status { status: 404, .. }) => Ok(Reading::Api),
        Err(e) => Err(e),
    }
}

/// Largest answer accepted for a tile: its hashes, or its entries at the largest size
/// with their length prefixes.
pub fn max_tile_bytes(tile: &TileId) -> usize {
    let width = usize::from(tile.width);
    match tile.kind {
        TileKind::Hashes { .. } => width * pennytrail_log::hash::HASH_LEN,
        TileKind::Entries => width * (2 + MAX_ENTRY_BYTES),
    }
}

/// The answer of `GET /v1/proofs/consistency`.
#[derive(Deserialize)]
struct ConsistencyAnswer {
    from: u64,
    to: u64,
    hashes: Vec<String>,
}

/// The service's consistency proof from `from` to `to` (`/v1/proofs/consistency`) and
/// its URL; `Ok(Err(sentence))` when the service refuses it (an HTTP error status).
///
/// # Errors
/// The service cannot be reached, or answers something that is not such a proof.
pub fn consistency_proof(
    instance: &impl Fetch,
    from: u64,
    to: u64,
) -> Result<Result<(Vec<Hash>, String), String>, MonitorError> {
    let path = format!("/v1/proofs/consistency?from={from}&to={to}");
    let proof_url = instance.url(&path);
    let body = match instance.get(&path, MAX_PROOF_BYTES) {
        Ok(body) => body,
        Err(MonitorError::Status { status, detail, .. }) => {
            return Ok(Err(format!(
                "the log refuses a consistency proof ({proof_url} answered HTTP {status}: {detail})"
            )));
        }
        Err(e) => return Err(e),
    };
    let answer: ConsistencyAnswer =
        serde_json::from_slice(&body).map_err(|e| MonitorError::Body {
            url: proof_url.clone(),
            reason: format!("not a consistency proof: {e}"),
        })?;
    if (answer.from, answer.to) != (from, to) {
        return Err(MonitorError::Body {
            url: proof_url,
            reason: format!(
                "a proof from {} to {} instead of from {from} to {to}",
                answer.from, answer.to
            ),
        });
    }
    let hashes = answer
        .hashes
        .iter()
        .map(|h| Hash::from_base64(h))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| MonitorError::Body {
            url: proof_url.clone(),
            reason: "a proof hash is not base64 of 32 bytes".into(),
        })?;
    Ok(Ok((hashes, proof_url)))
}

/// What a failed derivation says, without the bundle's file and row wording.
fn derive_reason(error: &DeriveError) -> String {
    match error {
        DeriveError::Entry { error, .. } => error.to_string(),
        DeriveError::Chain { error, .. } => error.to_string(),
        DeriveError::Rule { error, .. } => format!("rule {}: {error}", error.rule),
        DeriveError::Io { file, error } => format!("{file}: {error}"),
    }
}

/// Verifies the live instance read through `instance` against the pinned `verifier`, continuing from
/// (and then updating) the state file `state`. `progress` gets (entries done, entries in
/// the checkpoint) after every page.
///
/// # Errors
/// Any [`MonitorError`]; on every error the state file is left as it was.
pub fn verify_live(
    instance: &impl Fetch,
    reading: &Reading,
    verifier: &NoteVerifier,
    policy: Option<&Policy>,
    state: &Path,
    min_size: Option<u64>,
    mut progress: impl FnMut(u64, u64),
) -> Result<MonitorReport, MonitorError> {
    // The state first: a bad state file or folder fails before any network work.
    let previous = read_state(state, verifier)?;
    let folder = folder_of(state);
    if !folder.is_dir() {
        return Err(MonitorError::StateWrite {
            path: state.to_path_buf(),
            error: std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("the folder {} does not exist", folder.display()),
            ),
        });
    }

    // With a policy, the JSON API is asked for its witnessed checkpoint; a service's tiles
    // and a static copy of them serve only witnessed checkpoints on a witnessed log.
    let checkpoint_path = match (reading, policy) {
        (Reading::Api, Some(_)) => format!("{}?witnessed=true", reading.checkpoint_path()),
        _ => reading.checkpoint_path(),
    };
    let checkpoint_url = instance.url(&checkpoint_path);
    let note = instance.get(&checkpoint_path, MAX_NOTE_BYTES)?;
    let note = String::from_utf8(note).map_err(|_| MonitorError::Body {
        url: checkpoint_url.clone(),
        reason: "the checkpoint is not UTF-8".into(),
    })?;
    let checkpoint =
        Checkpoint::open(&note, verifier).map_err(|error| MonitorError::Checkpoint {
            url: checkpoint_url.clone(),
            key: verifier.to_text(),
            error,
        })?;
    let witnessed_by = match policy {
        Some(policy) => Some(
            policy
                .require_quorum(&note)
                .map_err(|reason| MonitorError::NotWitnessed {
                    url: checkpoint_url.clone(),
                    reason,
                })?
                .into_iter()
                .map(String::from)
                .collect(),
        ),
        None => None,
    };
    if let Some(min_size) = min_size
        && checkpoint.size < min_size
    {
        return Err(MonitorError::TooSmall {
            url: checkpoint_url,
            size: checkpoint.size,
            min_size,
        });
    }

    let old = previous.as_ref().map(|(_, cp)| cp.clone());
    let fork = |old: &Checkpoint, reason: String| {
        MonitorError::Fork(Box::new(Fork {
            url: instance.base().to_string(),
            state: state.to_path_buf(),
            old_size: old.size,
            old_root: old.root,
            new_size: checkpoint.size,
            new_root: checkpoint.root,
            reason,
        }))
    };
    let continuity = match &old {
        None => Continuity::FirstRun,
        Some(old) if checkpoint.size < old.size => {
            return Err(MonitorError::Rollback {
                url: instance.base().to_string(),
                state: state.to_path_buf(),
                old_size: old.size,
                new_size: checkpoint.size,
            });
        }
        Some(old) if checkpoint.size == old.size => {
            if checkpoint.root != old.root {
                return Err(fork(
                    old,
                    "two different roots signed for the same size".into(),
                ));
            }
            Continuity::Unchanged
        }
        // From tiles, the same tiles must give the old root (checked as they are read).
        Some(old) if matches!(reading, Reading::Tiles { .. }) => Continuity::Extended {
            from_size: old.size,
            from_root: old.root,
        },
        Some(old) => {
            let (hashes, proof_url) = match consistency_proof(instance, old.size, checkpoint.size)?
            {
                Ok(proof) => proof,
                Err(refusal) => return Err(fork(old, refusal)),
            };
            verify_consistency(
                &hashes,
                old.size,
                &old.root,
                checkpoint.size,
                &checkpoint.root,
            )
            .map_err(|e| {
                fork(
                    old,
                    format!("the consistency proof from {proof_url} fails: {e}"),
                )
            })?;
            Continuity::Extended {
                from_size: old.size,
                from_root: old.root,
            }
        }
    };

    // Every entry, through the same checks as a bundle; the derived CSVs go nowhere.
    let mut deriver = Deriver::new(&checkpoint.origin, |_| Ok(std::io::sink())).map_err(|e| {
        MonitorError::Entry {
            url: instance.base().to_string(),
            seq: 0,
            reason: derive_reason(&e),
        }
    })?;
    // The re-derived root at the remembered size must be the remembered root.
    let check_old_root = |position: (u64, Hash)| -> Result<(), MonitorError> {
        match &old {
            Some(old) if position.0 == old.size && position.1 != old.root => Err(fork(
                old,
                format!(
                    "its first {} entries re-derive the root {}",
                    old.size,
                    position.1.to_base64()
                ),
            )),
            _ => Ok(()),
        }
    };
    check_old_root(deriver.position())?;
    let mut next = 0u64;
    let mut push = |line: &[u8], url: &str| -> Result<(), MonitorError> {
        deriver.push(line).map_err(|e| MonitorError::Entry {
            url: url.to_string(),
            seq: next,
            reason: derive_reason(&e),
        })?;
        next += 1;
        check_old_root(deriver.position())
    };
    match reading {
        Reading::Api => read_entries_api(instance, checkpoint.size, &mut push, &mut progress)?,
        Reading::Tiles { prefix } => {
            let earlier = old.as_ref().map(|old| (old.size, old.root));
            let mut check = TreeCheck::new(checkpoint.size, earlier);
            let mut done = 0u64;
            while let Some(tile) = check.next_tile() {
                let path = format!("{prefix}/{}", tile.path());
                let url = instance.url(&path);
                let bytes = instance.get(&path, max_tile_bytes(&tile))?;
                check.feed(tile, &bytes).map_err(|e| tile_error(&url, e))?;
                if tile.kind == TileKind::Entries {
                    let entries = decode_bundle(&bytes, usize::from(tile.width)).map_err(|e| {
                        MonitorError::Body {
                            url: url.clone(),
                            reason: e.to_string(),
                        }
                    })?;
                    for entry in entries {
                        push(entry, &url)?;
                    }
                    done += u64::from(tile.width);
                    progress(done, checkpoint.size);
                }
            }
            check
                .finish(&checkpoint.root)
                .map_err(|e| match (&old, e) {
                    (Some(old), TileCheckError::Inconsistent { .. }) => fork(
                        old,
                        format!(
                            "its tiles give another root for the first {} entries",
                            old.size
                        ),
                    ),
                    (_, e) => tile_error(instance.base(), e),
                })?;
        }
    }
    let (entries, root) = deriver.position();
    if (entries, root) != (checkpoint.size, checkpoint.root) {
        return Err(MonitorError::Mismatch {
            url: instance.base().to_string(),
            entries,
            root: root.to_base64(),
            size: checkpoint.size,
            checkpoint_root: checkpoint.root.to_base64(),
        });
    }
    let (_, summary) = deriver.finish().map_err(|e| MonitorError::Entry {
        url: instance.base().to_string(),
        seq: entries,
        reason: derive_reason(&e),
    })?;
    progress(summary.entries, checkpoint.size);

    write_state(state, &StateFile::new(verifier, &checkpoint, &note))?;
    Ok(MonitorReport {
        checkpoint,
        note,
        witnessed_by,
        summary,
        continuity,
    })
}

/// What a tile that fails its checks is reported as.
fn tile_error(url: &str, error: TileCheckError) -> MonitorError {
    MonitorError::Body {
        url: url.to_string(),
        reason: error.to_string(),
    }
}

/// Reads every entry of a log of `size` entries through `GET /v1/entries`, a page at a
/// time, handing each line to `push`.
fn read_entries_api(
    instance: &impl Fetch,
    size: u64,
    push: &mut impl FnMut(&[u8], &str) -> Result<(), MonitorError>,
    progress: &mut impl FnMut(u64, u64),
) -> Result<(), MonitorError> {
    let mut next = 0u64;
    while next < size {
        let want = PAGE_ENTRIES.min(size - next);
        let path = format!("/v1/entries?from={next}&limit={want}");
        let page_url = instance.url(&path);
        let body = instance.get(&path, MAX_PAGE_BYTES)?;
        if body.is_empty() {
            return Err(MonitorError::MissingEntries {
                url: instance.base().to_string(),
                served: next,
                size,
            });
        }
        let lines = body.strip_suffix(b"\n").ok_or_else(|| MonitorError::Body {
            url: page_url.clone(),
            reason: "the last line does not end with a newline".into(),
        })?;
        let mut served = 0u64;
        for line in lines.split(|b| *b == b'\n') {
            served += 1;
            if served > want {
                return Err(MonitorError::Body {
                    url: page_url,
                    reason: format!("more than the {want} entries asked for"),
                });
            }
            push(line, &page_url)?;
            next += 1;
        }
        progress(next, size);
    }
    Ok(())
}
