//! `pennytrail-verify bundle | receipt | url`: see the crate's documentation.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use pennytrail_verify::{commands, output};

/// Checking a bundle parses entries on one thread and frees them on another; a
/// thread-caching allocator keeps that from contending on one lock.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "pennytrail-verify",
    version,
    about = "Check a pennytrail log against its pinned key: an export bundle, a donor's receipt, or a live instance"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Verify an export bundle folder offline: every entry, rule, signature and derived file.
    Bundle {
        /// The bundle folder (unpacked from bundle.tar, or written by `pennytrail export`).
        dir: PathBuf,
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
    },
    /// Check a donor's receipt offline: the file the explorer's "Download receipt" gives
    /// (GET /v1/orgs/{org}/donations/{id}/receipt), which holds the entry and its proof.
    Receipt {
        /// The receipt file: the entry's exact bytes, one LF, then the C2SP tlog-proof; or
        /// the tlog-proof alone, with --entry.
        receipt: PathBuf,
        /// The entry's exact bytes, when the receipt file holds the proof alone: the body
        /// of GET /v1/entries/{seq}, saved as is (no newline added, not pretty-printed).
        #[arg(long)]
        entry: Option<PathBuf>,
        /// The log's verifier key, from a source you trust.
        #[arg(long)]
        key: String,
        /// A tlog-policy file, from a source you trust, naming this log and the witnesses
        /// whose cosignatures its checkpoint needs; without it, cosignatures are not checked.
        #[arg(long, value_name = "FILE")]
        policy: Option<PathBuf>,
    },
    /// Monitor a live instance: verify the whole log and that it extends what the last run saw.
    #[command(group(clap::ArgGroup::new("source").required(true).args(["url", "tiles"])))]
    Url {
        /// The service's base URL (https://HOST, or http://127.0.0.1:PORT on this machine);
        /// its tiles under /log are read when it serves them, its JSON API otherwise.
        url: Option<String>,
        /// Read a static tile copy (`pennytrail tiles sync`) at this URL prefix instead of
        /// a service: the directory holding `checkpoint` and `tile/`.
        #[arg(long, value_name = "PREFIX", conflicts_with = "url")]
        tiles: Option<String>,
        /// The log's verifier key, from a source you trust.
        #[arg(long)]
        key: String,
        /// The file remembering the last checkpoint verified (created on the first run).
        /// Every later run demands a consistency proof from it and fails on a rollback or
        /// fork; it is only rewritten after a run passed.
        #[arg(long)]
        state: PathBuf,
        /// Refuse a log with fewer entries.
        #[arg(long)]
        min_size: Option<u64>,
        /// A tlog-policy file, from a source you trust, naming this log and the witnesses
        /// whose cosignatures its checkpoint needs; without it, cosignatures are not checked.
        #[arg(long, value_name = "FILE")]
        policy: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Bundle {
            dir,
            key,
            min_size,
            policy,
        } => commands::bundle(&dir, &key, min_size, policy.as_deref()),
        Command::Receipt {
            receipt,
            entry,
            key,
            policy,
        } => commands::receipt(&receipt, entry.as_deref(), &key, policy.as_deref()),
        Command::Url {
            url,
            tiles,
            key,
            state,
            min_size,
            policy,
        } => match (&url, &tiles) {
            (_, Some(prefix)) => commands::url(
                commands::Live::Tiles(prefix),
                &key,
                &state,
                min_size,
                policy.as_deref(),
            ),
            (Some(url), None) => commands::url(
                commands::Live::Service(url),
                &key,
                &state,
                min_size,
                policy.as_deref(),
            ),
            // clap requires one of the two; said again should that change.
            (None, None) => Err(anyhow::anyhow!("give the service's URL, or --tiles PREFIX")),
        },
    };
    output::exit_code(result)
}
