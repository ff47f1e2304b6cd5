//! `pennytrail witness`: a C2SP tlog-witness (`../shared/standards/c2sp/tlog-witness.md`)
//! that cosigns the checkpoints of the logs its policy lists, each only if it is
//! consistent with every checkpoint it cosigned for that log before. A charity, a
//! watchdog or a newsroom runs one for the others' logs; a receipt carrying a quorum of
//! cosignatures is then the same for everyone.
//!
//! - `POST /add-checkpoint`: the protocol's rules are `pennytrail_log::witness`; the
//!   check and the record of the new checkpoint are one durable transaction
//!   ([`state::WitnessState::check_and_record`]).
//! - `GET /<sha256 hex of origin>/checkpoint`: the latest cosigned checkpoint, with the
//!   log's signature and the cosignature (the spec's monitoring API).
//! - `GET /vkey`: the witness's verifier key (type 0x04).
//!
//! The cosignatures are Ed25519 (`cosignature/v1`), not the ML-DSA-44 the spec prefers:
//! browsers (WebCrypto) and Go check Ed25519 today.

pub mod collect;
pub mod state;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context as _, bail};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path as UrlPath, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::keys::{random_bytes, write_secret_file};
use crate::log::cosignature::Cosigner;
use crate::log::note::{NoteVerifier, split_note};
use crate::log::policy::Policy;
use crate::log::witness::{
    MAX_REQUEST_BYTES, Refusal, SIZE_CONTENT_TYPE, decide, open_checkpoint, origin_of,
    parse_request,
};
use state::{Evidence, WitnessState};

/// File name of the witness's private key in its data directory.
pub const WITNESS_KEY_FILE: &str = "witness.key";

/// Everything `pennytrail witness` is told.
#[derive(Debug, Clone)]
pub struct WitnessConfig {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub database_url: Option<String>,
    /// The witness's name (its key's name), e.g. `witness.example.org/w1`.
    pub name: String,
    /// The tlog-policy file listing the logs it witnesses (`log` lines).
    pub policy: PathBuf,
}

struct Witness {
    cosigner: Cosigner,
    /// Log keys by origin (a log key's name is its origin).
    logs: HashMap<String, NoteVerifier>,
    state: WitnessState,
}

/// A running witness.
pub struct RunningWitness {
    pub addr: SocketAddr,
    pub vkey: String,
    shutdown: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl RunningWitness {
    pub async fn stop(self) -> anyhow::Result<()> {
        let _ = self.shutdown.send(());
        self.task.await.context("witness task panicked")?
    }

    pub async fn wait(self) -> anyhow::Result<()> {
        let _keep_open = self.shutdown;
        self.task.await.context("witness task panicked")?
    }
}

/// Loads the witness key from `<data_dir>/witness.key`, creating it (mode 0600) on first
/// start; refuses a key of another name or another kind (a log key).
fn load_or_create_key(data_dir: &Path, name: &str) -> anyhow::Result<Cosigner> {
    let path = data_dir.join(WITNESS_KEY_FILE);
    if !path.exists() {
        let cosigner = Cosigner::from_seed(name, random_bytes()?)
            .with_context(|| format!("--name {name:?}"))?;
        write_secret_file(&path, &format!("{}\n", cosigner.to_text()))?;
        return Ok(cosigner);
    }
    crate::keys::refuse_loose_permissions(&path, "witness key")?;
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("reading the witness key {}", path.display()))?;
    let cosigner = Cosigner::from_text(text.trim()).with_context(|| {
        format!(
            "{} is not a witness key (a log key cannot be one; give the witness a data directory of its own)",
            path.display()
        )
    })?;
    if cosigner.public().name() != name {
        bail!(
            "{} belongs to the witness {:?}, not --name {name:?}",
            path.display(),
            cosigner.public().name()
        );
    }
    Ok(cosigner)
}

/// The logs a policy file lists, by origin.
fn read_policy(path: &Path) -> anyhow::Result<HashMap<String, NoteVerifier>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading --policy {}", path.display()))?;
    let policy = Policy::parse(&text).with_context(|| format!("--policy {}", path.display()))?;
    if policy.logs.is_empty() {
        bail!(
            "--policy {}: it lists no log to witness (add `log <vkey>` lines)",
            path.display()
        );
    }
    Ok(policy
        .logs
        .into_iter()
        .map(|log| (log.key.name().to_string(), log.key))
        .collect())
}

/// Starts the witness on `config.listen`; returns once it accepts connections.
///
/// # Errors
/// A bad policy, key or data directory, or a database that cannot be opened.
pub async fn start(config: WitnessConfig) -> anyhow::Result<RunningWitness> {
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating {}", config.data_dir.display()))?;
    let logs = read_policy(&config.policy)?;
    let cosigner = load_or_create_key(&config.data_dir, &config.name)?;
    let state = WitnessState::open(&config.data_dir, config.database_url.as_deref()).await?;
    let vkey = cosigner.public().to_text();
    let witness = Arc::new(Witness {
        cosigner,
        logs,
        state: state.clone(),
    });
    let router = Router::new()
        .route("/add-checkpoint", post(add_checkpoint))
        .route(
            "/vkey",
            get(|State(w): State<Arc<Witness>>| async move {
                format!("{}\n", w.cosigner.public().to_text())
            }),
        )
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/{origin_hash}/checkpoint", get(monitored_checkpoint))
        .layer(DefaultBodyLimit::max(MAX_REQUEST_BYTES))
        .with_state(witness);
    let listener = TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("listening on {}", config.listen))?;
    let addr = listener.local_addr()?;
    let (shutdown, shutdown_rx) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async {
                let _ = shutdown_rx.await;
            })
            .await?;
        state.close().await;
        Ok(())
    });
    tracing::info!(%addr, vkey = %vkey, "pennytrail witness is serving");
    Ok(RunningWitness {
        addr,
        vkey,
        shutdown,
        task,
    })
}

fn plain(status: StatusCode, text: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        text,
    )
        .into_response()
}

fn refused(refusal: &Refusal) -> Response {
    let status = StatusCode::from_u16(refusal.status()).unwrap_or(StatusCode::BAD_REQUEST);
    match refusal {
        Refusal::Conflict { cosigned, .. } => (
            status,
            [(header::CONTENT_TYPE, SIZE_CONTENT_TYPE)],
            format!("{cosigned}\n"),
        )
            .into_response(),
        other => plain(status, format!("{other}\n")),
    }
}

fn unavailable(error: &anyhow::Error) -> Response {
    tracing::error!(error = %format!("{error:#}"), "the witness's database failed");
    plain(
        StatusCode::SERVICE_UNAVAILABLE,
        "the witness cannot record checkpoints right now; try again\n".into(),
    )
}

/// `POST /add-checkpoint`.
async fn add_checkpoint(State(witness): State<Arc<Witness>>, body: Bytes) -> Response {
    let Ok(body) = std::str::from_utf8(&body) else {
        return refused(&Refusal::BadRequest("the body is not UTF-8".into()));
    };
    let request = match parse_request(body) {
        Ok(request) => request,
        Err(refusal) => return refused(&refusal),
    };
    let origin = match origin_of(request.note) {
        Ok(origin) => origin.to_string(),
        Err(refusal) => return refused(&refusal),
    };
    let Some(log) = witness.logs.get(&origin) else {
        return refused(&Refusal::UnknownLog(origin));
    };
    let (checkpoint, text) = match open_checkpoint(request.note, log) {
        Ok(opened) => opened,
        Err(refusal) => return refused(&refusal),
    };
    // What the witness keeps and serves: the checkpoint with the log's own signature
    // lines and its cosignature.
    let timestamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let cosignature = witness.cosigner.cosign(text, timestamp);
    let log_lines: String = split_note(request.note)
        .map(|(_, lines)| {
            lines
                .iter()
                .filter(|l| l.name == log.name() && l.key_id == log.key_id())
                .map(|l| crate::log::note::signature_line(l.name, l.key_id, &l.signature))
                .collect()
        })
        .unwrap_or_default();
    let kept = format!("{text}\n{log_lines}{cosignature}");
    let mut fork_at_cosigned_size = false;
    let outcome = witness
        .state
        .check_and_record(&origin, checkpoint.size, &checkpoint.root, |cosigned| {
            fork_at_cosigned_size = cosigned
                .as_ref()
                .is_some_and(|c| c.size == checkpoint.size && c.root != checkpoint.root);
            decide(&request, &checkpoint, cosigned.map(|c| (c.size, c.root))).map(|()| kept)
        })
        .await;
    match outcome {
        Err(error) => unavailable(&error),
        Ok(Ok(_)) => plain(StatusCode::OK, cosignature),
        Ok(Err(refusal)) => {
            if matches!(refusal, Refusal::Inconsistent(_)) || fork_at_cosigned_size {
                tracing::warn!(origin = %origin, size = checkpoint.size, reason = %refusal,
                    "refused a validly signed checkpoint that contradicts what this witness cosigned; kept as evidence");
                let evidence = Evidence {
                    origin: origin.clone(),
                    received_ms: i64::try_from(timestamp).unwrap_or(i64::MAX) * 1000,
                    status: refusal.status(),
                    reason: refusal.to_string(),
                    request: body.to_string(),
                };
                if let Err(error) = witness.state.record_evidence(&evidence).await {
                    return unavailable(&error);
                }
            }
            refused(&refusal)
        }
    }
}

/// `GET /<origin hash>/checkpoint`.
async fn monitored_checkpoint(
    State(witness): State<Arc<Witness>>,
    UrlPath(hash): UrlPath<String>,
) -> Response {
    let well_formed =
        hash.len() == 64 && hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    if !well_formed {
        return plain(
            StatusCode::BAD_REQUEST,
            "the path must be the lowercase hex SHA-256 of a log's origin\n".into(),
        );
    }
    match witness.state.latest(&hash).await {
        Ok(Some(note)) => plain(StatusCode::OK, note),
        Ok(None) => plain(
            StatusCode::NOT_FOUND,
            "this witness has not cosigned a checkpoint of that log\n".into(),
        ),
        Err(error) => unavailable(&error),
    }
}
