//! Operational metrics in the Prometheus text format (`GET /metrics`): HTTP requests by
//! route and status with their latencies, and the sequencer's appends, batch sizes, commit
//! latencies and failures. Counters are plain atomics (no metrics dependency); durations
//! are kept in whole microseconds and printed as decimal seconds without floats.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the latency buckets, in microseconds (0.5 ms … 10 s).
const LATENCY_BUCKETS_US: [u64; 13] = [
    500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000,
    2_500_000, 10_000_000,
];

/// Upper bounds of the append-stage buckets, in microseconds (50 µs … 10 s): the stages
/// of a write take tenths of a millisecond to a few milliseconds under load.
const STAGE_BUCKETS_US: [u64; 14] = [
    50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 100_000, 250_000, 1_000_000, 2_500_000,
    10_000_000,
];

/// Where a write's time goes between its request handing it to the sequencer and the
/// request running again with the answer. Each job (one request's items) passes every
/// stage once, in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppendStage {
    /// In the sequencer's queue, until a batch takes it.
    Queued,
    /// In its batch: read, sequenced, signed, written and committed.
    Committed,
    /// After the commit, until the signed size was recorded beside the key and the
    /// answer sent.
    Recorded,
    /// After the answer was sent, until the request's task ran again.
    Resumed,
}

impl AppendStage {
    pub const ALL: [AppendStage; 4] = [
        AppendStage::Queued,
        AppendStage::Committed,
        AppendStage::Recorded,
        AppendStage::Resumed,
    ];

    /// The `stage` label's value.
    pub fn label(self) -> &'static str {
        match self {
            AppendStage::Queued => "queued",
            AppendStage::Committed => "committed",
            AppendStage::Recorded => "recorded",
            AppendStage::Resumed => "resumed",
        }
    }
}

/// Upper bounds of the batch-size buckets, in entries (powers of 4 up to a full batch).
const BATCH_SIZE_BUCKETS: [u64; 8] = [1, 4, 16, 64, 256, 1024, 4096, 16384];

/// A cumulative histogram over fixed integer bucket bounds.
struct Histogram {
    bounds: &'static [u64],
    /// One count per bound, plus the +Inf bucket.
    counts: Vec<AtomicU64>,
    sum: AtomicU64,
}

impl Histogram {
    fn new(bounds: &'static [u64]) -> Histogram {
        Histogram {
            bounds,
            counts: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
            sum: AtomicU64::new(0),
        }
    }

    fn observe(&self, value: u64) {
        let bucket = self.bounds.partition_point(|bound| *bound < value);
        self.counts[bucket].fetch_add(1, Ordering::Relaxed);
        self.sum.fetch_add(value, Ordering::Relaxed);
    }

    /// Writes the `_bucket`, `_sum` and `_count` lines; `labels` is either empty or
    /// `key="value",…` without braces; `unit` formats bounds and the sum.
    fn render(&self, out: &mut String, name: &str, labels: &str, unit: fn(u64) -> String) {
        let sep = if labels.is_empty() { "" } else { "," };
        let mut cumulative = 0;
        for (i, count) in self.counts.iter().enumerate() {
            cumulative += count.load(Ordering::Relaxed);
            let le = self.bounds.get(i).map_or("+Inf".to_string(), |b| unit(*b));
            let _ = writeln!(
                out,
                "{name}_bucket{{{labels}{sep}le=\"{le}\"}} {cumulative}"
            );
        }
        let braces = if labels.is_empty() {
            String::new()
        } else {
            format!("{{{labels}}}")
        };
        let sum = unit(self.sum.load(Ordering::Relaxed));
        let _ = writeln!(out, "{name}_sum{braces} {sum}");
        let _ = writeln!(out, "{name}_count{braces} {cumulative}");
    }
}

/// Microseconds as decimal seconds ("0.002500").
fn seconds(micros: u64) -> String {
    format!("{}.{:06}", micros / 1_000_000, micros % 1_000_000)
}

fn plain(n: u64) -> String {
    n.to_string()
}

/// A duration in whole microseconds (saturating).
pub fn micros(elapsed: Duration) -> u64 {
    u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX)
}

/// One route (method and matched path template) and its answers.
struct RouteStats {
    /// Answers per status code.
    statuses: HashMap<u16, u64>,
    latency: Histogram,
}

/// Every metric of one running service.
pub struct Metrics {
    /// Keyed by (method, route template); unmatched paths share one key, so hostile
    /// clients cannot grow this map.
    routes: Mutex<HashMap<(String, String), RouteStats>>,
    appended_entries: AtomicU64,
    replayed_items: AtomicU64,
    committed_batches: AtomicU64,
    failed_batches: AtomicU64,
    head_retries: AtomicU64,
    pipelined_batches: AtomicU64,
    pipeline_fallbacks: AtomicU64,
    log_size: AtomicU64,
    batch_entries: Histogram,
    batch_commit: Histogram,
    /// One histogram per [`AppendStage`], in `AppendStage::ALL` order.
    append_stages: [Histogram; 4],
    /// Per witness of `--witness-policy` (names come from the policy, so the map is
    /// bounded by it).
    witnesses: Mutex<BTreeMap<String, WitnessStats>>,
}

/// What the collector of cosignatures knows of one witness.
#[derive(Default)]
struct WitnessStats {
    cosigned_size: u64,
    /// Failed submissions by status (`unreachable`, `403`, `422`, `bad-cosignature`, …).
    failures: BTreeMap<String, u64>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        Metrics {
            routes: Mutex::new(HashMap::new()),
            appended_entries: AtomicU64::new(0),
            replayed_items: AtomicU64::new(0),
            committed_batches: AtomicU64::new(0),
            failed_batches: AtomicU64::new(0),
            head_retries: AtomicU64::new(0),
            pipelined_batches: AtomicU64::new(0),
            pipeline_fallbacks: AtomicU64::new(0),
            log_size: AtomicU64::new(0),
            batch_entries: Histogram::new(&BATCH_SIZE_BUCKETS),
            batch_commit: Histogram::new(&LATENCY_BUCKETS_US),
            append_stages: AppendStage::ALL.map(|_| Histogram::new(&STAGE_BUCKETS_US)),
            witnesses: Mutex::new(BTreeMap::new()),
        }
    }

    /// The largest size `witness` is known to have cosigned.
    pub fn set_witness_cosigned(&self, witness: &str, size: u64) {
        let mut witnesses = self.witnesses.lock().unwrap_or_else(|e| e.into_inner());
        let stats = witnesses.entry(witness.to_string()).or_default();
        stats.cosigned_size = stats.cosigned_size.max(size);
    }

    /// A submission to `witness` that failed, by `status` (an HTTP status or a word).
    pub fn record_witness_failure(&self, witness: &str, status: &str) {
        let mut witnesses = self.witnesses.lock().unwrap_or_else(|e| e.into_inner());
        let stats = witnesses.entry(witness.to_string()).or_default();
        *stats.failures.entry(status.to_string()).or_default() += 1;
    }

    /// One HTTP answer. `route` is the matched path template, or `None` for a path that
    /// matched no route.
    pub fn record_request(
        &self,
        method: &str,
        route: Option<&str>,
        status: u16,
        elapsed: Duration,
    ) {
        let method = match method {
            "GET" | "POST" | "PUT" | "DELETE" | "HEAD" | "OPTIONS" | "PATCH" => method,
            _ => "OTHER",
        };
        let route = route.unwrap_or("unmatched");
        let mut routes = self.routes.lock().unwrap_or_else(|e| e.into_inner());
        let stats = routes
            .entry((method.to_string(), route.to_string()))
            .or_insert_with(|| RouteStats {
                statuses: HashMap::new(),
                latency: Histogram::new(&LATENCY_BUCKETS_US),
            });
        *stats.statuses.entry(status).or_default() += 1;
        stats.latency.observe(micros(elapsed));
    }

    /// A batch that committed: `appended` new entries (and `replayed` items answered from
    /// the log), leaving the log at `log_size`.
    pub fn record_batch(&self, appended: u64, replayed: u64, log_size: u64, elapsed: Duration) {
        self.committed_batches.fetch_add(1, Ordering::Relaxed);
        self.appended_entries.fetch_add(appended, Ordering::Relaxed);
        self.replayed_items.fetch_add(replayed, Ordering::Relaxed);
        self.log_size.fetch_max(log_size, Ordering::Relaxed);
        self.batch_entries.observe(appended);
        self.batch_commit.observe(micros(elapsed));
    }

    /// One job's time in one stage of its write.
    pub fn record_append_stage(&self, stage: AppendStage, elapsed: Duration) {
        self.append_stages[stage as usize].observe(micros(elapsed));
    }

    /// A batch that could not commit (nothing in it was acknowledged).
    pub fn record_failed_batch(&self) {
        self.failed_batches.fetch_add(1, Ordering::Relaxed);
    }

    /// Another process appended under a batch, which was retried.
    pub fn record_head_retry(&self) {
        self.head_retries.fetch_add(1, Ordering::Relaxed);
    }

    /// A batch sequenced while the one before it committed.
    pub fn record_pipelined_batch(&self) {
        self.pipelined_batches.fetch_add(1, Ordering::Relaxed);
    }

    /// A pipelined batch (or the one sequenced on top of it) that had to be redone on
    /// its own.
    pub fn record_pipeline_fallback(&self) {
        self.pipeline_fallbacks.fetch_add(1, Ordering::Relaxed);
    }

    /// The log's size when the service started.
    pub fn set_log_size(&self, size: u64) {
        self.log_size.fetch_max(size, Ordering::Relaxed);
    }

    /// The Prometheus text exposition (format 0.0.4).
    pub fn render(&self) -> String {
        let mut out = String::new();
        let counter = |out: &mut String, name: &str, help: &str, value: &AtomicU64| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
            let _ = writeln!(out, "{name} {}", value.load(Ordering::Relaxed));
        };
        counter(
            &mut out,
            "pennytrail_appended_entries_total",
            "Entries appended to the log by this process.",
            &self.appended_entries,
        );
        counter(
            &mut out,
            "pennytrail_replayed_writes_total",
            "Writes answered from the log because their id was already there.",
            &self.replayed_items,
        );
        counter(
            &mut out,
            "pennytrail_append_batches_total",
            "Append batches committed (one transaction and one checkpoint each).",
            &self.committed_batches,
        );
        counter(
            &mut out,
            "pennytrail_append_batch_failures_total",
            "Append batches that failed to commit; none of their writes was acknowledged.",
            &self.failed_batches,
        );
        counter(
            &mut out,
            "pennytrail_append_head_retries_total",
            "Batches retried because another process appended first.",
            &self.head_retries,
        );
        counter(
            &mut out,
            "pennytrail_append_pipelined_batches_total",
            "Batches sequenced while the batch before them was committing.",
            &self.pipelined_batches,
        );
        counter(
            &mut out,
            "pennytrail_append_pipeline_fallbacks_total",
            "Pipelined batches redone on their own because the batch before them, or they, failed.",
            &self.pipeline_fallbacks,
        );
        let _ = writeln!(
            out,
            "# HELP pennytrail_log_size Entries in the log (latest signed size seen).\n\
             # TYPE pennytrail_log_size gauge\npennytrail_log_size {}",
            self.log_size.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP pennytrail_append_batch_entries New entries per committed batch.\n\
             # TYPE pennytrail_append_batch_entries histogram"
        );
        self.batch_entries
            .render(&mut out, "pennytrail_append_batch_entries", "", plain);
        let _ = writeln!(
            out,
            "# HELP pennytrail_append_batch_commit_seconds Time to write, sign and commit a batch.\n\
             # TYPE pennytrail_append_batch_commit_seconds histogram"
        );
        self.batch_commit.render(
            &mut out,
            "pennytrail_append_batch_commit_seconds",
            "",
            seconds,
        );
        let _ = writeln!(
            out,
            "# HELP pennytrail_append_stage_seconds Where each write's time went, per request: \
             queued for the sequencer, in its batch until committed, until the signed size was \
             recorded and the answer sent, until the request ran again.\n\
             # TYPE pennytrail_append_stage_seconds histogram"
        );
        for (stage, histogram) in AppendStage::ALL.iter().zip(&self.append_stages) {
            histogram.render(
                &mut out,
                "pennytrail_append_stage_seconds",
                &format!("stage=\"{}\"", stage.label()),
                seconds,
            );
        }

        let routes = self.routes.lock().unwrap_or_else(|e| e.into_inner());
        let mut keys: Vec<&(String, String)> = routes.keys().collect();
        keys.sort();
        let _ = writeln!(
            out,
            "# HELP pennytrail_http_requests_total HTTP answers by route and status.\n\
             # TYPE pennytrail_http_requests_total counter"
        );
        for key in &keys {
            let stats = &routes[*key];
            let mut statuses: Vec<(&u16, &u64)> = stats.statuses.iter().collect();
            statuses.sort();
            for (status, count) in statuses {
                let _ = writeln!(
                    out,
                    "pennytrail_http_requests_total{{method=\"{}\",route=\"{}\",status=\"{status}\"}} {count}",
                    key.0, key.1
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP pennytrail_http_request_duration_seconds Time to answer, by route.\n\
             # TYPE pennytrail_http_request_duration_seconds histogram"
        );
        for key in &keys {
            let labels = format!("method=\"{}\",route=\"{}\"", key.0, key.1);
            routes[*key].latency.render(
                &mut out,
                "pennytrail_http_request_duration_seconds",
                &labels,
                seconds,
            );
        }
        drop(routes);
        self.render_witnesses(&mut out);
        out
    }

    fn render_witnesses(&self, out: &mut String) {
        let witnesses = self.witnesses.lock().unwrap_or_else(|e| e.into_inner());
        if witnesses.is_empty() {
            return;
        }
        let _ = writeln!(
            out,
            "# HELP pennytrail_witness_cosigned_size The largest checkpoint size each witness \
             of --witness-policy has cosigned.\n\
             # TYPE pennytrail_witness_cosigned_size gauge"
        );
        for (name, stats) in witnesses.iter() {
            let name = label_value(name);
            let _ = writeln!(
                out,
                "pennytrail_witness_cosigned_size{{witness=\"{name}\"}} {}",
                stats.cosigned_size
            );
        }
        let _ = writeln!(
            out,
            "# HELP pennytrail_witness_failures_total Submissions to a witness that failed, by \
             status (an HTTP status, unreachable, or bad-cosignature).\n\
             # TYPE pennytrail_witness_failures_total counter"
        );
        for (name, stats) in witnesses.iter() {
            let name = label_value(name);
            for (status, count) in &stats.failures {
                let _ = writeln!(
                    out,
                    "pennytrail_witness_failures_total{{witness=\"{name}\",status=\"{status}\"}} {count}"
                );
            }
        }
    }
}

/// A Prometheus label value: backslash and double quote escaped (policy names are any
/// non-space text).
fn label_value(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"")
}

/// The tree file's gauges (SQLite's serving process), appended to [`Metrics::render`].
pub fn render_tree_file(out: &mut String, hashes: u64, usable: bool) {
    let _ = writeln!(
        out,
        "# HELP pennytrail_tree_file_hashes Stored tree hashes copied into the tree file, \
         which answers inclusion proofs without a query.\n\
         # TYPE pennytrail_tree_file_hashes gauge\npennytrail_tree_file_hashes {hashes}\n\
         # HELP pennytrail_tree_file_usable 1 while proofs are read from the tree file; 0 \
         once one failed to verify (proofs then read the database until a restart).\n\
         # TYPE pennytrail_tree_file_usable gauge\npennytrail_tree_file_usable {}",
        u8::from(usable)
    );
}

/// The tile cache's figures (`/log/tile/…`), appended to [`Metrics::render`].
pub fn render_tile_cache(out: &mut String, stats: &crate::read::tiles::TileCacheStats) {
    let mut gauge = |name: &str, kind: &str, help: &str, value: u64| {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
        );
    };
    gauge(
        "pennytrail_tile_cache_bound_bytes",
        "gauge",
        "Most bytes the tile cache holds (--tile-cache-mb).",
        stats.bound,
    );
    gauge(
        "pennytrail_tile_cache_bytes",
        "gauge",
        "Bytes of tiles and entry bundles held now.",
        stats.bytes,
    );
    gauge(
        "pennytrail_tile_cache_tiles",
        "gauge",
        "Tiles and entry bundles held now.",
        stats.tiles,
    );
    gauge(
        "pennytrail_tile_cache_hits_total",
        "counter",
        "Tile requests answered from the cache.",
        stats.hits,
    );
    gauge(
        "pennytrail_tile_cache_misses_total",
        "counter",
        "Tile requests read from the database.",
        stats.misses,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn witness_figures_are_labelled_by_witness_and_status() {
        let metrics = Metrics::new();
        assert!(!metrics.render().contains("pennytrail_witness"));
        metrics.set_witness_cosigned("w1.example", 10);
        metrics.set_witness_cosigned("w1.example", 7);
        metrics.record_witness_failure("w\"2", "unreachable");
        metrics.record_witness_failure("w\"2", "unreachable");
        metrics.record_witness_failure("w\"2", "422");
        let text = metrics.render();
        for line in [
            "pennytrail_witness_cosigned_size{witness=\"w1.example\"} 10",
            "pennytrail_witness_cosigned_size{witness=\"w\\\"2\"} 0",
            "pennytrail_witness_failures_total{witness=\"w\\\"2\",status=\"unreachable\"} 2",
            "pennytrail_witness_failures_total{witness=\"w\\\"2\",status=\"422\"} 1",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in\n{text}"
            );
        }
    }

    #[test]
    fn histograms_are_cumulative_and_sums_exact() {
        let metrics = Metrics::new();
        metrics.record_batch(3, 1, 10, Duration::from_micros(1_500));
        metrics.record_batch(100, 0, 110, Duration::from_micros(30_000_000));
        metrics.record_request("GET", Some("/v1/log"), 200, Duration::from_micros(700));
        metrics.record_request("BREW", None, 404, Duration::from_micros(10));
        metrics.record_append_stage(AppendStage::Queued, Duration::from_micros(40));
        metrics.record_append_stage(AppendStage::Queued, Duration::from_micros(700));
        metrics.record_append_stage(AppendStage::Resumed, Duration::from_micros(120));
        let text = metrics.render();
        for line in [
            "pennytrail_appended_entries_total 103",
            "pennytrail_replayed_writes_total 1",
            "pennytrail_append_batches_total 2",
            "pennytrail_log_size 110",
            "pennytrail_append_batch_entries_bucket{le=\"1\"} 0",
            "pennytrail_append_batch_entries_bucket{le=\"4\"} 1",
            "pennytrail_append_batch_entries_bucket{le=\"256\"} 2",
            "pennytrail_append_batch_entries_sum 103",
            "pennytrail_append_batch_commit_seconds_bucket{le=\"0.002500\"} 1",
            "pennytrail_append_batch_commit_seconds_bucket{le=\"10.000000\"} 1",
            "pennytrail_append_batch_commit_seconds_bucket{le=\"+Inf\"} 2",
            "pennytrail_append_batch_commit_seconds_sum 30.001500",
            "pennytrail_http_requests_total{method=\"GET\",route=\"/v1/log\",status=\"200\"} 1",
            "pennytrail_http_requests_total{method=\"OTHER\",route=\"unmatched\",status=\"404\"} 1",
            "pennytrail_http_request_duration_seconds_bucket{method=\"GET\",route=\"/v1/log\",le=\"0.000500\"} 0",
            "pennytrail_http_request_duration_seconds_bucket{method=\"GET\",route=\"/v1/log\",le=\"0.001000\"} 1",
            "pennytrail_http_request_duration_seconds_count{method=\"GET\",route=\"/v1/log\"} 1",
            "pennytrail_append_stage_seconds_bucket{stage=\"queued\",le=\"0.000050\"} 1",
            "pennytrail_append_stage_seconds_bucket{stage=\"queued\",le=\"0.000500\"} 1",
            "pennytrail_append_stage_seconds_bucket{stage=\"queued\",le=\"0.001000\"} 2",
            "pennytrail_append_stage_seconds_sum{stage=\"queued\"} 0.000740",
            "pennytrail_append_stage_seconds_count{stage=\"committed\"} 0",
            "pennytrail_append_stage_seconds_count{stage=\"recorded\"} 0",
            "pennytrail_append_stage_seconds_bucket{stage=\"resumed\",le=\"0.000250\"} 1",
            "pennytrail_append_stage_seconds_count{stage=\"resumed\"} 1",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in\n{text}"
            );
        }
    }

    #[test]
    fn each_append_stage_has_its_own_histogram() {
        for (index, stage) in AppendStage::ALL.into_iter().enumerate() {
            assert_eq!(stage as usize, index, "{stage:?}");
            let metrics = Metrics::new();
            metrics.record_append_stage(stage, Duration::from_micros(1));
            let text = metrics.render();
            for other in AppendStage::ALL {
                let line = format!(
                    "pennytrail_append_stage_seconds_count{{stage=\"{}\"}} {}",
                    other.label(),
                    u64::from(other == stage)
                );
                assert!(text.lines().any(|l| l == line), "missing {line:?}");
            }
        }
    }
}
