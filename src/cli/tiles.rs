//! `pennytrail tiles sync`: a static copy of the log's tiles in a folder
//! ([`pennytrail_bundle::static_copy`]), read from a running service (`--url`, its
//! `/log/…`) or straight from the database (`--data-dir`, `--database-url`) with the
//! function that serves `/log/…`, so the copy and the service answer the same bytes.

use std::path::PathBuf;

use anyhow::Context as _;
use pennytrail::export::export_checkpoint;
use pennytrail::log::note::NoteVerifier;
use pennytrail::log::policy::Policy;
use pennytrail::log::tiles::TileId;
use pennytrail::read::tiles::read_tile;
use pennytrail::store::{self, Store};
use pennytrail_bundle::monitor::{Fetch, MonitorError, SERVICE_TILE_PREFIX};
use pennytrail_bundle::static_copy::{SyncReport, sync};
use pennytrail_verify::http::HttpSource;
use pennytrail_verify::outln;
use pennytrail_verify::progress::Progress;

use super::StoreArgs;

#[derive(clap::Args)]
pub struct TilesSyncArgs {
    /// The folder of the copy (created if missing); serve it as the log's tile prefix.
    #[arg(long)]
    out: PathBuf,
    /// Read from a running service at this base URL (https://…, or http:// on this
    /// machine) instead of the database; needs --key.
    #[arg(long, requires = "key")]
    url: Option<String>,
    #[command(flatten)]
    store: StoreArgs,
    /// The log's verifier key, from a source you trust (with --data-dir or
    /// --database-url: checked against the database's key when given).
    #[arg(long)]
    key: Option<String>,
    /// With --data-dir or --database-url: the service's --witness-policy; the copy's
    /// checkpoint is then the latest that meets its quorum, with the cosignatures, as the
    /// witnessed service's /log/checkpoint is.
    #[arg(long, value_name = "FILE", conflicts_with = "url")]
    witness_policy: Option<PathBuf>,
}

/// The log's tiles read from its database, answering the paths `/log/…` answers.
struct StoreTiles {
    store: Store,
    /// The service's witness policy: the checkpoint is then its latest witnessed one.
    witness_policy: Option<Policy>,
    runtime: tokio::runtime::Handle,
    base: String,
}

impl StoreTiles {
    async fn answer(&self, path: &str) -> Result<Vec<u8>, String> {
        if path == "/checkpoint" {
            let checkpoint = export_checkpoint(&self.store, self.witness_policy.as_ref())
                .await
                .map_err(|e| format!("{e:#}"))?;
            return Ok(checkpoint.note.into_bytes());
        }
        let latest = self
            .store
            .latest_checkpoint()
            .await
            .map_err(|e| e.to_string())?;
        let tile = path
            .strip_prefix('/')
            .and_then(|p| TileId::parse(p).ok())
            .ok_or_else(|| format!("{path} is not a tile path"))?;
        if !tile.exists_in(latest.size) {
            return Err(format!("the log does not hold {}", tile.path()));
        }
        read_tile(&self.store, tile)
            .await
            .map_err(|e| e.to_string())
    }
}

impl Fetch for StoreTiles {
    fn base(&self) -> &str {
        &self.base
    }

    fn get(&self, path: &str, limit: usize) -> Result<Vec<u8>, MonitorError> {
        let bytes =
            self.runtime
                .block_on(self.answer(path))
                .map_err(|reason| MonitorError::Http {
                    url: self.url(path),
                    reason,
                })?;
        if bytes.len() > limit {
            return Err(MonitorError::Body {
                url: self.url(path),
                reason: format!("{} bytes, more than {limit}", bytes.len()),
            });
        }
        Ok(bytes)
    }
}

pub async fn sync_command(args: TilesSyncArgs) -> anyhow::Result<()> {
    let TilesSyncArgs {
        out,
        url,
        store,
        key,
        witness_policy,
    } = args;
    let pinned = key
        .as_deref()
        .map(NoteVerifier::from_text)
        .transpose()
        .context("--key")?;
    let report = match url {
        Some(url) => {
            let source = HttpSource::new(&url)?;
            // --key is required with --url (clap).
            let verifier = pinned.context("--url needs --key")?;
            run(source, SERVICE_TILE_PREFIX, out, verifier).await?
        }
        None => {
            let config = store.config();
            let opened = store::open(&config).await.context("opening the database")?;
            let meta = opened
                .log_meta()
                .await?
                .context("the database holds no log yet")?;
            let own = NoteVerifier::from_text(&meta.verifier_key)
                .context("the database's verifier key")?;
            if let Some(pinned) = &pinned
                && pinned.to_text() != own.to_text()
            {
                anyhow::bail!(
                    "--key {} is not this database's log key {}",
                    pinned.to_text(),
                    own.to_text()
                );
            }
            let base = match &config.database_url {
                Some(_) => "database".to_string(),
                None => format!("database in {}", config.data_dir.display()),
            };
            let witness_policy = match &witness_policy {
                Some(path) => Some(super::commands::store_witness_policy(&opened, path).await?),
                None => None,
            };
            let source = StoreTiles {
                store: opened.clone(),
                witness_policy,
                runtime: tokio::runtime::Handle::current(),
                base,
            };
            let report = run(source, "", out, own).await;
            opened.close().await;
            report?
        }
    };
    let SyncReport {
        checkpoint,
        previous,
        written,
        kept,
        bytes_written,
    } = report;
    match previous {
        Some(previous) => outln!(
            "ok: the copy now holds {} entries (it held {previous}): {written} tiles written ({bytes_written} bytes), {kept} kept",
            checkpoint.size
        ),
        None => outln!(
            "ok: the copy holds {} entries: {written} tiles written ({bytes_written} bytes)",
            checkpoint.size
        ),
    }
    Ok(())
}

/// Runs the blocking sync on a thread of its own, with a progress bar.
async fn run(
    source: impl Fetch + Send + 'static,
    prefix: &'static str,
    out: PathBuf,
    verifier: NoteVerifier,
) -> anyhow::Result<SyncReport> {
    tokio::task::spawn_blocking(move || {
        let mut progress = Progress::new("tiles");
        let report = sync(&source, prefix, &out, &verifier, |done, total| {
            progress.update(done, total)
        });
        progress.finish();
        report
    })
    .await
    .context("the sync's thread")?
}
