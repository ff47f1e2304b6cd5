//! Secrets on disk: the log's signing key, the record of what that key last signed, and
//! the operator token file. Files holding secrets are created with mode 0600 and never
//! overwritten.

use std::fs::{self, File, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::{FileExt as _, MetadataExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::{Context as _, bail};

use crate::log::hash::Hash;
use crate::log::note::NoteSigner;

/// File name of the log key inside the data directory when `--log-key` is not given.
pub const LOG_KEY_FILE: &str = "log.key";
/// Suffix of the file, beside the key, recording the last size and root it signed.
pub const SIGNED_STATE_SUFFIX: &str = ".signed";
/// File name of the plain operator token, written once on first start.
pub const OPERATOR_TOKEN_FILE: &str = "operator.token";

/// 32 bytes from the operating system's CSPRNG.
pub fn random_bytes() -> anyhow::Result<[u8; 32]> {
    let mut buf = [0u8; 32];
    getrandom::fill(&mut buf).map_err(|e| anyhow::anyhow!("reading OS randomness: {e}"))?;
    Ok(buf)
}

/// Creates `path` with mode 0600 and writes `contents`, failing if it already exists.
pub fn write_secret_file(path: &Path, contents: &str) -> anyhow::Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(contents.as_bytes())
        .and_then(|_| file.sync_all())
        .with_context(|| format!("writing {}", path.display()))?;
    sync_parent(path)
}

fn sync_parent(path: &Path) -> anyhow::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .with_context(|| format!("syncing directory {}", dir.display()))?;
    }
    Ok(())
}

/// Refuses a key file that is not a file, or that other users can read.
pub fn refuse_loose_permissions(path: &Path, what: &str) -> anyhow::Result<()> {
    let meta = fs::metadata(path).with_context(|| format!("reading {what} {}", path.display()))?;
    if !meta.is_file() {
        bail!("{what} {} is not a file", path.display());
    }
    if meta.permissions().mode() & 0o077 != 0 {
        bail!(
            "{what} {} is readable by other users (mode {:o}); run: chmod 600 {}",
            path.display(),
            meta.permissions().mode() & 0o777,
            path.display()
        );
    }
    Ok(())
}

/// Reads a private key file in the note `PRIVATE+KEY+…` format.
pub fn read_signer(path: &Path) -> anyhow::Result<NoteSigner> {
    refuse_loose_permissions(path, "log key")?;
    let text =
        fs::read_to_string(path).with_context(|| format!("reading log key {}", path.display()))?;
    NoteSigner::from_text(text.trim())
        .with_context(|| format!("parsing log key {}", path.display()))
}

/// Generates a new key named `name` and writes it to `path` (mode 0600, never overwriting).
pub fn generate_signer(name: &str, path: &Path) -> anyhow::Result<NoteSigner> {
    let signer = NoteSigner::from_seed(name, random_bytes()?)
        .with_context(|| format!("key name {name:?}"))?;
    write_secret_file(path, &format!("{}\n", signer.to_text()))?;
    Ok(signer)
}

/// The last tree size and root this key signed, kept in a file beside the key and
/// fsynced before the signed checkpoint is acknowledged. A store behind it (a restored
/// backup, a lost commit) or disagreeing with it (a fork) must never be served.
///
/// The file (version 2) is a header line, the origin line, then two fixed-size slots,
/// each `size root checksum` padded with spaces. A record overwrites the slot not holding
/// the newest tree and syncs the file's data: one write and one flush, where replacing
/// the file (a temporary file, fsync, rename, fsync of the directory) took two flushes
/// per batch, which was over a tenth of the server's time under single appends. A write torn by a crash spoils only its own slot (its checksum fails),
/// so the other still holds the tree recorded before. Version 1 (one tree, four lines)
/// is still read; the first record rewrites it as version 2.
#[derive(Debug, Clone)]
pub struct SignedState {
    path: PathBuf,
    /// The open file and the slot to write next, once this process has written it.
    writer: Arc<Mutex<Option<SlotWriter>>>,
}

/// What [`SignedState`] records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignedTree {
    pub size: u64,
    pub root: Hash,
}

const SIGNED_STATE_V1: &str = "pennytrail-signed-state v1";
const SIGNED_STATE_V2: &str = "pennytrail-signed-state v2";

/// Bytes per slot: a size (at most 20 digits), a base64 root (44), a checksum (16 hex
/// digits), two spaces and a newline are 83; the rest is padding.
const SLOT_BYTES: usize = 96;

/// The open version-2 file of this process.
#[derive(Debug)]
struct SlotWriter {
    file: File,
    /// Device and inode of `file`.
    file_id: (u64, u64),
    /// Byte offset of slot 0.
    slots_at: u64,
    next_slot: u64,
}

impl SignedState {
    pub fn beside(key_path: &Path) -> SignedState {
        let mut name = key_path.as_os_str().to_owned();
        name.push(SIGNED_STATE_SUFFIX);
        SignedState {
            path: PathBuf::from(name),
            writer: Arc::new(Mutex::new(None)),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The recorded tree for `origin`, if this key has signed anything for it yet.
    pub fn read(&self, origin: &str) -> anyhow::Result<Option<SignedTree>> {
        let text = match fs::read(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).with_context(|| format!("reading {}", self.path.display())),
        };
        let (file_origin, tree) = parse_signed_state(&text).ok_or_else(|| {
            anyhow::anyhow!(
                "{} is not a pennytrail signed-state file",
                self.path.display()
            )
        })?;
        if file_origin != origin {
            bail!(
                "{} records checkpoints of log {file_origin:?}, not {origin:?}: this key belongs to another log",
                self.path.display()
            );
        }
        Ok(Some(tree))
    }

    /// Durably records `tree`: one slot rewritten and the file's data synced, or, the
    /// first time this process records, the whole file replaced as version 2.
    pub fn record(&self, origin: &str, tree: SignedTree) -> anyhow::Result<()> {
        let mut writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        // Another process (one sharing the key on the same PostgreSQL log) may have
        // replaced the file since: then it is replaced again, not written through a
        // handle to the unlinked one.
        if writer.as_ref().is_some_and(|w| !w.is_at(&self.path)) {
            *writer = None;
        }
        if let Some(w) = writer.as_mut() {
            let at = w.slots_at + w.next_slot * SLOT_BYTES as u64;
            let written = w
                .file
                .write_all_at(&slot_bytes(origin, tree), at)
                .and_then(|()| w.file.sync_data());
            if written.is_ok() {
                w.next_slot = 1 - w.next_slot;
                return Ok(());
            }
            // A failed write leaves that slot unknown: the next record replaces the file.
            *writer = None;
            return written.with_context(|| format!("writing {}", self.path.display()));
        }
        let tmp = self
            .path
            .with_extension(format!("tmp{}", std::process::id()));
        let header = format!("{SIGNED_STATE_V2}\n{origin}\n");
        let slot = slot_bytes(origin, tree);
        let mut body = header.clone().into_bytes();
        body.extend_from_slice(&slot);
        body.extend_from_slice(&slot);
        // The temporary file's handle stays open: after the rename it is the file.
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .with_context(|| format!("writing {}", tmp.display()))?;
        file.write_all(&body)?;
        file.sync_all()?;
        fs::rename(&tmp, &self.path)
            .with_context(|| format!("replacing {}", self.path.display()))?;
        sync_parent(&self.path)?;
        let meta = file
            .metadata()
            .with_context(|| format!("reading {}", self.path.display()))?;
        *writer = Some(SlotWriter {
            file,
            file_id: (meta.dev(), meta.ino()),
            slots_at: header.len() as u64,
            next_slot: 0,
        });
        Ok(())
    }
}

impl SlotWriter {
    /// Whether `path` is still the file this writer has open.
    fn is_at(&self, path: &Path) -> bool {
        fs::metadata(path).is_ok_and(|m| (m.dev(), m.ino()) == self.file_id)
    }
}

/// One slot: the tree and a checksum over the origin and the tree, padded to
/// [`SLOT_BYTES`].
fn slot_bytes(origin: &str, tree: SignedTree) -> Vec<u8> {
    let text = format!("{} {}", tree.size, tree.root.to_base64());
    let mut slot = format!("{text} {}", slot_checksum(origin, &text)).into_bytes();
    slot.resize(SLOT_BYTES - 1, b' ');
    slot.push(b'\n');
    slot
}

fn slot_checksum(origin: &str, text: &str) -> String {
    let mut input = format!("pennytrail signed-state slot\n{origin}\n").into_bytes();
    input.extend_from_slice(text.as_bytes());
    crate::log::hash::sha256(&input).to_hex()[..16].to_string()
}

/// The origin and tree of a version-1 or version-2 file; of version 2's slots, the
/// intact one with the larger size (trees only grow). `None` if it is neither.
fn parse_signed_state(bytes: &[u8]) -> Option<(String, SignedTree)> {
    let text = std::str::from_utf8(bytes).ok()?;
    let (header, rest) = text.split_once('\n')?;
    let (origin, rest) = rest.split_once('\n')?;
    match header {
        SIGNED_STATE_V1 => {
            let lines: Vec<&str> = rest.lines().collect();
            let [size, root] = lines[..] else {
                return None;
            };
            Some((origin.to_string(), parse_tree(size, root)?))
        }
        SIGNED_STATE_V2 => {
            if rest.len() != 2 * SLOT_BYTES {
                return None;
            }
            let (a, b) = rest.split_at(SLOT_BYTES);
            let tree = [a, b]
                .into_iter()
                .filter_map(|slot| parse_slot(origin, slot))
                .max_by_key(|tree| tree.size)?;
            Some((origin.to_string(), tree))
        }
        _ => None,
    }
}

/// A slot's tree, if its checksum holds.
fn parse_slot(origin: &str, slot: &str) -> Option<SignedTree> {
    let fields: Vec<&str> = slot.split_ascii_whitespace().collect();
    let [size, root, checksum] = fields[..] else {
        return None;
    };
    if slot_checksum(origin, &format!("{size} {root}")) != checksum {
        return None;
    }
    parse_tree(size, root)
}

fn parse_tree(size: &str, root: &str) -> Option<SignedTree> {
    Some(SignedTree {
        size: size.parse().ok()?,
        root: Hash::from_base64(root).ok()?,
    })
}

/// File name of the donor-commitment secret inside the data directory.
pub const DONOR_SECRET_FILE: &str = "donor.secret";

/// Reads the 32-byte donor secret (64 hex digits) from `path`, creating it (mode 0600)
/// when `create` is true and it does not exist.
pub fn load_or_create_donor_secret(path: &Path, create: bool) -> anyhow::Result<[u8; 32]> {
    if !path.exists() {
        if !create {
            bail!("donor secret {} does not exist", path.display());
        }
        write_secret_file(path, &format!("{}\n", hex::encode(random_bytes()?)))?;
    }
    let text = fs::read_to_string(path)
        .with_context(|| format!("reading donor secret {}", path.display()))?;
    let bytes = hex::decode(text.trim())
        .ok()
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .with_context(|| {
            format!(
                "{} must hold 64 hex digits (a 32-byte secret)",
                path.display()
            )
        })?;
    Ok(bytes)
}

/// A public fingerprint of the donor secret, stored in the database so that a process
/// started with a different secret is refused instead of silently breaking lookups.
pub fn donor_secret_id(secret: &[u8; 32]) -> String {
    let mut input = b"pennytrail donor secret id\n".to_vec();
    input.extend_from_slice(secret);
    crate::log::hash::sha256(&input).to_hex()[..16].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::hash::sha256;

    const ORIGIN: &str = "example.org/log";

    fn tree(size: u64) -> SignedTree {
        SignedTree {
            size,
            root: sha256(&size.to_be_bytes()),
        }
    }

    #[test]
    fn records_survive_a_torn_slot_and_old_files_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let state = SignedState::beside(&dir.path().join("log.key"));
        assert_eq!(state.read(ORIGIN).unwrap(), None);

        // Version 1, as earlier releases wrote it, is read and then replaced.
        let v1 = format!(
            "{SIGNED_STATE_V1}\n{ORIGIN}\n7\n{}\n",
            tree(7).root.to_base64()
        );
        fs::write(state.path(), v1).unwrap();
        assert_eq!(state.read(ORIGIN).unwrap(), Some(tree(7)));
        for size in 8..=12 {
            state.record(ORIGIN, tree(size)).unwrap();
            assert_eq!(state.read(ORIGIN).unwrap(), Some(tree(size)));
            // Another handle (a restarted process) reads the same.
            let fresh = SignedState::beside(&dir.path().join("log.key"));
            assert_eq!(fresh.read(ORIGIN).unwrap(), Some(tree(size)));
        }
        let bytes = fs::read(state.path()).unwrap();
        assert!(bytes.starts_with(SIGNED_STATE_V2.as_bytes()));
        let slots_at = bytes.len() - 2 * SLOT_BYTES;

        // A crash tore the newest write (size 12): the other slot holds the tree
        // recorded before it (11), and that is what is read.
        let newest = (0..2)
            .find(|i| {
                let slot = &bytes[slots_at + i * SLOT_BYTES..][..SLOT_BYTES];
                slot.starts_with(b"12 ")
            })
            .unwrap();
        let mut torn = bytes.clone();
        torn[slots_at + newest * SLOT_BYTES + 5] ^= 1;
        fs::write(state.path(), &torn).unwrap();
        assert_eq!(state.read(ORIGIN).unwrap(), Some(tree(11)));

        // Both slots spoiled, a wrong length or another origin: refused, not guessed.
        let mut both = torn.clone();
        both[slots_at + (1 - newest) * SLOT_BYTES + 5] ^= 1;
        for bad in [both, bytes[..bytes.len() - 1].to_vec()] {
            fs::write(state.path(), bad).unwrap();
            let error = state.read(ORIGIN).unwrap_err().to_string();
            assert!(
                error.contains("not a pennytrail signed-state file"),
                "{error}"
            );
        }
        fs::write(state.path(), &bytes).unwrap();
        let error = state.read("other.org/log").unwrap_err().to_string();
        assert!(error.contains("belongs to another log"), "{error}");

        // A file replaced behind the writer's back (another process sharing the key) is
        // replaced again on the next record, not written through the old handle.
        state.record(ORIGIN, tree(13)).unwrap();
        let replaced = dir.path().join("replaced");
        fs::write(&replaced, fs::read(state.path()).unwrap()).unwrap();
        fs::rename(&replaced, state.path()).unwrap();
        state.record(ORIGIN, tree(14)).unwrap();
        let fresh = SignedState::beside(&dir.path().join("log.key"));
        assert_eq!(fresh.read(ORIGIN).unwrap(), Some(tree(14)));

        // A slot moved to another origin's file fails its checksum.
        let other = SignedState::beside(&dir.path().join("other.key"));
        other.record("other.org/log", tree(3)).unwrap();
        let mut moved = fs::read(other.path()).unwrap();
        let at = moved.len() - 2 * SLOT_BYTES;
        moved[at..].copy_from_slice(&bytes[slots_at..]);
        fs::write(other.path(), moved).unwrap();
        assert!(other.read("other.org/log").is_err());
    }
}
