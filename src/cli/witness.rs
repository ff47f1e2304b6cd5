//! `pennytrail witness` and `pennytrail witness-evidence`.

use std::net::SocketAddr;
use std::path::PathBuf;

use pennytrail::witness::state::WitnessState;
use pennytrail::witness::{self as service, WitnessConfig};
use pennytrail_verify::outln;

#[derive(clap::Args)]
pub struct WitnessArgs {
    /// Address to listen on.
    #[arg(
        long,
        env = "PENNYTRAIL_WITNESS_LISTEN",
        default_value = "127.0.0.1:8090"
    )]
    listen: SocketAddr,
    /// Directory for the witness's key (witness.key, made on first start) and its
    /// embedded SQLite state; never a log's data directory.
    #[arg(long, env = "PENNYTRAIL_WITNESS_DATA_DIR", default_value = "./witness")]
    data_dir: PathBuf,
    /// Keep the state in PostgreSQL (postgres://…) instead of SQLite.
    #[arg(long, env = "PENNYTRAIL_WITNESS_DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
    /// The witness's name (its key's name), e.g. witness.example.org/w1.
    #[arg(long, env = "PENNYTRAIL_WITNESS_NAME")]
    name: String,
    /// A tlog-policy file whose `log <vkey>` lines are the logs to witness (and a
    /// `quorum none` line, which the format requires).
    #[arg(long, env = "PENNYTRAIL_WITNESS_POLICY")]
    policy: PathBuf,
}

#[derive(clap::Args)]
pub struct EvidenceArgs {
    #[arg(long, env = "PENNYTRAIL_WITNESS_DATA_DIR", default_value = "./witness")]
    data_dir: PathBuf,
    #[arg(long, env = "PENNYTRAIL_WITNESS_DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
}

pub async fn serve(args: WitnessArgs) -> anyhow::Result<()> {
    let running = service::start(WitnessConfig {
        listen: args.listen,
        data_dir: args.data_dir,
        database_url: args.database_url,
        name: args.name,
        policy: args.policy,
    })
    .await?;
    eprintln!("witness verifier key (type 0x04): {}", running.vkey);
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate() => {}
    }
    running.stop().await
}

async fn terminate() {
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(mut term) => {
            term.recv().await;
        }
        Err(_) => std::future::pending().await,
    }
}

pub async fn evidence(args: EvidenceArgs) -> anyhow::Result<()> {
    let state = WitnessState::open(&args.data_dir, args.database_url.as_deref()).await?;
    let evidence = state.evidence().await?;
    state.close().await;
    if evidence.is_empty() {
        outln!("no evidence: every validly signed checkpoint this witness saw was consistent");
        return Ok(());
    }
    for item in &evidence {
        outln!(
            "{} ms  {}  HTTP {}: {}\n{}",
            item.received_ms,
            item.origin,
            item.status,
            item.reason,
            item.request.trim_end()
        );
        outln!("");
    }
    outln!("{} refused checkpoints kept as evidence", evidence.len());
    Ok(())
}
