//! `pennytrail loadgen`: a load generator for a running service. Many concurrent
//! connections, unique ids, bounded duration; it prints requests/s and latency
//! percentiles. Write workloads are followed by `GET /healthz` under the same generator
//! in the same run, so rates can be read against what the HTTP stack does at all.
//!
//! Setup goes through the public API with the operator token: a fresh org (its id
//! carries a random run id), beneficiaries and a campaign.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use serde_json::{Value, json};

use crate::metrics::AppendStage;

mod setup;
use setup::{Target, setup};

/// What each request does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Workload {
    /// `GET /healthz`: no I/O; the ceiling of the HTTP stack.
    Healthz,
    /// `POST /v1/admin/orgs`, one new org per request.
    RegisterOrgs,
    /// `POST …/donations`, one donation per request.
    Donations,
    /// `POST …/donations/batch`, `--batch-size` donations per request (sequential ids).
    DonationBatches,
    /// `POST …/disbursements/batch`, `--batch-size` payouts of 1 cent each to people
    /// picked at random among `--people`, from a campaign with caps (`--capped`) or none.
    PayoutBatches,
    /// `GET /v1/entries/{seq}/proof` for random entries of the log.
    Proofs,
    /// `GET /log/tile/0/{N}` for random full level-0 tiles of the log (C2SP tlog-tiles).
    Tiles,
    /// `GET …/donations/{id}/trace` for random donations of a campaign preloaded with
    /// `--preload` donations and disbursements spread over its line.
    Traces,
    /// `POST <--witness>/add-checkpoint` of the service's latest checkpoint, which the
    /// witness (one that witnesses this log) cosigns again each time: its answer rate.
    AddCheckpoint,
}

/// Settings of one run.
#[derive(Debug, Clone)]
pub struct LoadConfig {
    pub url: String,
    pub operator_token: String,
    pub concurrency: usize,
    pub duration: Duration,
    pub workload: Workload,
    pub batch_size: usize,
    pub preload: usize,
    /// Stop early once this many items were written or read (for filling a log).
    pub max_items: Option<u64>,
    /// The witness the add-checkpoint workload submits to (its submission prefix).
    pub witness: Option<String>,
    /// People the payout-batches workload pays.
    pub people: usize,
    /// Whether the payout-batches campaign publishes caps.
    pub capped: bool,
}

/// Runs longer than this print a progress line every [`PROGRESS_EVERY`].
const PROGRESS_AFTER: Duration = Duration::from_secs(30);
const PROGRESS_EVERY: Duration = Duration::from_secs(10);

/// Result of one run.
#[derive(Debug, Clone)]
pub struct LoadReport {
    pub workload: Workload,
    /// Successful requests.
    pub ok: u64,
    /// Items written or read by them (donations for batches; requests otherwise).
    pub items: u64,
    pub errors: u64,
    pub elapsed: Duration,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// How the whole machine's CPU time was spent during the run (Linux only): a write
    /// run that leaves CPU idle is waiting (on commits), and steal is time the host took.
    pub cpu: Option<CpuShare>,
    /// Where the server's time per write went during the run (write workloads, read from
    /// the server's `/metrics`).
    pub stages: Option<StageMeans>,
}

impl LoadReport {
    pub fn rate_per_s(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64()
    }

    pub fn items_per_s(&self) -> f64 {
        self.items as f64 / self.elapsed.as_secs_f64()
    }
}

impl std::fmt::Display for LoadReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:?}: {} ok ({} items), {} errors in {:.1} s = {:.0} requests/s, {:.0} items/s; \
             latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            self.workload,
            self.ok,
            self.items,
            self.errors,
            self.elapsed.as_secs_f64(),
            self.rate_per_s(),
            self.items_per_s(),
            self.p50_ms,
            self.p99_ms,
            self.max_ms
        )?;
        if let Some(cpu) = &self.cpu {
            write!(f, "; machine CPU {cpu}")?;
        }
        if let Some(stages) = &self.stages {
            write!(f, "; server time per write: {stages}")?;
        }
        Ok(())
    }
}

/// The machine's CPU time since boot, in clock ticks, from the first line of
/// `/proc/stat` (`cpu user nice system idle iowait irq softirq steal …`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuTimes {
    busy: u64,
    idle: u64,
    iowait: u64,
    steal: u64,
}

impl CpuTimes {
    /// Reads `/proc/stat`; `None` where there is none (not Linux) or it is not understood.
    pub fn now() -> Option<CpuTimes> {
        Self::parse(&std::fs::read_to_string("/proc/stat").ok()?)
    }

    fn parse(stat: &str) -> Option<CpuTimes> {
        let mut fields = stat.lines().next()?.split_ascii_whitespace();
        if fields.next()? != "cpu" {
            return None;
        }
        let ticks: Vec<u64> = fields
            .take(8)
            .map(|f| f.parse().ok())
            .collect::<Option<_>>()?;
        let [user, nice, system, idle, iowait, irq, softirq, steal] = ticks[..] else {
            return None;
        };
        Some(CpuTimes {
            busy: user + nice + system + irq + softirq,
            idle,
            iowait,
            steal,
        })
    }

    /// How the time from `earlier` to `self` was spent; `None` if no tick passed.
    pub fn share_since(&self, earlier: &CpuTimes) -> Option<CpuShare> {
        let busy = self.busy.checked_sub(earlier.busy)?;
        let idle = self.idle.checked_sub(earlier.idle)?;
        let iowait = self.iowait.checked_sub(earlier.iowait)?;
        let steal = self.steal.checked_sub(earlier.steal)?;
        let total = busy + idle + iowait + steal;
        let percent = |part: u64| (part as f64 * 100.0 / total as f64).round() as u8;
        (total > 0).then(|| CpuShare {
            busy: percent(busy),
            idle: percent(idle),
            iowait: percent(iowait),
            steal: percent(steal),
        })
    }
}

/// Percentages of the machine's CPU time (all cores, every process) during a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuShare {
    pub busy: u8,
    pub idle: u8,
    pub iowait: u8,
    pub steal: u8,
}

impl std::fmt::Display for CpuShare {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}% busy, {}% idle, {}% I/O wait, {}% stolen by the host",
            self.busy, self.idle, self.iowait, self.steal
        )
    }
}

/// The server's `pennytrail_append_stage_seconds` sums and counts, per stage in
/// [`AppendStage::ALL`] order: (microseconds, jobs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StageTotals([(u64, u64); 4]);

impl StageTotals {
    /// Reads them from a running server; `None` if it has no such metrics.
    async fn fetch(client: &reqwest::Client, url: &str) -> Option<StageTotals> {
        let response = client.get(format!("{url}/metrics")).send().await.ok()?;
        if !response.status().is_success() {
            return None;
        }
        Self::parse(&response.text().await.ok()?)
    }

    fn parse(metrics: &str) -> Option<StageTotals> {
        let mut totals = [(0, 0); 4];
        for (stage, (sum_us, count)) in AppendStage::ALL.iter().zip(&mut totals) {
            let series = |kind: &str| {
                let prefix = format!(
                    "pennytrail_append_stage_seconds_{kind}{{stage=\"{}\"}} ",
                    stage.label()
                );
                metrics
                    .lines()
                    .find_map(|l| l.strip_prefix(prefix.as_str()))
            };
            let (whole, fraction) = series("sum")?.split_once('.')?;
            if fraction.len() != 6 {
                return None;
            }
            *sum_us = whole
                .parse::<u64>()
                .ok()?
                .checked_mul(1_000_000)?
                .checked_add(fraction.parse().ok()?)?;
            *count = series("count")?.parse().ok()?;
        }
        Some(StageTotals(totals))
    }

    /// The mean time per job in each stage from `earlier` to `self`; `None` if no job
    /// passed a stage (or the server restarted in between).
    fn means_since(&self, earlier: &StageTotals) -> Option<StageMeans> {
        let mut means = [0; 4];
        for ((mean, now), then) in means.iter_mut().zip(&self.0).zip(&earlier.0) {
            let sum_us = now.0.checked_sub(then.0)?;
            let count = now.1.checked_sub(then.1)?;
            *mean = sum_us.checked_div(count)?;
        }
        Some(StageMeans(means))
    }
}

/// The mean microseconds a write spent in each stage, in [`AppendStage::ALL`] order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StageMeans(pub [u64; 4]);

impl std::fmt::Display for StageMeans {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, (stage, mean_us)) in AppendStage::ALL.iter().zip(self.0).enumerate() {
            let sep = if i == 0 { "" } else { ", " };
            write!(
                f,
                "{sep}{} {}.{:02} ms",
                stage.label(),
                mean_us / 1000,
                mean_us % 1000 / 10
            )?;
        }
        Ok(())
    }
}

/// Runs one workload for the configured duration.
pub async fn run(config: &LoadConfig) -> anyhow::Result<LoadReport> {
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
    let target = Arc::new(if config.workload == Workload::Healthz {
        Target::default()
    } else {
        setup(&client, config, &run_id).await?
    });
    if config.workload == Workload::Traces && target.preloaded == 0 {
        bail!("--preload must be at least 1 for the traces workload");
    }
    let writes = matches!(
        config.workload,
        Workload::RegisterOrgs
            | Workload::Donations
            | Workload::DonationBatches
            | Workload::PayoutBatches
    );
    let stages_at_start = if writes {
        StageTotals::fetch(&client, &config.url).await
    } else {
        None
    };
    let stop = Arc::new(AtomicBool::new(false));
    let errors = Arc::new(AtomicU64::new(0));
    let items_done = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let cpu_at_start = CpuTimes::now();
    let mut tasks = Vec::new();
    for worker in 0..config.concurrency {
        let (client, config, stop, errors, run_id, target, items_done) = (
            client.clone(),
            config.clone(),
            stop.clone(),
            errors.clone(),
            run_id.clone(),
            target.clone(),
            items_done.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut latencies_us: Vec<u32> = Vec::new();
            let mut items = 0u64;
            let mut n = 0u64;
            let mut rng = (worker as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            let mut random = move |below: u64| {
                rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                (rng >> 33) % below.max(1)
            };
            let base = format!("{}/v1/orgs/{}", config.url, target.org);
            while !stop.load(Ordering::Relaxed) {
                let sent = Instant::now();
                let (request, count) = match config.workload {
                    Workload::Healthz => (client.get(format!("{}/healthz", config.url)), 1),
                    Workload::RegisterOrgs => {
                        let id = format!("lg{run_id}-{worker}-{n}");
                        (client.post(format!("{}/v1/admin/orgs", config.url)).bearer_auth(&config.operator_token)
                            .json(&json!({"id": id, "name": format!("Load test {id}"), "country": "NL"})), 1)
                    }
                    Workload::Donations => (
                        client.post(format!("{base}/donations")).bearer_auth(&target.org_token).json(&json!({
                            "id": format!("d-{worker}-{n}"), "campaign": target.campaign,
                            "amount": 10, "fee": 1, "channel": "card"})),
                        1,
                    ),
                    Workload::DonationBatches => {
                        let items: Vec<Value> = (0..config.batch_size)
                            .map(|i| json!({"id": format!("b-{worker}-{n}-{i}"), "campaign": target.campaign,
                                "amount": 10, "fee": 1, "channel": "card"}))
                            .collect();
                        (client.post(format!("{base}/donations/batch")).bearer_auth(&target.org_token)
                            .json(&json!({"donations": items})), config.batch_size as u64)
                    }
                    Workload::PayoutBatches => {
                        let items: Vec<Value> = (0..config.batch_size)
                            .map(|i| json!({"id": format!("x-{worker}-{n}-{i}"), "campaign": target.campaign,
                                "beneficiary": format!("person-{}", random(target.people as u64)),
                                "amount": 1, "purpose": "Reward"}))
                            .collect();
                        (client.post(format!("{base}/disbursements/batch")).bearer_auth(&target.org_token)
                            .json(&json!({"disbursements": items})), config.batch_size as u64)
                    }
                    Workload::Proofs => (
                        client.get(format!("{}/v1/entries/{}/proof", config.url, random(target.log_size))),
                        1,
                    ),
                    Workload::Tiles => {
                        let tile = pennytrail_log::tiles::TileId::full(
                            pennytrail_log::tiles::TileKind::Hashes { level: 0 },
                            random(target.log_size / pennytrail_log::tiles::TILE_WIDTH),
                        );
                        (client.get(format!("{}/log/{}", config.url, tile.path())), 1)
                    }
                    Workload::Traces => (
                        client.get(format!("{base}/donations/pre-{}/trace", random(target.preloaded as u64))),
                        1,
                    ),
                    Workload::AddCheckpoint => (
                        client
                            .post(format!("{}/add-checkpoint", config.witness.as_deref().unwrap_or_default()))
                            .body(target.submission.clone()),
                        1,
                    ),
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
                    items += count;
                    let total = items_done.fetch_add(count, Ordering::Relaxed) + count;
                    if config.max_items.is_some_and(|max| total >= max) {
                        stop.store(true, Ordering::Relaxed);
                    }
                } else {
                    errors.fetch_add(1, Ordering::Relaxed);
                }
            }
            (latencies_us, items)
        }));
    }
    let deadline = started + config.duration;
    let mut next_progress = started + PROGRESS_EVERY;
    while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
        let step = deadline
            .saturating_duration_since(Instant::now())
            .min(Duration::from_millis(100));
        tokio::time::sleep(step).await;
        if config.duration > PROGRESS_AFTER && Instant::now() >= next_progress {
            next_progress += PROGRESS_EVERY;
            eprintln!(
                "  {:?}: {} items after {} s",
                config.workload,
                items_done.load(Ordering::Relaxed),
                started.elapsed().as_secs()
            );
        }
    }
    stop.store(true, Ordering::Relaxed);
    let cpu = cpu_at_start
        .zip(CpuTimes::now())
        .and_then(|(start, end)| end.share_since(&start));
    let mut all: Vec<u32> = Vec::new();
    let mut items = 0;
    for t in tasks {
        let (latencies, count) = t.await.context("load worker panicked")?;
        all.extend(latencies);
        items += count;
    }
    let elapsed = started.elapsed();
    let stages = match stages_at_start {
        Some(start) => StageTotals::fetch(&client, &config.url)
            .await
            .and_then(|end| end.means_since(&start)),
        None => None,
    };
    all.sort_unstable();
    let pct = |p: u64| -> f64 {
        if all.is_empty() {
            return 0.0;
        }
        let len = all.len() as u64;
        let i = (len * p).div_ceil(100).clamp(1, len) - 1;
        f64::from(all[i as usize]) / 1000.0
    };
    Ok(LoadReport {
        workload: config.workload,
        ok: all.len() as u64,
        items,
        errors: errors.load(Ordering::Relaxed),
        elapsed,
        p50_ms: pct(50),
        p99_ms: pct(99),
        max_ms: all.last().map(|v| f64::from(*v) / 1000.0).unwrap_or(0.0),
        cpu,
        stages,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stage_means_are_read_from_the_metrics_text() {
        let metrics = |queued: &str, count: u64| {
            let mut text = String::from("pennytrail_log_size 3\n");
            for (stage, sum) in [
                ("queued", queued),
                ("committed", "1.500000"),
                ("recorded", "0.000300"),
                ("resumed", "0.000000"),
            ] {
                text += &format!(
                    "pennytrail_append_stage_seconds_bucket{{stage=\"{stage}\",le=\"+Inf\"}} {count}\n\
                     pennytrail_append_stage_seconds_sum{{stage=\"{stage}\"}} {sum}\n\
                     pennytrail_append_stage_seconds_count{{stage=\"{stage}\"}} {count}\n"
                );
            }
            text
        };
        let start = StageTotals::parse(&metrics("0.000100", 1)).unwrap();
        assert_eq!(
            start,
            StageTotals([(100, 1), (1_500_000, 1), (300, 1), (0, 1)])
        );
        // Three more jobs: 2,100 µs queued among them, nothing in the other stages.
        let end = StageTotals::parse(&metrics("0.002200", 4)).unwrap();
        let means = end.means_since(&start).unwrap();
        assert_eq!(means, StageMeans([700, 0, 0, 0]));
        assert_eq!(
            means.to_string(),
            "queued 0.70 ms, committed 0.00 ms, recorded 0.00 ms, resumed 0.00 ms"
        );
        assert_eq!(
            StageMeans([1_234, 15, 10_000, 999]).to_string(),
            "queued 1.23 ms, committed 0.01 ms, recorded 10.00 ms, resumed 0.99 ms"
        );
        // No job in the window, a restarted server, or a server without the metrics.
        assert_eq!(start.means_since(&start), None);
        assert_eq!(start.means_since(&end), None);
        assert_eq!(StageTotals::parse("pennytrail_log_size 3\n"), None);
        assert_eq!(StageTotals::parse(&metrics("1.5", 1)), None);
    }

    #[test]
    fn cpu_time_is_read_from_proc_stat_and_split_by_kind() {
        let start = CpuTimes::parse(
            "cpu  100 5 40 800 20 3 2 30 0 0\ncpu0 50 2 20 400 10 1 1 15 0 0\nintr 1\n",
        )
        .unwrap();
        assert_eq!(
            start,
            CpuTimes {
                busy: 150,
                idle: 800,
                iowait: 20,
                steal: 30,
            }
        );
        // 200 ticks later: 120 busy, 50 idle, 10 waiting on I/O, 20 taken by the host.
        let end = CpuTimes::parse("cpu  200 5 55 850 30 6 4 50 0 0\n").unwrap();
        let share = end.share_since(&start).unwrap();
        assert_eq!(
            share,
            CpuShare {
                busy: 60,
                idle: 25,
                iowait: 5,
                steal: 10,
            }
        );
        assert_eq!(
            share.to_string(),
            "60% busy, 25% idle, 5% I/O wait, 10% stolen by the host"
        );
        // No tick passed, counters that went back, or a file it does not understand.
        assert_eq!(start.share_since(&start), None);
        assert_eq!(start.share_since(&end), None);
        assert_eq!(CpuTimes::parse("intr 1\ncpu 1 2 3\n"), None);
        assert_eq!(CpuTimes::parse("cpu 1 2 3 4 5 6 7\n"), None);
        assert_eq!(CpuTimes::parse("cpu 1 2 x 4 5 6 7 8\n"), None);
        assert_eq!(CpuTimes::parse(""), None);
    }
}
