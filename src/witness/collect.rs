//! The log's side of witnessing (`pennytrail serve --witness-policy FILE`): a background
//! task that, in rounds, submits the latest checkpoint with a consistency proof to every
//! witness of the policy (C2SP tlog-witness `add-checkpoint`) and stores each
//! cosignature with its checkpoint. Writes never wait for it: a write's receipt carries
//! the log's signature, and the witnessed checkpoint follows within a round or two.
//!
//! Per witness it keeps the size the witness last cosigned (adopting the size a 409
//! names), backs off from a witness that is down, and treats 403, 404 and 422 as alarms
//! (an ERROR line and a metric; the log and the witness disagree about the log), retried
//! only slowly. On PostgreSQL with several processes, one submits at a time: the holder
//! of an advisory lock.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use tokio::task::JoinHandle;

use crate::log::merkle::{consistency_proof, consistency_proof_indexes};
use crate::log::note::NoteVerifier;
use crate::log::policy::{Policy, PolicyWitness};
use crate::metrics::Metrics;
use crate::store::{Store, StoredCheckpoint};

/// Time between rounds: a round submits only to witnesses behind the latest checkpoint,
/// so an idle log costs one read of its latest checkpoint per round, and a busy one at
/// most one submission per witness per round.
pub const ROUND: Duration = Duration::from_millis(100);
/// Back-off from a witness that did not answer, doubled each time it fails again.
pub const FIRST_BACKOFF: Duration = Duration::from_millis(500);
/// Longest back-off from a witness that does not answer.
pub const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// Back-off after an alarm (403, 404, 422): the disagreement needs a person.
pub const ALARM_BACKOFF: Duration = Duration::from_secs(300);
/// Time for one submission.
const SUBMIT_TIMEOUT: Duration = Duration::from_secs(10);
/// Advisory lock key of the PostgreSQL process that submits ("pt-witn").
const SUBMITTER_LOCK: i64 = 0x7074_2d77_6974_6e00;

/// Reads a `--witness-policy` file and checks it fits this log: it lists the log's own
/// key, and every witness has a submission URL.
///
/// # Errors
/// A sentence naming the file and what is wrong.
pub fn read_log_policy(path: &std::path::Path, log: &NoteVerifier) -> anyhow::Result<Policy> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading --witness-policy {}", path.display()))?;
    let policy =
        Policy::parse(&text).with_context(|| format!("--witness-policy {}", path.display()))?;
    if policy.log_with_key(log).is_none() {
        bail!(
            "--witness-policy {}: it does not list this log (add `log {}`)",
            path.display(),
            log.to_text()
        );
    }
    if let Some(witness) = policy.witnesses.iter().find(|w| w.url.is_none()) {
        bail!(
            "--witness-policy {}: witness {} has no URL, so the log cannot ask it to cosign (write `witness {} <vkey> <submission URL>`)",
            path.display(),
            witness.name,
            witness.name
        );
    }
    Ok(policy)
}

/// What the collector knows of one witness.
#[derive(Debug, Default)]
struct WitnessView {
    /// The size it last cosigned, as far as we know (`None` until it tells: the first
    /// submission says `old 0`, and a witness that knows this log answers 409 with its
    /// size, which is adopted).
    size: Option<u64>,
    /// Not before this instant (back-off).
    next_try: Option<Instant>,
    failures_in_a_row: u32,
}

/// Starts the collector; it runs until aborted (the service aborts it as it stops, before
/// closing the store).
pub fn spawn(store: Store, policy: Arc<Policy>, metrics: Arc<Metrics>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let client = match reqwest::Client::builder().timeout(SUBMIT_TIMEOUT).build() {
            Ok(client) => client,
            Err(error) => {
                tracing::error!(%error, "witnessing: cannot build an HTTP client; no cosignatures will be collected");
                return;
            }
        };
        let mut views: BTreeMap<String, WitnessView> = BTreeMap::new();
        let mut submitter: Option<sqlx::PgConnection> = None;
        loop {
            tokio::time::sleep(ROUND).await;
            if !holds_submitter_lock(&store, &mut submitter).await {
                continue;
            }
            let latest = match store.latest_checkpoint().await {
                Ok(latest) => latest,
                Err(error) => {
                    tracing::warn!(%error, "witnessing: cannot read the latest checkpoint");
                    continue;
                }
            };
            let rounds = policy.witnesses.iter().map(|witness| {
                let view = views.remove(&witness.name).unwrap_or_default();
                submit_round(&client, &store, &metrics, witness, view, &latest)
            });
            for (name, view) in futures_util::future::join_all(rounds).await {
                views.insert(name, view);
            }
        }
    })
}

/// On PostgreSQL, whether this process holds the submitter's advisory lock (taking it if
/// free, on a connection taken out of the pool for as long as it holds it, so the lock
/// goes with that connection when the process stops or dies); always on SQLite.
async fn holds_submitter_lock(store: &Store, held: &mut Option<sqlx::PgConnection>) -> bool {
    let Store::Postgres { pool } = store else {
        return true;
    };
    if let Some(connection) = held.as_mut() {
        if sqlx::query("SELECT 1")
            .execute(&mut *connection)
            .await
            .is_ok()
        {
            return true;
        }
        // The connection (and the lock with it) is gone; try to take it again.
        *held = None;
    }
    let Ok(mut connection) = pool.acquire().await else {
        return false;
    };
    let taken: Result<bool, _> = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
        .bind(SUBMITTER_LOCK)
        .fetch_one(&mut *connection)
        .await;
    if taken.unwrap_or(false) {
        *held = Some(connection.detach());
        true
    } else {
        false
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// One witness's turn in a round: submit `latest` unless it has it or is backed off.
async fn submit_round(
    client: &reqwest::Client,
    store: &Store,
    metrics: &Metrics,
    witness: &PolicyWitness,
    mut view: WitnessView,
    latest: &StoredCheckpoint,
) -> (String, WitnessView) {
    let name = witness.name.clone();
    if view.size.is_some_and(|size| size >= latest.size) {
        return (name, view);
    }
    if view.next_try.is_some_and(|t| Instant::now() < t) {
        return (name, view);
    }
    match submit(client, store, witness, view.size.unwrap_or(0), latest).await {
        Ok(Submitted::Cosigned(line)) => {
            let verified = witness
                .key
                .cosigned_at(&format!("{}{line}", latest.note))
                .ok()
                .flatten()
                .is_some();
            if !verified {
                tracing::error!(witness = %name, "witnessing: the witness answered a cosignature that does not verify with its key in the policy");
                metrics.record_witness_failure(&name, "bad-cosignature");
                view.next_try = Some(Instant::now() + ALARM_BACKOFF);
                return (name, view);
            }
            if let Err(error) = store
                .record_cosignature(latest.size, &name, &line, now_ms())
                .await
            {
                tracing::warn!(witness = %name, %error, "witnessing: cannot store a cosignature");
                return (name, view);
            }
            view.size = Some(latest.size);
            view.failures_in_a_row = 0;
            view.next_try = None;
            metrics.set_witness_cosigned(&name, latest.size);
        }
        Ok(Submitted::Conflict(size)) => {
            if size > latest.size {
                tracing::error!(witness = %name, witness_size = size, log_size = latest.size,
                    "witnessing: the witness cosigned a larger size than this log has: it saw another history under this log's key");
                metrics.record_witness_failure(&name, "409-ahead");
                view.next_try = Some(Instant::now() + ALARM_BACKOFF);
            } else {
                // Adopt its size; the next round submits from there.
                view.size = Some(size);
                view.failures_in_a_row = 0;
                metrics.set_witness_cosigned(&name, size);
            }
        }
        Ok(Submitted::Refused(status, detail)) => {
            tracing::error!(witness = %name, status, detail = %detail,
                "witnessing: the witness refused this log's checkpoint; the log and the witness disagree about the log");
            metrics.record_witness_failure(&name, &status.to_string());
            view.next_try = Some(Instant::now() + ALARM_BACKOFF);
        }
        Err(reason) => {
            view.failures_in_a_row = view.failures_in_a_row.saturating_add(1);
            let backoff = (FIRST_BACKOFF * 2u32.saturating_pow(view.failures_in_a_row.min(8) - 1))
                .min(MAX_BACKOFF);
            tracing::warn!(witness = %name, reason = %reason.1, retry_in_ms = backoff.as_millis() as u64,
                "witnessing: cannot reach the witness");
            metrics.record_witness_failure(&name, &reason.0);
            view.next_try = Some(Instant::now() + backoff);
        }
    }
    (name, view)
}

enum Submitted {
    Cosigned(String),
    Conflict(u64),
    Refused(u16, String),
}

/// `POST <url>/add-checkpoint` of `latest` from `old`; Err is (metric label, reason).
async fn submit(
    client: &reqwest::Client,
    store: &Store,
    witness: &PolicyWitness,
    old: u64,
    latest: &StoredCheckpoint,
) -> Result<Submitted, (String, String)> {
    let mut body = format!("old {old}\n");
    if old > 0 && old < latest.size {
        let indexes = consistency_proof_indexes(old, latest.size)
            .map_err(|e| ("proof".to_string(), e.to_string()))?;
        let hashes = store
            .tree_hashes(&indexes)
            .await
            .map_err(|e| ("proof".to_string(), e.to_string()))?;
        for hash in consistency_proof(old, latest.size, &hashes)
            .map_err(|e| ("proof".to_string(), e.to_string()))?
        {
            body.push_str(&hash.to_base64());
            body.push('\n');
        }
    }
    body.push('\n');
    body.push_str(&latest.note);
    let url = format!(
        "{}/add-checkpoint",
        witness
            .url
            .as_deref()
            .unwrap_or_default()
            .trim_end_matches('/')
    );
    let response = client
        .post(&url)
        .body(body)
        .send()
        .await
        .map_err(|e| ("unreachable".to_string(), format!("{url}: {e}")))?;
    let status = response.status().as_u16();
    let text = response
        .text()
        .await
        .map_err(|e| ("unreachable".to_string(), format!("{url}: {e}")))?;
    match status {
        200 => Ok(Submitted::Cosigned(
            text.lines()
                .find(|l| l.starts_with(&format!("\u{2014} {} ", witness.key.name())))
                .map(|l| format!("{l}\n"))
                .unwrap_or(text),
        )),
        409 => text
            .trim_end()
            .parse()
            .map(Submitted::Conflict)
            .map_err(|_| {
                (
                    "409".to_string(),
                    format!("{url}: a 409 without a size: {text:?}"),
                )
            }),
        403 | 404 | 422 => Ok(Submitted::Refused(status, text.chars().take(200).collect())),
        other => Err((other.to_string(), format!("{url} answered HTTP {other}"))),
    }
}
