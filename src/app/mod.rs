//! Starting the service: open the store, load or create the key, check that the key, the
//! store and the record of what the key signed all agree, then serve. Tests call
//! [`start`] too (with port 0), so they run exactly what `pennytrail serve` runs.

use std::net::SocketAddr;
use std::os::unix::fs::DirBuilderExt as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context as _, bail};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::api;
use crate::keys::{self, LOG_KEY_FILE, OPERATOR_TOKEN_FILE, SignedState, SignedTree};
use crate::log::checkpoint::{Checkpoint, is_valid_origin};
use crate::log::entry;
use crate::log::hash::{empty_root, leaf_hash};
use crate::log::merkle::{Frontier, stored_hash_index};
use crate::log::note::NoteSigner;
use crate::metrics::Metrics;
use crate::sequencer;
use crate::store::{self, LogMeta, Store, StoreConfig, StoredCheckpoint};

mod routes;
mod state;

pub use routes::router;
pub use state::{AppState, LogIdentity};

/// Origin of a new log when `--origin` is not given.
pub const DEFAULT_ORIGIN: &str = "localhost/pennytrail";

/// Says which origin a new log was created with: it names every checkpoint and receipt
/// and can never change, so a defaulted one is said loudly, with how to choose another.
fn announce_new_log(origin: &str, defaulted: bool) {
    if defaulted {
        tracing::warn!(
            %origin,
            "created a new log named {origin:?}, the default because no --origin was given; \
             a log's origin can never change: for a log others will read, stop now, remove \
             the new data and start again with --origin <public host>/log"
        );
    } else {
        tracing::info!(%origin, "created a new log named {origin:?}");
    }
}

/// Everything `pennytrail serve` is told.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub listen: SocketAddr,
    pub store: StoreConfig,
    pub origin: Option<String>,
    pub log_key: Option<PathBuf>,
    /// The donor-commitment secret (default: `<data-dir>/donor.secret`, created on first start).
    pub donor_secret: Option<PathBuf>,
    /// Writes per org token and second ([`crate::limits::DEFAULT_ORG_WRITES_PER_SECOND`]).
    pub org_writes_per_second: u32,
    /// Longest a request may take before it is answered 408
    /// ([`api::DEFAULT_REQUEST_TIMEOUT`]).
    pub request_timeout: std::time::Duration,
    /// How long the service keeps answering reads, with `/readyz` at 503, after its
    /// writer stopped, before it stops ([`WRITER_LOSS_DRAIN`]).
    pub writer_loss_drain: std::time::Duration,
    /// Faults to inject into the writer (tests only; `pennytrail serve` sets none).
    pub faults: sequencer::Faults,
    /// Reverse proxies whose `X-Forwarded-For` names the client (`--trusted-proxy`).
    pub trusted_proxies: Vec<crate::limits::IpNetwork>,
    /// Byte bound of the cache of served tiles (`--tile-cache-mb`).
    pub tile_cache_bytes: u64,
    /// The tlog-policy of the witnesses this log asks for cosignatures (`--witness-policy`).
    pub witness_policy: Option<PathBuf>,
}

/// How long a service whose writer stopped goes on answering reads (and `/readyz` with
/// 503) before it stops with an error: long enough for a load balancer polling
/// `/readyz` every few seconds to take it out first, short enough that a supervisor
/// restarts it within seconds.
pub const WRITER_LOSS_DRAIN: std::time::Duration = std::time::Duration::from_secs(5);

/// A running service.
pub struct RunningApp {
    pub addr: SocketAddr,
    pub origin: String,
    pub verifier_key: String,
    shutdown: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl RunningApp {
    /// Stops accepting requests, finishes in-flight ones and their batches, then returns.
    pub async fn stop(self) -> anyhow::Result<()> {
        let _ = self.shutdown.send(());
        self.task.await.context("server task panicked")?
    }

    /// Waits until the server ends on its own (a signal).
    pub async fn wait(self) -> anyhow::Result<()> {
        let _keep_open = self.shutdown;
        self.task.await.context("server task panicked")?
    }
}

/// A verified, opened log: store, key and identity all agree.
pub struct OpenedLog {
    pub store: Store,
    pub signer: Arc<NoteSigner>,
    pub signed_state: SignedState,
    pub origin: String,
}

fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    if dir.exists() && !dir.is_dir() {
        bail!("data directory {} is not a directory", dir.display());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("creating data directory {}", dir.display()))
}

/// Opens the store and the key and refuses to go on if they do not belong together.
pub async fn open_log(config: &ServeConfig) -> anyhow::Result<OpenedLog> {
    create_private_dir(&config.store.data_dir)?;
    if let Some(origin) = &config.origin
        && !is_valid_origin(origin)
    {
        bail!(
            "--origin {origin:?} is not a valid origin: use 1-128 characters of A-Z a-z 0-9 . _ / : -"
        );
    }
    let store = store::open(&config.store)
        .await
        .context("opening the database")?;
    let meta = store.log_meta().await.context("reading the log identity")?;

    let key_path = config
        .log_key
        .clone()
        .unwrap_or_else(|| config.store.data_dir.join(LOG_KEY_FILE));
    let existing_signer = if key_path.exists() {
        Some(keys::read_signer(&key_path)?)
    } else if config.log_key.is_some() {
        bail!(
            "--log-key {} does not exist; create one with `pennytrail keygen`",
            key_path.display()
        );
    } else {
        None
    };

    let origin = match (&config.origin, &meta, &existing_signer) {
        (Some(o), _, _) => o.clone(),
        (None, Some(m), _) => m.origin.clone(),
        (None, None, Some(s)) => s.verifier().name().to_string(),
        (None, None, None) => DEFAULT_ORIGIN.to_string(),
    };
    if let Some(m) = &meta
        && m.origin != origin
    {
        bail!(
            "this database holds the log {:?}, not {origin:?}: refusing to start (check --origin or --database-url)",
            m.origin
        );
    }
    let signer = match existing_signer {
        Some(s) => s,
        None if meta.is_some() => bail!(
            "the database already holds the log {origin:?} but its key {} is missing; restore the key file or point --log-key at it",
            key_path.display()
        ),
        None => {
            let s = keys::generate_signer(&origin, &key_path)?;
            tracing::info!(path = %key_path.display(), verifier_key = %s.verifier().to_text(), "created a new log key");
            s
        }
    };
    if signer.verifier().name() != origin {
        bail!(
            "the log key {} is named {:?} but the log's origin is {origin:?}; a log's key name must equal its origin",
            key_path.display(),
            signer.verifier().name()
        );
    }
    let verifier_key = signer.verifier().to_text();
    match &meta {
        Some(m) if m.verifier_key != verifier_key => bail!(
            "the database's log {origin:?} is signed by {} but the key {} is {verifier_key}: refusing to start with the wrong key",
            m.verifier_key,
            key_path.display()
        ),
        Some(_) => {}
        None => {
            let genesis = Checkpoint {
                origin: origin.clone(),
                size: 0,
                root: empty_root(),
            };
            let note = genesis.sign(&signer)?;
            let stored = StoredCheckpoint {
                size: 0,
                root: genesis.root,
                note,
            };
            let log_meta = LogMeta {
                origin: origin.clone(),
                verifier_key: verifier_key.clone(),
            };
            store
                .create_log(&log_meta, &stored, sequencer::now())
                .await
                .context("creating the log")?;
            // Another process may have created it first; whatever is there must match.
            let now_meta = store
                .log_meta()
                .await?
                .context("log identity missing after creation")?;
            if now_meta != log_meta {
                bail!("another process created this log with a different identity: {now_meta:?}");
            }
            announce_new_log(&origin, config.origin.is_none());
        }
    }

    let signed_state = SignedState::beside(&key_path);
    check_store_against_key(&store, &signed_state, &origin).await?;
    Ok(OpenedLog {
        store,
        signer: Arc::new(signer),
        signed_state,
        origin,
    })
}

/// Refuses a store that is behind, or disagrees with, what this key has signed, and a
/// store whose head does not match its own tree and latest checkpoint.
async fn check_store_against_key(
    store: &Store,
    signed_state: &SignedState,
    origin: &str,
) -> anyhow::Result<()> {
    let head = store.head().await?;
    let frontier = Frontier::from_stored(
        head.size,
        &store.tree_hashes(&Frontier::indexes(head.size)).await?,
    )?;
    let latest = store.latest_checkpoint().await?;
    if latest.size != head.size || latest.root != frontier.root() {
        bail!(
            "the store is inconsistent: head size {} but latest checkpoint size {}; run `pennytrail check`",
            head.size,
            latest.size
        );
    }
    if head.size > 0 {
        let seq = head.size - 1;
        let bytes = store
            .entry(seq)
            .await?
            .with_context(|| format!("entry {seq} is missing"))?;
        entry::parse(&bytes).with_context(|| format!("entry {seq} does not parse"))?;
        let stored_leaf = store.tree_hashes(&[stored_hash_index(0, seq)]).await?[0];
        if leaf_hash(&bytes) != stored_leaf || stored_leaf != head.leaf_hash {
            bail!("entry {seq}'s bytes do not match its stored leaf hash; run `pennytrail check`");
        }
    }
    match signed_state.read(origin)? {
        Some(signed) if signed.size > head.size => bail!(
            "the store holds {} entries but this key already signed a checkpoint of size {} ({}): \
             the database is behind (a restored backup or a lost commit). Refusing to start, \
             since signing again would fork the log.",
            head.size,
            signed.size,
            signed_state.path().display()
        ),
        Some(signed) => {
            let root = Frontier::from_stored(
                signed.size,
                &store.tree_hashes(&Frontier::indexes(signed.size)).await?,
            )?
            .root();
            if root != signed.root {
                bail!(
                    "the store's tree of size {} has root {} but this key signed root {} at that size: \
                     the store forks the log. Refusing to start.",
                    signed.size,
                    root.to_base64(),
                    signed.root.to_base64()
                );
            }
            if signed.size < head.size {
                signed_state.record(
                    origin,
                    SignedTree {
                        size: head.size,
                        root: latest.root,
                    },
                )?;
            }
        }
        None => signed_state.record(
            origin,
            SignedTree {
                size: head.size,
                root: latest.root,
            },
        )?,
    }
    Ok(())
}

/// Creates the operator token on first start: its hash goes to the database and the plain
/// token to `<data-dir>/operator.token` (mode 0600), once.
async fn ensure_operator_token(store: &Store, data_dir: &Path) -> anyhow::Result<()> {
    if store.operator_token_hash().await?.is_some() {
        return Ok(());
    }
    let (token, hash) = api::auth::new_token(api::auth::OPERATOR_TOKEN_PREFIX)?;
    let path = data_dir.join(OPERATOR_TOKEN_FILE);
    let staged = data_dir.join(format!("{OPERATOR_TOKEN_FILE}.new"));
    let _ = std::fs::remove_file(&staged);
    keys::write_secret_file(&staged, &format!("{token}\n"))?;
    if store.create_operator_token(&hash, sequencer::now()).await? {
        // A token file left from an earlier, deleted database no longer works: replace it.
        std::fs::rename(&staged, &path).with_context(|| format!("writing {}", path.display()))?;
        tracing::info!(path = %path.display(), "created the operator token");
    } else {
        std::fs::remove_file(&staged).ok();
    }
    Ok(())
}

/// Loads (or creates) the donor secret and checks it is the one this database was used
/// with: a different secret would silently break every lookup by donor reference.
async fn load_donor_secret(store: &Store, config: &ServeConfig) -> anyhow::Result<[u8; 32]> {
    let path = config
        .donor_secret
        .clone()
        .unwrap_or_else(|| config.store.data_dir.join(keys::DONOR_SECRET_FILE));
    let secret = keys::load_or_create_donor_secret(&path, config.donor_secret.is_none())?;
    let id = keys::donor_secret_id(&secret);
    let stored = store.setting_or_insert("donor_secret_id", &id).await?;
    if stored != id {
        bail!(
            "the donor secret {} (id {id}) is not the one this database uses (id {stored}); \
             every process sharing a database needs the same --donor-secret file",
            path.display()
        );
    }
    Ok(secret)
}

/// Starts the service on `config.listen` and returns once it accepts connections.
pub async fn start(config: ServeConfig) -> anyhow::Result<RunningApp> {
    let opened = open_log(&config).await?;
    ensure_operator_token(&opened.store, &config.store.data_dir).await?;
    let donor_secret = load_donor_secret(&opened.store, &config).await?;
    let metrics = Arc::new(Metrics::new());
    let witness_policy = match &config.witness_policy {
        Some(path) => Some(Arc::new(crate::witness::collect::read_log_policy(
            path,
            opened.signer.verifier(),
        )?)),
        None => None,
    };
    let (sequencer, sequencer_task) = sequencer::start(
        opened.store.clone(),
        opened.signer.clone(),
        opened.signed_state.clone(),
        metrics.clone(),
        config.faults,
    )
    .await?;
    let writer = sequencer.health();
    let identity = Arc::new(LogIdentity {
        origin: opened.origin.clone(),
        verifier_key: opened.signer.verifier().to_text(),
    });
    let state = AppState {
        store: opened.store.clone(),
        sequencer,
        log: identity.clone(),
        donor_secret: Arc::new(donor_secret),
        donor_lookups: Arc::new(crate::limits::RateLimiter::new(
            crate::limits::DONOR_LOOKUPS_PER_MINUTE,
            std::time::Duration::from_secs(60),
        )),
        org_writes: Arc::new(crate::limits::RateLimiter::new(
            config.org_writes_per_second.max(1),
            std::time::Duration::from_secs(1),
        )),
        acknowledgements: Arc::new(crate::limits::RateLimiter::new(
            crate::limits::ACKNOWLEDGEMENTS_PER_MINUTE,
            std::time::Duration::from_secs(60),
        )),
        exports: Arc::new(
            api::exports::Exports::new().context("creating a folder for export archives")?,
        ),
        metrics,
        tokens: Arc::new(api::auth::TokenCache::default()),
        trusted_proxies: config.trusted_proxies.clone().into(),
        figures: Arc::default(),
        tiles: Arc::new(crate::read::tiles::TileCache::new(config.tile_cache_bytes)),
        witness_policy: witness_policy.clone(),
    };
    if let Some(policy) = witness_policy {
        crate::witness::collect::spawn(opened.store.clone(), policy, state.metrics.clone());
    }
    let router = router(state, config.request_timeout);
    let listener = TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("listening on {}", config.listen))?;
    let addr = listener.local_addr()?;
    let (shutdown, shutdown_rx) = oneshot::channel::<()>();
    let store = opened.store;
    let drain = config.writer_loss_drain;
    let task = tokio::spawn(async move {
        let lost = writer.clone();
        let signal = async move {
            tokio::select! {
                _ = shutdown_rx => {}
                _ = termination_signal() => {}
                reason = lost.until_stopped() => {
                    // Reads still work: serve them (with /readyz at 503) while a load
                    // balancer takes this process out, then stop for a restart.
                    tracing::error!(error = %reason, drain_s = drain.as_secs_f64(), "stopping after the drain period so that a supervisor restarts the service with its state reloaded from the store");
                    tokio::time::sleep(drain).await;
                }
            }
            tracing::info!("shutting down: finishing in-flight requests");
        };
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(signal)
        .await?;
        // The router (and every sequencer handle in it) is gone: the queue drains.
        sequencer_task.await.context("sequencer panicked")?;
        store.close().await;
        if let Some(reason) = writer.stopped() {
            bail!("{reason}; stopped so that a supervisor restarts the service");
        }
        tracing::info!("stopped");
        Ok(())
    });
    tracing::info!(%addr, origin = %identity.origin, verifier_key = %identity.verifier_key, "pennytrail is serving");
    Ok(RunningApp {
        addr,
        origin: identity.origin.clone(),
        verifier_key: identity.verifier_key.clone(),
        shutdown,
        task,
    })
}

async fn termination_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => return std::future::pending().await,
    };
    tokio::select! {
        _ = ctrl_c => {}
        _ = term.recv() => {}
    }
}
