//! `pennytrail loadgen`: a load generator for a running service. Many concurrent
//! connections, unique ids, bounded duration; it prints requests/s and latency
//! percentiles, and measures `GET /healthz` under the same generator in the same run so
//! the write rate can be read against what the machine's HTTP stack does at all.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use serde_json::json;

/// What each request does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Workload {
    /// `GET /healthz`: no I/O; the ceiling of the HTTP stack.
    Healthz,
    /// `POST /v1/admin/orgs`, one new org per request (needs the operator token).
    RegisterOrgs,
}

/// Settings of one run.
#[derive(Debug, Clone)]
pub struct LoadConfig {
    pub url: String,
    pub token: Option<String>,
    pub concurrency: usize,
    pub duration: Duration,
    pub workload: Workload,
}

/// Result of one run.
#[derive(Debug, Clone)]
pub struct LoadReport {
    pub workload: Workload,
    pub ok: u64,
    pub errors: u64,
    pub elapsed: Duration,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl LoadReport {
    pub fn rate_per_s(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64()
    }
}

impl std::fmt::Display for LoadReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:?}: {} ok, {} errors in {:.1} s = {:.0}/s; latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            self.workload,
            self.ok,
            self.errors,
            self.elapsed.as_secs_f64(),
            self.rate_per_s(),
            self.p50_ms,
            self.p99_ms,
            self.max_ms
        )
    }
}

/// Runs one workload for the configured duration.
pub async fn run(config: &LoadConfig) -> anyhow::Result<LoadReport> {
    if config.workload != Workload::Healthz && config.token.is_none() {
        bail!("--token is required for {:?}", config.workload);
    }
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(config.concurrency)
        .build()
        .context("building the HTTP client")?;
    client
        .get(format!("{}/healthz", config.url))
        .send()
        .await
        .with_context(|| format!("the service at {} does not answer", config.url))?;
    let run_id = hex::encode(&crate::keys::random_bytes()?[..4]);
    let stop = Arc::new(AtomicBool::new(false));
    let errors = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for worker in 0..config.concurrency {
        let (client, config, stop, errors, run_id) = (
            client.clone(),
            config.clone(),
            stop.clone(),
            errors.clone(),
            run_id.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut latencies_us: Vec<u32> = Vec::new();
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let sent = Instant::now();
                let request = match config.workload {
                    Workload::Healthz => client.get(format!("{}/healthz", config.url)),
                    Workload::RegisterOrgs => {
                        let id = format!("lg{run_id}-{worker}-{n}");
                        client
                            .post(format!("{}/v1/admin/orgs", config.url))
                            .bearer_auth(config.token.as_deref().unwrap_or_default())
                            .json(&json!({"id": id, "name": format!("Load test {id}"), "country": "NL"}))
                    }
                };
                n += 1;
                let ok = match request.send().await {
                    Ok(r) => {
                        let status = r.status();
                        r.bytes().await.is_ok() && status.is_success()
                    }
                    Err(_) => false,
                };
                if ok {
                    latencies_us.push(sent.elapsed().as_micros().min(u32::MAX as u128) as u32);
                } else {
                    errors.fetch_add(1, Ordering::Relaxed);
                }
            }
            latencies_us
        }));
    }
    let ticker = tokio::spawn({
        let stop = stop.clone();
        async move {
            let mut second = 0;
            while !stop.load(Ordering::Relaxed) {
                tokio::time::sleep(Duration::from_secs(1)).await;
                second += 1;
                eprint!("\r  … {second} s");
            }
            eprintln!();
        }
    });
    tokio::time::sleep(config.duration).await;
    stop.store(true, Ordering::Relaxed);
    let mut all: Vec<u32> = Vec::new();
    for t in tasks {
        all.extend(t.await.context("load worker panicked")?);
    }
    let elapsed = started.elapsed();
    ticker.abort();
    all.sort_unstable();
    let pct = |p: f64| -> f64 {
        if all.is_empty() {
            return 0.0;
        }
        let i = ((all.len() as f64 * p).ceil() as usize).clamp(1, all.len()) - 1;
        f64::from(all[i]) / 1000.0
    };
    Ok(LoadReport {
        workload: config.workload,
        ok: all.len() as u64,
        errors: errors.load(Ordering::Relaxed),
        elapsed,
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
        max_ms: all.last().map(|v| f64::from(*v) / 1000.0).unwrap_or(0.0),
    })
}
