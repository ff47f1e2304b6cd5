//! Bundles out of the service's store: [`export_store`] writes a whole bundle at the latest
//! checkpoint (`pennytrail export`, `GET /v1/exports/bundle.tar`), [`select`] streams one
//! of its CSVs over a slice of the log (`GET /v1/exports/{file}`), and
//! [`download_bundle`] fetches a running service's bundle (`pennytrail export --url`).
//! What a bundle holds and how it is derived and verified is `pennytrail_bundle`'s.

pub mod select;

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use pennytrail_bundle::derive::Summary;
use pennytrail_bundle::effective::Effective;
use pennytrail_bundle::{BundleWriter, default_name};

use crate::log::note::NoteVerifier;
use crate::log::policy::Policy;
use crate::read::witnessed::latest_witnessed;
use crate::store::{Store, StoreError, StoreResult, StoredCheckpoint};

/// The file name of the whole bundle as one archive (`GET /v1/exports/bundle.tar`).
pub const ARCHIVE_NAME: &str = "bundle.tar";

/// Entries read from the store per page while exporting.
const EXPORT_PAGE: u64 = 1000;

/// The checkpoint an export is cut at: the latest, or with a witness policy the latest
/// that meets its quorum, carrying the cosignatures.
///
/// # Errors
/// A store failure, or no checkpoint meeting the quorum yet.
pub async fn export_checkpoint(
    store: &Store,
    witness_policy: Option<&Policy>,
) -> anyhow::Result<StoredCheckpoint> {
    match witness_policy {
        None => Ok(store.latest_checkpoint().await?),
        Some(policy) => Ok(latest_witnessed(store, policy, 0)
            .await?
            .context("no checkpoint meets the witness policy's quorum yet; retry once the witnesses have cosigned one")?
            .into_stored()),
    }
}

/// Writes a bundle of the store's log at its latest checkpoint (with a witness policy, its
/// latest witnessed checkpoint) into `out` (which must not exist yet, so a bundle is
/// never half-overwritten). Returns the folder and summary.
pub async fn export_store(
    store: &Store,
    witness_policy: Option<&Policy>,
    out: Option<PathBuf>,
    mut progress: impl FnMut(u64, u64),
) -> anyhow::Result<(PathBuf, Summary)> {
    let meta = store.log_meta().await?.context("the store holds no log")?;
    let verifier = NoteVerifier::from_text(&meta.verifier_key)?;
    // The checkpoint first: the bundle holds exactly the entries it covers.
    let checkpoint = export_checkpoint(store, witness_policy).await?;
    let out = out.unwrap_or_else(|| {
        PathBuf::from("exports").join(default_name(&meta.origin, checkpoint.size))
    });
    let effective = corrections_before(store, checkpoint.size).await?;
    let mut bundle = BundleWriter::create(&out, &meta.origin, effective)?;
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
            bundle.push(&bytes)?;
            next += 1;
        }
        progress(next, checkpoint.size);
    }
    bundle.finish(&checkpoint.note, &verifier)
}

/// The corrections among the log's first `size` entries, for the `X_effective` columns
/// of a bundle or a streamed CSV over them.
///
/// # Errors
/// A store failure, or a correction missing from the store.
pub async fn corrections_before(store: &Store, size: u64) -> StoreResult<Effective> {
    let mut effective = Effective::default();
    for seq in store.correction_seqs_before(size).await? {
        let bytes = store.entry(seq).await?.ok_or_else(|| {
            StoreError::Corrupt(format!("correction entry {seq} is missing from the store"))
        })?;
        effective.note_entry(&bytes);
    }
    Ok(effective)
}

/// Largest archive `export --url` accepts (a 10M-entry bundle is about 7 GB).
pub const MAX_DOWNLOAD_BYTES: u64 = 64 * 1024 * 1024 * 1024;

/// Downloads the bundle of a running service (`GET /v1/exports/bundle.tar`) into `out`
/// (default `exports/<name>`), which must not exist yet: streamed to a temporary file,
/// unpacked into a temporary folder (the archive may hold one top folder of bundle
/// files, nothing else), then renamed. Verify it afterwards against a key you trust.
pub async fn download_bundle(
    url: &str,
    out: Option<PathBuf>,
    mut progress: impl FnMut(u64, u64),
) -> anyhow::Result<PathBuf> {
    let url = format!("{}/v1/exports/bundle.tar", url.trim_end_matches('/'));
    let response = reqwest::Client::new()
        .get(&url)
        .send()
        .await
        .with_context(|| format!("GET {url}"))?;
    let status = response.status();
    if !status.is_success() {
        let body = response.text().await.unwrap_or_default();
        bail!("GET {url}: {status}: {body}");
    }
    let total = response.content_length().unwrap_or(0);
    if total > MAX_DOWNLOAD_BYTES {
        bail!("GET {url}: the archive is {total} bytes, more than {MAX_DOWNLOAD_BYTES}");
    }
    let staging = tempfile::Builder::new()
        .prefix(".pennytrail-download-")
        .tempdir_in(
            out.as_ref()
                .and_then(|o| o.parent())
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new(".")),
        )
        .context("creating a temporary folder")?;
    let archive = staging.path().join("bundle.tar");
    let mut file = File::create(&archive)?;
    let mut response = response;
    let mut received = 0u64;
    while let Some(chunk) = response
        .chunk()
        .await
        .with_context(|| format!("GET {url}: the download broke off"))?
    {
        received += chunk.len() as u64;
        if received > MAX_DOWNLOAD_BYTES {
            bail!("GET {url}: more than {MAX_DOWNLOAD_BYTES} bytes");
        }
        file.write_all(&chunk)?;
        progress(received, total.max(received));
    }
    if total > 0 && received != total {
        bail!("GET {url}: {received} of {total} bytes arrived");
    }
    file.sync_all()?;
    drop(file);
    let unpacked = staging.path().join("unpacked");
    fs::create_dir(&unpacked)?;
    let mut tar = tar::Archive::new(File::open(&archive)?);
    for entry in tar.entries().context("reading the archive")? {
        let mut entry = entry.context("reading the archive")?;
        let kind = entry.header().entry_type();
        if !(kind.is_file() || kind.is_dir()) {
            bail!("the archive holds something other than files and folders");
        }
        // unpack_in refuses absolute paths and `..`, so nothing lands outside.
        if !entry
            .unpack_in(&unpacked)
            .context("unpacking the archive")?
        {
            bail!("the archive holds a path outside its folder");
        }
    }
    let mut tops = fs::read_dir(&unpacked)?.collect::<Result<Vec<_>, _>>()?;
    if tops.len() != 1 || !tops[0].file_type()?.is_dir() {
        bail!("the archive must hold exactly one folder");
    }
    let top = tops.remove(0);
    let out = out.unwrap_or_else(|| PathBuf::from("exports").join(top.file_name()));
    if out.exists() {
        bail!(
            "{} already exists; choose another --out or remove it",
            out.display()
        );
    }
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent)?;
    }
    fs::rename(top.path(), &out)
        .with_context(|| format!("moving the bundle to {}", out.display()))?;
    Ok(out)
}
