//! The monitor's state file: the last checkpoint a run verified, as JSON that a later run
//! (or a person) can check against the pinned key, written atomically only after a run
//! passed.

use std::fs;
use std::io::{Read as _, Write as _};
use std::path::Path;

use pennytrail_log::checkpoint::Checkpoint;
use pennytrail_log::note::{MAX_NOTE_BYTES, NoteVerifier};
use serde::{Deserialize, Serialize};

use super::MonitorError;

/// The `format` member of every state file this version writes and reads.
pub const STATE_FORMAT: &str = "pennytrail-monitor-state/1";
/// Largest state file read: the signed note plus a few short lines of JSON (escaping the
/// note's newlines costs one byte each).
pub const MAX_STATE_BYTES: u64 = 2 * MAX_NOTE_BYTES as u64 + 4096;

/// The state file: the last checkpoint a run verified. `size` and `root` repeat what the
/// note says, for people reading the file; a reader requires them to agree with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateFile {
    /// Always [`STATE_FORMAT`].
    pub format: String,
    /// The log's origin (the key's name).
    pub origin: String,
    /// The pinned verifier key the checkpoint was verified with.
    pub verifier_key: String,
    /// Entries in the remembered checkpoint.
    pub size: u64,
    /// Its Merkle root, base64 as in the checkpoint.
    pub root: String,
    /// The signed checkpoint note, verbatim.
    pub checkpoint: String,
}

impl StateFile {
    /// The state for a checkpoint note verified with `verifier`.
    pub fn new(verifier: &NoteVerifier, checkpoint: &Checkpoint, note: &str) -> StateFile {
        StateFile {
            format: STATE_FORMAT.to_string(),
            origin: checkpoint.origin.clone(),
            verifier_key: verifier.to_text(),
            size: checkpoint.size,
            root: checkpoint.root.to_base64(),
            checkpoint: note.to_string(),
        }
    }

    /// The file's bytes: pretty JSON ending with a newline.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut text = serde_json::to_string_pretty(self).expect("a state serialises");
        text.push('\n');
        text.into_bytes()
    }
}

/// Reads and checks the state file; None when it does not exist yet.
///
/// # Errors
/// [`MonitorError::StateRead`] when it cannot be read, [`MonitorError::StateCorrupt`] when
/// it is not a valid state or its checkpoint's signature does not verify, and
/// [`MonitorError::StateMismatch`] when it was written for another key or origin.
pub fn read_state(
    path: &Path,
    verifier: &NoteVerifier,
) -> Result<Option<(StateFile, Checkpoint)>, MonitorError> {
    let file = match fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => {
            return Err(MonitorError::StateRead {
                path: path.to_path_buf(),
                error,
            });
        }
    };
    let corrupt = |reason: String| MonitorError::StateCorrupt {
        path: path.to_path_buf(),
        reason,
    };
    let mut bytes = Vec::new();
    file.take(MAX_STATE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|error| MonitorError::StateRead {
            path: path.to_path_buf(),
            error,
        })?;
    if bytes.len() as u64 > MAX_STATE_BYTES {
        return Err(corrupt(format!(
            "larger than a state file can be ({MAX_STATE_BYTES} bytes)"
        )));
    }
    let state: StateFile = serde_json::from_slice(&bytes)
        .map_err(|e| corrupt(format!("not a monitor state file ({e})")))?;
    if state.format != STATE_FORMAT {
        return Err(corrupt(format!(
            "format {:?} is not {STATE_FORMAT:?}",
            state.format
        )));
    }
    let mismatch = |reason: String| MonitorError::StateMismatch {
        path: path.to_path_buf(),
        reason,
    };
    if state.verifier_key != verifier.to_text() {
        return Err(mismatch(format!(
            "it was written for the key {}, not --key {}",
            state.verifier_key,
            verifier.to_text()
        )));
    }
    if state.origin != verifier.name() {
        return Err(mismatch(format!(
            "it is for the origin {:?}, not {:?}",
            state.origin,
            verifier.name()
        )));
    }
    let checkpoint = Checkpoint::open(&state.checkpoint, verifier)
        .map_err(|e| corrupt(format!("its checkpoint does not verify with the key: {e}")))?;
    if state.size != checkpoint.size || state.root != checkpoint.root.to_base64() {
        return Err(corrupt(format!(
            "size {} and root {} disagree with its signed checkpoint (size {}, root {})",
            state.size,
            state.root,
            checkpoint.size,
            checkpoint.root.to_base64()
        )));
    }
    Ok(Some((state, checkpoint)))
}

/// The folder a file lives in (`.` for a bare file name).
pub(super) fn folder_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Replaces the state file atomically: a temp file in the same folder, fsynced, renamed
/// over it, then the folder fsynced so the rename itself is durable. A crash leaves the
/// old state or the new one, never a torn file.
///
/// # Errors
/// [`MonitorError::StateWrite`] naming the state file.
pub fn write_state(path: &Path, state: &StateFile) -> Result<(), MonitorError> {
    let failed = |error| MonitorError::StateWrite {
        path: path.to_path_buf(),
        error,
    };
    let folder = folder_of(path);
    let name = path
        .file_name()
        .ok_or_else(|| failed(std::io::Error::other("not a file name")))?;
    let tmp = folder.join(format!(
        ".{}.{}.tmp",
        name.to_string_lossy(),
        std::process::id()
    ));
    let write = || -> std::io::Result<()> {
        let mut file = fs::File::create(&tmp)?;
        file.write_all(&state.to_bytes())?;
        file.sync_all()?;
        drop(file);
        fs::rename(&tmp, path)?;
        #[cfg(unix)]
        fs::File::open(folder)?.sync_all()?;
        Ok(())
    };
    write().map_err(|error| {
        let _ = fs::remove_file(&tmp);
        failed(error)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use pennytrail_log::hash::{Hash, empty_root};
    use pennytrail_log::note::NoteSigner;

    fn signer() -> NoteSigner {
        NoteSigner::from_seed("example.org/log", [3; 32]).unwrap()
    }

    fn state_for(signer: &NoteSigner, size: u64, root: Hash) -> StateFile {
        let cp = Checkpoint {
            origin: "example.org/log".into(),
            size,
            root,
        };
        StateFile::new(signer.verifier(), &cp, &cp.sign(signer).unwrap())
    }

    #[test]
    fn state_round_trip_and_refusals() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let signer = signer();
        let verifier = signer.verifier();
        assert!(read_state(&path, verifier).unwrap().is_none());

        let state = state_for(&signer, 7, pennytrail_log::hash::sha256(b"x"));
        write_state(&path, &state).unwrap();
        let (read, cp) = read_state(&path, verifier).unwrap().unwrap();
        assert_eq!(read, state);
        assert_eq!(cp.size, 7);
        // Only the state file is left: the temp file was renamed over it.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);

        let corrupt = |edit: &dyn Fn(&mut StateFile)| {
            let mut s = state.clone();
            edit(&mut s);
            fs::write(&path, s.to_bytes()).unwrap();
            read_state(&path, verifier).unwrap_err()
        };
        for err in [
            corrupt(&|s| s.size = 8),
            corrupt(&|s| s.root = empty_root().to_base64()),
            corrupt(&|s| s.format = "pennytrail-monitor-state/2".into()),
            corrupt(&|s| s.checkpoint = s.checkpoint.replacen("\n7\n", "\n8\n", 1)),
        ] {
            assert!(matches!(err, MonitorError::StateCorrupt { .. }), "{err}");
            assert!(err.to_string().contains(&path.display().to_string()));
        }
        let other = NoteSigner::from_seed("example.org/log", [4; 32]).unwrap();
        let err = corrupt(&|s| s.verifier_key = other.verifier().to_text());
        assert!(matches!(err, MonitorError::StateMismatch { .. }), "{err}");

        fs::write(&path, b"{\"format\":").unwrap();
        let err = read_state(&path, verifier).unwrap_err();
        assert!(matches!(err, MonitorError::StateCorrupt { .. }), "{err}");
        fs::write(&path, vec![b' '; MAX_STATE_BYTES as usize + 1]).unwrap();
        let err = read_state(&path, verifier).unwrap_err();
        assert!(err.to_string().contains("larger than"), "{err}");
    }
}
