//! Secrets on disk: the log's signing key, the record of what that key last signed, and
//! the operator token file. Files holding secrets are created with mode 0600 and never
//! overwritten.

use std::fs::{self, File, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

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

/// Reads a private key file in the note `PRIVATE+KEY+…` format.
pub fn read_signer(path: &Path) -> anyhow::Result<NoteSigner> {
    let meta = fs::metadata(path).with_context(|| format!("reading log key {}", path.display()))?;
    if !meta.is_file() {
        bail!("log key {} is not a file", path.display());
    }
    if meta.permissions().mode() & 0o077 != 0 {
        bail!(
            "log key {} is readable by other users (mode {:o}); run: chmod 600 {}",
            path.display(),
            meta.permissions().mode() & 0o777,
            path.display()
        );
    }
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
#[derive(Debug, Clone)]
pub struct SignedState {
    path: PathBuf,
}

/// What [`SignedState`] records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignedTree {
    pub size: u64,
    pub root: Hash,
}

impl SignedState {
    pub fn beside(key_path: &Path) -> SignedState {
        let mut name = key_path.as_os_str().to_owned();
        name.push(SIGNED_STATE_SUFFIX);
        SignedState {
            path: PathBuf::from(name),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The recorded tree for `origin`, if this key has signed anything for it yet.
    pub fn read(&self, origin: &str) -> anyhow::Result<Option<SignedTree>> {
        let text = match fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).with_context(|| format!("reading {}", self.path.display())),
        };
        let bad = || {
            anyhow::anyhow!(
                "{} is not a pennytrail signed-state file",
                self.path.display()
            )
        };
        let lines: Vec<&str> = text.lines().collect();
        let [header, file_origin, size, root] = lines[..] else {
            return Err(bad());
        };
        if header != "pennytrail-signed-state v1" {
            return Err(bad());
        }
        if file_origin != origin {
            bail!(
                "{} records checkpoints of log {file_origin:?}, not {origin:?}: this key belongs to another log",
                self.path.display()
            );
        }
        Ok(Some(SignedTree {
            size: size.parse().map_err(|_| bad())?,
            root: Hash::from_base64(root).map_err(|_| bad())?,
        }))
    }

    /// Durably records `tree` (write a temporary file, fsync, rename, fsync the directory).
    pub fn record(&self, origin: &str, tree: SignedTree) -> anyhow::Result<()> {
        let tmp = self
            .path
            .with_extension(format!("tmp{}", std::process::id()));
        let body = format!(
            "pennytrail-signed-state v1\n{origin}\n{}\n{}\n",
            tree.size,
            tree.root.to_base64()
        );
        {
            let mut file = OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&tmp)
                .with_context(|| format!("writing {}", tmp.display()))?;
            file.write_all(body.as_bytes())?;
            file.sync_all()?;
        }
        fs::rename(&tmp, &self.path)
            .with_context(|| format!("replacing {}", self.path.display()))?;
        sync_parent(&self.path)
    }
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
