//! `pennytrail tiles sync`: a static copy of a tiled log (C2SP tlog-tiles) in a folder,
//! `DIR/checkpoint` and `DIR/tile/…`, that any web server, object store or CDN serves
//! exactly as the service serves `/log/…`. (Not C2SP tlog-mirror, a cosigning protocol.)
//!
//! A sync reads the source's checkpoint, opens it with the pinned key and reads the tiles
//! of its size through [`Fetch`], checking each one with [`TreeCheck`] before anything
//! is published:
//! - a full tile the copy's own checkpoint already covers was checked when it was written
//!   and is never fetched or written again; one whose root checks a new tile above it is
//!   read back from the folder;
//! - new tiles are written under `DIR/.staging/` first (each to a temporary name, then
//!   renamed) and moved into place only once every tile checked and the tiles give the
//!   signed root;
//! - the checkpoint is written last (temporary name, fsync, rename), so a reader of the
//!   folder never sees a checkpoint whose tiles are not all there;
//! - a checkpoint that does not extend the one already in the folder (another log, a
//!   smaller size, a different history) is refused, and the folder is left as it was.

use std::fs::{self, File};
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};

use crate::monitor::{Fetch, max_tile_bytes};
use pennytrail_log::checkpoint::Checkpoint;
use pennytrail_log::note::{MAX_NOTE_BYTES, NoteVerifier};
use pennytrail_log::tiles::{TreeCheck, tiles_for_size};

/// The checkpoint's file name in a copy (the tlog-tiles path).
pub const CHECKPOINT_FILE: &str = "checkpoint";
/// Where a sync puts new tiles until they are all checked.
pub const STAGING_DIR: &str = ".staging";
/// Held (locked) while a sync runs, so two syncs never write one folder.
pub const LOCK_FILE: &str = ".sync.lock";

/// What a sync did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncReport {
    pub checkpoint: Checkpoint,
    /// The size of the checkpoint the folder held before, if any.
    pub previous: Option<u64>,
    /// Tiles and bundles written by this sync.
    pub written: u64,
    /// Full tiles the folder already held (not fetched again).
    pub kept: u64,
    pub bytes_written: u64,
}

/// Brings the copy in `out` up to the checkpoint `source` serves at `{prefix}/checkpoint`,
/// verified with `verifier`. `progress` gets (tiles done, tiles in all).
///
/// # Errors
/// A checkpoint that does not verify or does not extend the folder's, a tile that fails
/// its checks (naming it), an answer that fails, or a file that cannot be written; the
/// folder's checkpoint and published tiles are then as they were.
pub fn sync(
    source: &impl Fetch,
    prefix: &str,
    out: &Path,
    verifier: &NoteVerifier,
    mut progress: impl FnMut(u64, u64),
) -> anyhow::Result<SyncReport> {
    fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let lock_path = out.join(LOCK_FILE);
    let lock = File::create(&lock_path)
        .with_context(|| format!("creating the lock file {}", lock_path.display()))?;
    if lock.try_lock().is_err() {
        bail!(
            "another sync is writing {} (it holds {})",
            out.display(),
            lock_path.display()
        );
    }

    let checkpoint_path = format!("{prefix}/checkpoint");
    let note = source.get(&checkpoint_path, MAX_NOTE_BYTES)?;
    let note = String::from_utf8(note).with_context(|| {
        format!(
            "{}: the checkpoint is not UTF-8",
            source.url(&checkpoint_path)
        )
    })?;
    let checkpoint = Checkpoint::open(&note, verifier).with_context(|| {
        format!(
            "the checkpoint at {} does not verify with the key {}",
            source.url(&checkpoint_path),
            verifier.to_text()
        )
    })?;

    let previous = read_previous(out, verifier)?;
    if let Some(old) = &previous {
        refuse_unless_extends(old, &checkpoint, out, &source.url(&checkpoint_path))?;
    }

    let staging = out.join(STAGING_DIR);
    if staging.exists() {
        fs::remove_dir_all(&staging)
            .with_context(|| format!("removing an interrupted sync's {}", staging.display()))?;
    }
    let earlier = previous.as_ref().map(|old| (old.size, old.root));
    let mut check = TreeCheck::new(checkpoint.size, earlier);
    let total = tiles_for_size(checkpoint.size).count() as u64;
    let mut report = SyncReport {
        checkpoint: checkpoint.clone(),
        previous: previous.as_ref().map(|old| old.size),
        written: 0,
        kept: 0,
        bytes_written: 0,
    };
    let mut staged = Vec::new();
    let mut done = 0u64;
    let result = (|| -> anyhow::Result<()> {
        while let Some(tile) = check.next_tile() {
            let relative = tile.path();
            let published = out.join(&relative);
            if check.is_old(&tile) {
                if !published.is_file() {
                    bail!(
                        "{} is missing although {}/{CHECKPOINT_FILE} covers it: the copy is incomplete; move the folder away and sync afresh",
                        published.display(),
                        out.display()
                    );
                }
                if check.needs_old(&tile) {
                    let bytes = fs::read(&published)
                        .with_context(|| format!("reading {}", published.display()))?;
                    check.feed(tile, &bytes).with_context(|| {
                        format!("{} (written by an earlier sync)", published.display())
                    })?;
                } else {
                    check.skip(tile)?;
                }
                report.kept += 1;
            } else {
                let path = format!("{prefix}/{relative}");
                let bytes = source.get(&path, max_tile_bytes(&tile))?;
                check
                    .feed(tile, &bytes)
                    .with_context(|| format!("REFUSED: {} fails its check", source.url(&path)))?;
                if fs::read(&published).is_ok_and(|held| held == bytes) {
                    // The same partial tile, or a full one an interrupted sync left.
                    report.kept += 1;
                } else {
                    write_new(&staging.join(&relative), &bytes)?;
                    staged.push(relative);
                    report.written += 1;
                    report.bytes_written += bytes.len() as u64;
                }
            }
            done += 1;
            progress(done, total);
        }
        Ok(())
    })();
    let result = result.and_then(|()| {
        check.finish(&checkpoint.root).with_context(|| {
            format!(
                "REFUSED: the tiles served by {} do not match its signed checkpoint",
                source.base()
            )
        })
    });
    if let Err(error) = result {
        let _ = fs::remove_dir_all(&staging);
        return Err(error);
    }

    for relative in &staged {
        let target = out.join(relative);
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        }
        fs::rename(staging.join(relative), &target)
            .with_context(|| format!("moving {relative} into place"))?;
    }
    let _ = fs::remove_dir_all(&staging);
    write_checkpoint(out, note.as_bytes())?;
    drop(lock);
    Ok(report)
}

/// The folder's checkpoint, opened with the pinned key; `None` for a new folder.
fn read_previous(out: &Path, verifier: &NoteVerifier) -> anyhow::Result<Option<Checkpoint>> {
    let path = out.join(CHECKPOINT_FILE);
    let note = match fs::read_to_string(&path) {
        Ok(note) => note,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let holds_tiles = out.join("tile").exists();
            if holds_tiles {
                bail!(
                    "{} holds tiles but no {CHECKPOINT_FILE}: it is not a copy this command made; use an empty folder",
                    out.display()
                );
            }
            return Ok(None);
        }
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    Checkpoint::open(&note, verifier).map(Some).with_context(|| {
        format!(
            "{} does not verify with the key {}: the folder holds another log's copy; use another folder",
            path.display(),
            verifier.to_text()
        )
    })
}

/// Refuses a checkpoint that cannot extend the folder's: another origin, fewer entries,
/// or another root at the same size. (A larger size is checked tile by tile.)
fn refuse_unless_extends(
    old: &Checkpoint,
    new: &Checkpoint,
    out: &Path,
    url: &str,
) -> anyhow::Result<()> {
    let held = out.join(CHECKPOINT_FILE);
    if old.origin != new.origin {
        bail!(
            "REFUSED: {} is the log {:?}, but {url} serves {:?}",
            held.display(),
            old.origin,
            new.origin
        );
    }
    if new.size < old.size {
        bail!(
            "REFUSED: {url} has {} entries, fewer than the {} of {}: a log never shrinks (rollback)",
            new.size,
            old.size,
            held.display()
        );
    }
    if new.size == old.size && new.root != old.root {
        bail!(
            "REFUSED: {url} signed the root {} for {} entries, but {} has {} for the same size (fork)",
            new.root.to_base64(),
            new.size,
            held.display(),
            old.root.to_base64()
        );
    }
    Ok(())
}

/// Writes `bytes` to `path` through a temporary name beside it.
fn write_new(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let parent = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    let temporary = temporary_name(path);
    fs::write(&temporary, bytes).with_context(|| format!("writing {}", temporary.display()))?;
    fs::rename(&temporary, path).with_context(|| format!("renaming to {}", path.display()))
}

fn temporary_name(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    path.with_file_name(name)
}

/// Writes the checkpoint last: temporary name, fsync, rename, fsync of the folder.
fn write_checkpoint(out: &Path, note: &[u8]) -> anyhow::Result<()> {
    let path = out.join(CHECKPOINT_FILE);
    let temporary = temporary_name(&path);
    let mut file =
        File::create(&temporary).with_context(|| format!("writing {}", temporary.display()))?;
    file.write_all(note)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("writing {}", temporary.display()))?;
    fs::rename(&temporary, &path).with_context(|| format!("renaming to {}", path.display()))?;
    File::open(out)
        .and_then(|dir| dir.sync_all())
        .with_context(|| format!("syncing {}", out.display()))
}
