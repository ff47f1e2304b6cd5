//! The `pennytrail` command: serve the log, make keys, check a store, export and verify
//! bundles, and monitor a live instance.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};
use tracing_subscriber::EnvFilter;

use pennytrail::app::{self, ServeConfig};
use pennytrail::bundle::verify::VerifyReport;
use pennytrail::check::check_store;
use pennytrail::drafts;
use pennytrail::keys;
use pennytrail::loadgen::{self, LoadConfig, Workload};
use pennytrail::log::checkpoint::{Checkpoint, is_valid_origin};
use pennytrail::log::note::NoteVerifier;
use pennytrail::log::receipt::Receipt;
use pennytrail::monitor::{self, Continuity};
use pennytrail::progress::Progress;
use pennytrail::store::{self, StoreConfig};

/// Stdout was closed by its reader (`pennytrail loadgen … | head -1`). The command stops
/// quietly, as programs killed by the closed pipe do, where `println!` would panic: Rust
/// ignores SIGPIPE, so the write fails instead.
#[derive(Debug, thiserror::Error)]
#[error("stdout was closed by its reader")]
struct OutputClosed;

/// Writes one line to stdout (see [`OutputClosed`]).
fn write_line(line: std::fmt::Arguments<'_>) -> anyhow::Result<()> {
    use std::io::Write as _;
    match writeln!(std::io::stdout().lock(), "{line}") {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Err(OutputClosed.into()),
        written => written.context("writing to stdout"),
    }
}

/// `println!` for the commands' output; returns from the function if stdout is gone.
macro_rules! outln {
    ($($arg:tt)*) => {
        write_line(format_args!($($arg)*))?
    };
}

/// See Cargo.toml: a thread-caching allocator for the service and the verifier.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "pennytrail",
    version,
    about = "A signed, verifiable log of donations and disbursements"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum ReportCommand {
    /// Fetch the figures of a report over [from, to) into a draft file.
    Draft {
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        url: String,
        #[arg(long)]
        org: String,
        /// The report's id.
        #[arg(long)]
        id: String,
        /// First entry covered (default 0).
        #[arg(long)]
        from: Option<u64>,
        /// End of the range, exclusive (default: the latest checkpoint's size).
        #[arg(long)]
        to: Option<u64>,
        /// The published document with per-beneficiary detail; its SHA-256 is signed too.
        #[arg(long)]
        document: Option<PathBuf>,
        /// The draft file to write.
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Subcommand)]
enum AckCommand {
    /// Fetch a disbursement into an acknowledgement draft.
    Draft {
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        url: String,
        #[arg(long)]
        org: String,
        #[arg(long)]
        disbursement: String,
        /// `received` (the whole amount arrived) or `disputed`.
        #[arg(long)]
        status: String,
        /// What arrived, in minor units (required for a dispute).
        #[arg(long)]
        amount_received: Option<i64>,
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Subcommand)]
enum Command {
    /// Run the service.
    Serve(ServeArgs),
    /// Write a new Ed25519 signing key (C2SP note format) and print its verifier key.
    Keygen {
        /// Key name; for a log key, the log's origin.
        #[arg(long)]
        name: String,
        /// File to create (mode 0600; never overwritten).
        #[arg(long)]
        out: PathBuf,
    },
    /// Re-verify a whole store from its entries up and report the first fault.
    Check(StoreArgs),
    /// Write an export bundle of the log (CSVs, checkpoint, datapackage.json), from the
    /// database or, with --url, downloaded from a running service.
    Export {
        #[command(flatten)]
        store: StoreArgs,
        /// Download the bundle from a running service instead (http://…); verify it after.
        #[arg(long)]
        url: Option<String>,
        /// Folder to create (default: exports/<origin>-<size>).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Verify an export bundle, or a live instance (--url), against a pinned log verifier key.
    #[command(
        group(clap::ArgGroup::new("source").required(true).args(["bundle", "url"])),
        after_help = "Give either a bundle folder, or --url with --state:\n  pennytrail verify BUNDLE --key VKEY [--min-size N]\n  pennytrail verify --url http://HOST:PORT --key VKEY --state FILE [--min-size N]"
    )]
    Verify {
        /// The bundle folder (not with --url).
        #[arg(conflicts_with = "state")]
        bundle: Option<PathBuf>,
        /// Verify the live instance at this base URL (http://HOST:PORT) instead of a bundle.
        #[arg(long, requires = "state")]
        url: Option<String>,
        /// With --url: the file remembering the last checkpoint verified (created on the first
        /// run). Every later run demands a consistency proof from it and fails on a rollback or
        /// fork; it is only rewritten after a run passed.
        #[arg(long, requires = "url")]
        state: Option<PathBuf>,
        /// The log's verifier key (<name>+<id>+<key>), from a source you trust.
        #[arg(long)]
        key: String,
        /// Refuse a log with fewer entries (so an old bundle cannot pass for a current one).
        #[arg(long)]
        min_size: Option<u64>,
    },
    /// Draft an org's signed report: fetch the figures the log implies into a draft file.
    #[command(subcommand)]
    Report(ReportCommand),
    /// Draft a beneficiary's acknowledgement (or dispute) of a disbursement.
    #[command(subcommand)]
    Ack(AckCommand),
    /// Sign a draft (report or acknowledgement) locally with a private key file.
    Sign {
        /// The draft file; it is rewritten with the signature added.
        draft: PathBuf,
        /// The private key file (`pennytrail keygen` writes one).
        #[arg(long)]
        key: PathBuf,
    },
    /// Post a signed draft to the service.
    Publish {
        /// The signed draft file.
        draft: PathBuf,
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        url: String,
        /// The org's API token file (reports; acknowledgements need none).
        #[arg(long)]
        token_file: Option<PathBuf>,
    },
    /// Check a donor's receipt (C2SP tlog-proof) for an entry, offline.
    VerifyReceipt {
        /// The receipt file.
        receipt: PathBuf,
        /// The entry's exact bytes.
        #[arg(long)]
        entry: PathBuf,
        /// The log's verifier key, from a source you trust.
        #[arg(long)]
        key: String,
    },
    /// Seed a running service with a realistic demo data set, through its public API.
    Demo {
        /// Base URL of the service.
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        url: String,
        /// File holding the operator token.
        #[arg(long, default_value = "./data/operator.token")]
        token_file: PathBuf,
        /// Micro-donations per charity (at least 200).
        #[arg(long, default_value_t = pennytrail::demo::DEFAULT_DONATIONS_PER_ORG)]
        donations: usize,
    },
    /// Load-test a running service and report rates and latency percentiles.
    Loadgen {
        /// Base URL of the service.
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        url: String,
        /// File holding the operator token (used to set up a fresh org for the run).
        #[arg(long, default_value = "./data/operator.token")]
        token_file: PathBuf,
        /// Concurrent connections, each with one request in flight.
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
        /// Seconds per workload.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        #[arg(long, value_enum, default_value = "donations")]
        workload: Workload,
        /// Donations per request for donation-batches (at most 1000).
        #[arg(long, default_value_t = 1000)]
        batch_size: usize,
        /// Donations preloaded into the campaign for the traces workload.
        #[arg(long, default_value_t = 100_000)]
        preload: usize,
        /// Stop once this many items were written or read (e.g. to fill a log to a size).
        #[arg(long)]
        max_items: Option<u64>,
    },
}

#[derive(Args)]
struct StoreArgs {
    /// Directory for the embedded SQLite database and the log key.
    #[arg(long, env = "PENNYTRAIL_DATA_DIR", default_value = "./data")]
    data_dir: PathBuf,
    /// Use PostgreSQL (postgres://…) instead of the embedded SQLite database.
    #[arg(long, env = "PENNYTRAIL_DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
}

#[derive(Args)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "PENNYTRAIL_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    #[command(flatten)]
    store: StoreArgs,
    /// The log's origin (its name in checkpoints), e.g. charity.example.org/pennytrail.
    #[arg(long, env = "PENNYTRAIL_ORIGIN")]
    origin: Option<String>,
    /// Write requests each org token may make per second (429 with Retry-After beyond).
    #[arg(long, env = "PENNYTRAIL_ORG_WRITES_PER_SECOND", default_value_t = pennytrail::api::limits::DEFAULT_ORG_WRITES_PER_SECOND,
        value_parser = clap::value_parser!(u32).range(1..))]
    org_writes_per_second: u32,
    /// Seconds a request may take before it is answered 408 (exports are exempt).
    #[arg(long, env = "PENNYTRAIL_REQUEST_TIMEOUT_SECONDS", default_value_t = pennytrail::api::DEFAULT_REQUEST_TIMEOUT.as_secs(),
        value_parser = clap::value_parser!(u64).range(1..))]
    request_timeout_seconds: u64,
    /// The log's private key file (default: <data-dir>/log.key, created on first start).
    #[arg(long, env = "PENNYTRAIL_LOG_KEY")]
    log_key: Option<PathBuf>,
    /// The secret keying donor commitments (default: <data-dir>/donor.secret, created on
    /// first start). Every process sharing a database must use the same one.
    #[arg(long, env = "PENNYTRAIL_DONOR_SECRET")]
    donor_secret: Option<PathBuf>,
}

impl StoreArgs {
    fn config(&self) -> StoreConfig {
        StoreConfig {
            data_dir: self.data_dir.clone(),
            database_url: self.database_url.clone(),
        }
    }
}

fn init_logging() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if std::env::var("PENNYTRAIL_LOG_FORMAT").as_deref() == Ok("json") {
        builder.json().init();
    } else {
        builder.init();
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => {
            let running = app::start(ServeConfig {
                listen: args.listen,
                store: args.store.config(),
                origin: args.origin,
                log_key: args.log_key,
                donor_secret: args.donor_secret,
                org_writes_per_second: args.org_writes_per_second,
                request_timeout: std::time::Duration::from_secs(args.request_timeout_seconds),
            })
            .await?;
            running.wait().await
        }
        Command::Keygen { name, out } => {
            if !is_valid_origin(&name) {
                anyhow::bail!("--name {name:?}: use 1-128 characters of A-Z a-z 0-9 . _ / : -");
            }
            let signer = keys::generate_signer(&name, &out)?;
            eprintln!(
                "wrote private key {} (mode 0600); keep it secret",
                out.display()
            );
            outln!("{}", signer.verifier().to_text());
            Ok(())
        }
        Command::Loadgen {
            url,
            token_file,
            concurrency,
            seconds,
            workload,
            batch_size,
            preload,
            max_items,
        } => {
            if !(1..=10_000).contains(&concurrency) {
                anyhow::bail!("--concurrency must be between 1 and 10000");
            }
            if !(1..=1000).contains(&batch_size) {
                anyhow::bail!("--batch-size must be between 1 and 1000");
            }
            let operator_token = std::fs::read_to_string(&token_file).with_context(|| {
                format!("reading the operator token from {}", token_file.display())
            })?;
            let mut config = LoadConfig {
                url: url.trim_end_matches('/').to_string(),
                operator_token: operator_token.trim().to_string(),
                concurrency,
                duration: std::time::Duration::from_secs(seconds.max(1)),
                workload,
                batch_size,
                preload,
                max_items,
            };
            let report = loadgen::run(&config).await?;
            outln!("{report}");
            // A fill to a size is not a rate measurement; it needs no /healthz comparison.
            if workload != Workload::Healthz && config.max_items.is_none() {
                config.workload = Workload::Healthz;
                let healthz = loadgen::run(&config).await?;
                outln!("{healthz}");
                outln!(
                    "ratio: {:?} requests/s are {:.1}% of /healthz requests/s under the same generator",
                    workload,
                    100.0 * report.rate_per_s() / healthz.rate_per_s()
                );
            }
            Ok(())
        }
        Command::Demo {
            url,
            token_file,
            donations,
        } => {
            if !(200..=1_000_000).contains(&donations) {
                anyhow::bail!("--donations must be between 200 and 1000000");
            }
            let token = std::fs::read_to_string(&token_file).with_context(|| {
                format!("reading the operator token from {}", token_file.display())
            })?;
            pennytrail::demo::seed(&url, token.trim(), donations).await
        }
        Command::Export {
            url: Some(url),
            out,
            ..
        } => {
            let mut progress = Progress::new("download (bytes)");
            let dir = pennytrail::bundle::download_bundle(&url, out, |done, total| {
                progress.update(done, total)
            })
            .await?;
            progress.finish();
            outln!(
                "wrote {}; check it with: pennytrail verify {} --key <the log's key, from a source you trust>",
                dir.display(),
                dir.display()
            );
            Ok(())
        }
        Command::Export {
            store,
            out,
            url: None,
        } => {
            let opened = store::open(&store.config())
                .await
                .context("opening the database")?;
            let mut progress = Progress::new("export");
            let (dir, summary) = pennytrail::bundle::export_store(&opened, out, |done, total| {
                progress.update(done, total)
            })
            .await?;
            progress.finish();
            outln!("wrote {} ({} entries)", dir.display(), summary.entries);
            Ok(())
        }
        Command::Verify {
            bundle,
            url,
            state,
            key,
            min_size,
        } => {
            let verifier = NoteVerifier::from_text(&key).context("--key")?;
            let mut progress = Progress::new("verify");
            match (bundle, url, state) {
                (Some(bundle), None, None) => {
                    let report = pennytrail::bundle::verify::verify_bundle(
                        &bundle,
                        &verifier,
                        min_size,
                        |done, total| progress.update(done, total),
                    )
                    .map_err(|e| anyhow::anyhow!("FAILED: {e}"))?;
                    progress.finish();
                    print_summary(&report)?;
                }
                (None, Some(url), Some(state)) => {
                    let report =
                        monitor::verify_live(&url, &verifier, &state, min_size, |done, total| {
                            progress.update(done, total)
                        })
                        .await
                        .map_err(|e| anyhow::anyhow!("FAILED: {e}"))?;
                    progress.finish();
                    print_summary(&VerifyReport {
                        checkpoint: report.checkpoint.clone(),
                        summary: report.summary,
                    })?;
                    print_continuity(&report.checkpoint, &report.continuity, &state)?;
                }
                // clap enforces the combinations; this names them should that ever change.
                _ => anyhow::bail!(
                    "give either a bundle folder, or --url http://HOST:PORT with --state FILE"
                ),
            }
            Ok(())
        }
        Command::Report(ReportCommand::Draft {
            url,
            org,
            id,
            from,
            to,
            document,
            out,
        }) => {
            let draft =
                drafts::draft_report(&url, &org, &id, from, to, document.as_deref()).await?;
            draft.write(&out)?;
            eprintln!(
                "wrote {}; check the figures, then: pennytrail sign --key ORG_KEY {}",
                out.display(),
                out.display()
            );
            Ok(())
        }
        Command::Ack(AckCommand::Draft {
            url,
            org,
            disbursement,
            status,
            amount_received,
            out,
        }) => {
            let status = pennytrail::ledger::attestations::AckStatus::parse("--status", &status)?;
            let draft =
                drafts::draft_ack(&url, &org, &disbursement, status, amount_received).await?;
            draft.write(&out)?;
            eprintln!(
                "wrote {}; then: pennytrail sign --key BENEFICIARY_KEY {}",
                out.display(),
                out.display()
            );
            Ok(())
        }
        Command::Sign { draft, key } => {
            let signer = keys::read_signer(&key)?;
            let mut parsed = drafts::Draft::read(&draft)?;
            let message = parsed.message()?;
            eprintln!(
                "signing with {} this exact message:\n---\n{}---",
                signer.verifier().to_text(),
                String::from_utf8_lossy(&message)
            );
            parsed.sign(&signer)?;
            parsed.write(&draft)?;
            outln!("signed {}", draft.display());
            Ok(())
        }
        Command::Publish {
            draft,
            url,
            token_file,
        } => {
            let parsed = drafts::Draft::read(&draft)?;
            let token = token_file
                .map(|f| {
                    std::fs::read_to_string(&f)
                        .with_context(|| format!("reading {}", f.display()))
                        .map(|t| t.trim().to_string())
                })
                .transpose()?;
            let (status, body) = drafts::publish(&url, token.as_deref(), &parsed).await?;
            outln!("{}", serde_json::to_string_pretty(&body)?);
            if !(200..300).contains(&status) {
                anyhow::bail!("the service refused it ({status})");
            }
            Ok(())
        }
        Command::VerifyReceipt {
            receipt,
            entry,
            key,
        } => {
            let verifier = NoteVerifier::from_text(&key).context("--key")?;
            let text = std::fs::read_to_string(&receipt)
                .with_context(|| format!("reading {}", receipt.display()))?;
            let bytes =
                std::fs::read(&entry).with_context(|| format!("reading {}", entry.display()))?;
            let parsed = Receipt::parse(&text).with_context(|| format!("{}", receipt.display()))?;
            let checkpoint = parsed
                .verify(&bytes, &verifier)
                .map_err(|e| anyhow::anyhow!("FAILED: {e}"))?;
            outln!(
                "ok: the entry is number {} of the log {} at size {}, signed by {}",
                parsed.index,
                checkpoint.origin,
                checkpoint.size,
                verifier.to_text()
            );
            Ok(())
        }
        Command::Check(args) => {
            let store = store::open(&args.config())
                .await
                .context("opening the database")?;
            let mut progress = Progress::new("check");
            let report = check_store(&store, |done, total| progress.update(done, total)).await?;
            progress.finish();
            outln!(
                "ok: {} entries, {} tree hashes and {} signed checkpoints verified",
                report.entries,
                report.tree_hashes,
                report.checkpoints
            );
            Ok(())
        }
    }
}

/// The monitor's line on how this run's checkpoint follows the one verified before.
fn print_continuity(
    checkpoint: &Checkpoint,
    continuity: &Continuity,
    state: &Path,
) -> anyhow::Result<()> {
    match continuity {
        Continuity::FirstRun => outln!(
            "   first run: no earlier checkpoint to compare with; size {} remembered in {} for the next run",
            checkpoint.size,
            state.display()
        ),
        Continuity::Unchanged => outln!(
            "   unchanged since the last run: the same size {} and root as remembered in {}",
            checkpoint.size,
            state.display()
        ),
        Continuity::Extended {
            from_size,
            from_root,
        } => outln!(
            "   consistent with the last run: the log grew from {from_size} entries (root {}) to {}, proven by a consistency proof and by re-deriving the old root; {} updated",
            from_root.to_base64(),
            checkpoint.size,
            state.display()
        ),
    }
    Ok(())
}

fn print_summary(report: &VerifyReport) -> anyhow::Result<()> {
    let s = &report.summary;
    outln!(
        "ok: {} entries of {} verified against its signed checkpoint (root {})",
        s.entries,
        report.checkpoint.origin,
        report.checkpoint.root.to_base64()
    );
    outln!(
        "   {} charities, {} campaigns, {} donations, {} disbursements",
        s.orgs,
        s.campaigns,
        s.donations,
        s.disbursements
    );
    outln!(
        "   {} signed reports, every figure recomputed; {} disbursements acknowledged and {} disputed by their beneficiaries' own signatures",
        s.reports,
        s.acknowledged,
        s.disputed
    );
    for (currency, t) in &s.by_currency {
        // Shares in tenths of a percent, computed in integers.
        let share = |part: i128| if t.net > 0 { part * 1000 / t.net } else { 0 };
        let disbursed = share(t.disbursed);
        outln!(
            "   {currency}: received {} (fees {}, net {}), disbursed {} = {}.{}% of net, all to stated beneficiaries",
            t.received,
            t.fees,
            t.net,
            t.disbursed,
            disbursed / 10,
            disbursed % 10
        );
        for (kind, amount) in &t.by_kind {
            let k = share(*amount);
            outln!("      to {kind}: {amount} ({}.{}% of net)", k / 10, k % 10);
        }
    }
    outln!("   amounts are in minor units of each currency (cents for EUR)");
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        // What a shell reports for a command stopped by a closed pipe (128 + SIGPIPE).
        Err(e) if e.is::<OutputClosed>() => ExitCode::from(141),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
