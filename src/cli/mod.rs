//! The `pennytrail` command line: what each subcommand takes ([`Command`]) and the one
//! function that runs it ([`commands`]). Checks of a bundle, a receipt or a live instance
//! are `pennytrail-verify`'s own code, so both programs print and fail alike.

mod commands;
mod tiles;
mod witness;

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use pennytrail::loadgen::Workload;
use pennytrail::store::StoreConfig;

#[derive(Parser)]
#[command(
    name = "pennytrail",
    version,
    about = "A signed, verifiable log of donations and disbursements"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the service.
    Serve(ServeArgs),
    /// Write a new Ed25519 signing key (C2SP note format) and print its verifier key.
    Keygen(KeygenArgs),
    /// Re-verify a whole store from its entries up and report the first fault.
    Check(StoreArgs),
    /// Write an export bundle of the log (CSVs, checkpoint, datapackage.json), from the
    /// database or, with --url, downloaded from a running service.
    Export(ExportArgs),
    /// Verify an export bundle, or a live instance (--url), against a pinned log verifier key.
    #[command(
        group(clap::ArgGroup::new("source").required(true).args(["bundle", "url", "tiles"])),
        after_help = "Give a bundle folder, or --url or --tiles with --state:\n  pennytrail verify BUNDLE --key VKEY [--min-size N]\n  pennytrail verify --url https://HOST --key VKEY --state FILE [--min-size N]\n  pennytrail verify --tiles https://HOST/log --key VKEY --state FILE [--min-size N]"
    )]
    Verify(VerifyArgs),
    /// Draft an org's signed report: fetch the figures the log implies into a draft file.
    #[command(subcommand)]
    Report(ReportCommand),
    /// Draft a beneficiary's acknowledgement (or dispute) of a disbursement.
    #[command(subcommand)]
    Ack(AckCommand),
    /// Sign a draft (report or acknowledgement) locally with a private key file.
    Sign(SignArgs),
    /// Post a signed draft to the service.
    Publish(PublishArgs),
    /// Check a donor's receipt (C2SP tlog-proof) for an entry, offline.
    VerifyReceipt(VerifyReceiptArgs),
    /// Seed a running service with a realistic demo data set, through its public API.
    Demo(DemoArgs),
    /// Load-test a running service and report rates and latency percentiles.
    Loadgen(LoadgenArgs),
    /// The log as static C2SP tiles.
    #[command(subcommand)]
    Tiles(TilesCommand),
    /// Run a witness (C2SP tlog-witness) that cosigns the checkpoints of the logs its policy lists.
    Witness(witness::WitnessArgs),
    /// List the checkpoints a witness refused although their log signed them: evidence of a split view.
    WitnessEvidence(witness::EvidenceArgs),
}

#[derive(Subcommand)]
enum TilesCommand {
    /// Write or bring up to date a static copy of the log's tiles in a folder (DIR/checkpoint,
    /// DIR/tile/…) that any web server or CDN can serve as the log's tiles.
    Sync(tiles::TilesSyncArgs),
}

#[derive(Subcommand)]
enum ReportCommand {
    /// Fetch the figures of a report over [from, to) into a draft file.
    Draft(ReportDraftArgs),
}

#[derive(Subcommand)]
enum AckCommand {
    /// Fetch a disbursement into an acknowledgement draft.
    Draft(AckDraftArgs),
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

impl StoreArgs {
    fn config(&self) -> StoreConfig {
        StoreConfig {
            data_dir: self.data_dir.clone(),
            database_url: self.database_url.clone(),
        }
    }
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
    #[arg(long, env = "PENNYTRAIL_ORG_WRITES_PER_SECOND", default_value_t = pennytrail::limits::DEFAULT_ORG_WRITES_PER_SECOND,
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
    /// A reverse proxy (address or CIDR network) whose X-Forwarded-For names the client
    /// for the per-client limits; repeat for several (in the environment: comma-separated).
    /// From anyone else the header is ignored.
    #[arg(
        long = "trusted-proxy",
        env = "PENNYTRAIL_TRUSTED_PROXY",
        value_delimiter = ','
    )]
    trusted_proxies: Vec<pennytrail::limits::IpNetwork>,
    /// Memory for tiles and entry bundles already served (/log/tile/…), in MiB; the least
    /// recently served are dropped beyond it. 0 reads every tile from the database.
    #[arg(long, env = "PENNYTRAIL_TILE_CACHE_MB", default_value_t = pennytrail::read::tiles::DEFAULT_TILE_CACHE_MB)]
    tile_cache_mb: u64,
    /// A tlog-policy file naming this log, the witnesses to ask for cosignatures (with
    /// their submission URLs) and the quorum; with it the service collects cosignatures in
    /// the background and serves witnessed checkpoints (docs/witness.md).
    #[arg(long, env = "PENNYTRAIL_WITNESS_POLICY")]
    witness_policy: Option<PathBuf>,
}

#[derive(Args)]
struct KeygenArgs {
    /// Key name; for a log key, the log's origin.
    #[arg(long)]
    name: String,
    /// File to create (mode 0600; never overwritten).
    #[arg(long)]
    out: PathBuf,
}

#[derive(Args)]
struct ExportArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// Download the bundle from a running service instead (https://…, or http:// on this
    /// machine); verify it after.
    #[arg(long)]
    url: Option<String>,
    /// Folder to create (default: exports/<origin>-<size>).
    #[arg(long)]
    out: Option<PathBuf>,
    /// With --data-dir or --database-url: the service's --witness-policy; the bundle is
    /// then cut at the latest checkpoint that meets its quorum, with the cosignatures. (A
    /// witnessed service's download is always cut so.)
    #[arg(long, value_name = "FILE", conflicts_with = "url")]
    witness_policy: Option<PathBuf>,
}

#[derive(Args)]
struct VerifyArgs {
    /// The bundle folder (not with --url).
    #[arg(conflicts_with = "state")]
    bundle: Option<PathBuf>,
    /// Verify the live instance at this base URL (https://HOST, or http:// on this machine)
    /// instead of a bundle: through its tiles under /log when it serves them.
    #[arg(long, requires = "state")]
    url: Option<String>,
    /// Verify a static tile copy (`pennytrail tiles sync`) at this URL prefix instead.
    #[arg(long, value_name = "PREFIX", requires = "state", conflicts_with_all = ["url", "bundle"])]
    tiles: Option<String>,
    /// With --url or --tiles: the file remembering the last checkpoint verified (created on the first
    /// run). Every later run demands a consistency proof from it and fails on a rollback or
    /// fork; it is only rewritten after a run passed.
    #[arg(long)]
    state: Option<PathBuf>,
    /// The log's verifier key (<name>+<id>+<key>), from a source you trust.
    #[arg(long)]
    key: String,
    /// Refuse a log with fewer entries (so an old bundle cannot pass for a current one).
    #[arg(long)]
    min_size: Option<u64>,
    /// A tlog-policy file, from a source you trust, naming this log and the witnesses
    /// whose cosignatures its checkpoint needs; without it, cosignatures are not checked.
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
}

#[derive(Args)]
struct ReportDraftArgs {
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
}

#[derive(Args)]
struct AckDraftArgs {
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
}

#[derive(Args)]
struct SignArgs {
    /// The draft file; it is rewritten with the signature added.
    draft: PathBuf,
    /// The private key file (`pennytrail keygen` writes one).
    #[arg(long)]
    key: PathBuf,
}

#[derive(Args)]
struct PublishArgs {
    /// The signed draft file.
    draft: PathBuf,
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// The org's API token file (reports; acknowledgements need none).
    #[arg(long)]
    token_file: Option<PathBuf>,
}

#[derive(Args)]
struct VerifyReceiptArgs {
    /// The receipt file: the entry's exact bytes, one LF, then the C2SP tlog-proof (GET
    /// /v1/orgs/{org}/donations/{id}/receipt); or the tlog-proof alone, with --entry.
    receipt: PathBuf,
    /// The entry's exact bytes, when the receipt file holds the proof alone: the body of
    /// GET /v1/entries/{seq}, saved as is (no newline added, not pretty-printed).
    #[arg(long)]
    entry: Option<PathBuf>,
    /// The log's verifier key, from a source you trust.
    #[arg(long)]
    key: String,
    /// A tlog-policy file, from a source you trust, naming this log and the witnesses
    /// whose cosignatures its checkpoint needs; without it, cosignatures are not checked.
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
}

#[derive(Args)]
struct DemoArgs {
    /// Base URL of the service.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// File holding the operator token.
    #[arg(long, default_value = "./data/operator.token")]
    token_file: PathBuf,
    /// Micro-donations per charity (at least 200).
    #[arg(long, default_value_t = pennytrail::demo::DEFAULT_DONATIONS_PER_ORG)]
    donations: usize,
}

#[derive(Args)]
struct LoadgenArgs {
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
    /// Items per request for donation-batches and payout-batches (at most 1000).
    #[arg(long, default_value_t = 1000)]
    batch_size: usize,
    /// Donations preloaded into the campaign for the traces workload.
    #[arg(long, default_value_t = 100_000)]
    preload: usize,
    /// Stop once this many items were written or read (e.g. to fill a log to a size).
    #[arg(long)]
    max_items: Option<u64>,
    /// For the add-checkpoint workload: the submission URL of a witness of this log.
    #[arg(long)]
    witness: Option<String>,
    /// For payout-batches: people the payouts are spread over, at random (1 to 1000000).
    #[arg(long, default_value_t = 100_000)]
    people: usize,
    /// For payout-batches: the campaign publishes caps on payouts to people (high enough
    /// that every payout passes them), so each payout is checked against them.
    #[arg(long)]
    capped: bool,
}

/// Runs the subcommand.
///
/// # Errors
/// Whatever the subcommand failed on, said for the person who ran it.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => commands::serve(args).await,
        Command::Keygen(args) => commands::keygen(args),
        Command::Check(args) => commands::check(args).await,
        Command::Export(args) => commands::export(args).await,
        Command::Verify(args) => commands::verify(args),
        Command::Report(ReportCommand::Draft(args)) => commands::report_draft(args).await,
        Command::Ack(AckCommand::Draft(args)) => commands::ack_draft(args).await,
        Command::Sign(args) => commands::sign(args),
        Command::Publish(args) => commands::publish(args).await,
        Command::VerifyReceipt(args) => commands::verify_receipt(args),
        Command::Demo(args) => commands::demo(args).await,
        Command::Loadgen(args) => commands::loadgen(args).await,
        Command::Tiles(TilesCommand::Sync(args)) => tiles::sync_command(args).await,
        Command::Witness(args) => witness::serve(args).await,
        Command::WitnessEvidence(args) => witness::evidence(args).await,
    }
}
