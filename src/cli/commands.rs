//! One function per subcommand of `pennytrail`.

use std::path::Path;
use std::time::Duration;

use anyhow::Context as _;
use pennytrail::app::{self, ServeConfig};
use pennytrail::check::check_store;
use pennytrail::ledger::attestations::AckStatus;
use pennytrail::loadgen::{self, LoadConfig, Workload};
use pennytrail::log::checkpoint::is_valid_origin;
use pennytrail::{demo, drafts, export, keys, store};
use pennytrail_verify::outln;
use pennytrail_verify::progress::Progress;

use super::{
    AckDraftArgs, DemoArgs, ExportArgs, KeygenArgs, LoadgenArgs, PublishArgs, ReportDraftArgs,
    ServeArgs, SignArgs, StoreArgs, VerifyArgs, VerifyReceiptArgs,
};

/// A `--url` checked as every command that goes out takes it (https://, or http:// on
/// this machine), without a trailing `/`.
fn service_url(url: &str) -> anyhow::Result<String> {
    pennytrail_verify::http::base_url(url)
        .map_err(|reason| anyhow::anyhow!("--url {url:?}: {reason}"))
}

/// A token from a file, without its line end.
fn read_token(path: &Path, what: &str) -> anyhow::Result<String> {
    let token = std::fs::read_to_string(path)
        .with_context(|| format!("reading {what} from {}", path.display()))?;
    Ok(token.trim().to_string())
}

pub async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let running = app::start(ServeConfig {
        listen: args.listen,
        store: args.store.config(),
        origin: args.origin,
        log_key: args.log_key,
        donor_secret: args.donor_secret,
        org_writes_per_second: args.org_writes_per_second,
        request_timeout: Duration::from_secs(args.request_timeout_seconds),
        writer_loss_drain: app::WRITER_LOSS_DRAIN,
        faults: Default::default(),
        trusted_proxies: args.trusted_proxies,
        tile_cache_bytes: args.tile_cache_mb.saturating_mul(1024 * 1024),
        witness_policy: args.witness_policy,
    })
    .await?;
    running.wait().await
}

/// A `--witness-policy` file checked against the log in `store`, as `serve` checks it.
pub async fn store_witness_policy(
    store: &store::Store,
    path: &Path,
) -> anyhow::Result<pennytrail::log::policy::Policy> {
    let meta = store
        .log_meta()
        .await?
        .context("the database holds no log yet")?;
    let own = pennytrail::log::note::NoteVerifier::from_text(&meta.verifier_key)
        .context("the database's verifier key")?;
    pennytrail::witness::collect::read_log_policy(path, &own)
}

pub fn keygen(args: KeygenArgs) -> anyhow::Result<()> {
    let KeygenArgs { name, out } = args;
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

pub async fn check(args: StoreArgs) -> anyhow::Result<()> {
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

pub async fn export(args: ExportArgs) -> anyhow::Result<()> {
    let ExportArgs {
        store,
        url,
        out,
        witness_policy,
    } = args;
    if let Some(url) = url {
        let url = service_url(&url)?;
        let mut progress = Progress::new("download (bytes)");
        let dir =
            export::download_bundle(&url, out, |done, total| progress.update(done, total)).await?;
        progress.finish();
        outln!(
            "wrote {}; check it with: pennytrail verify {} --key <the log's key, from a source you trust>",
            dir.display(),
            dir.display()
        );
        return Ok(());
    }
    let opened = store::open(&store.config())
        .await
        .context("opening the database")?;
    let policy = match &witness_policy {
        Some(path) => Some(store_witness_policy(&opened, path).await?),
        None => None,
    };
    let mut progress = Progress::new("export");
    let (dir, summary) = export::export_store(&opened, policy.as_ref(), out, |done, total| {
        progress.update(done, total)
    })
    .await?;
    progress.finish();
    outln!("wrote {} ({} entries)", dir.display(), summary.entries);
    Ok(())
}

pub fn verify(args: VerifyArgs) -> anyhow::Result<()> {
    let VerifyArgs {
        bundle,
        url,
        tiles,
        state,
        key,
        min_size,
        policy,
    } = args;
    use pennytrail_verify::commands::Live;
    let policy = policy.as_deref();
    match (bundle, url, tiles, state) {
        (Some(bundle), None, None, None) => {
            pennytrail_verify::commands::bundle(&bundle, &key, min_size, policy)
        }
        (None, Some(url), None, Some(state)) => {
            pennytrail_verify::commands::url(Live::Service(&url), &key, &state, min_size, policy)
        }
        (None, None, Some(prefix), Some(state)) => {
            pennytrail_verify::commands::url(Live::Tiles(&prefix), &key, &state, min_size, policy)
        }
        // clap enforces the combinations; this names them should that ever change.
        _ => anyhow::bail!(
            "give a bundle folder, or --url https://HOST or --tiles PREFIX with --state FILE"
        ),
    }
}

pub fn verify_receipt(args: VerifyReceiptArgs) -> anyhow::Result<()> {
    pennytrail_verify::commands::receipt(
        &args.receipt,
        args.entry.as_deref(),
        &args.key,
        args.policy.as_deref(),
    )
}

pub async fn report_draft(args: ReportDraftArgs) -> anyhow::Result<()> {
    let ReportDraftArgs {
        url,
        org,
        id,
        from,
        to,
        document,
        out,
    } = args;
    let url = service_url(&url)?;
    let draft = drafts::draft_report(&url, &org, &id, from, to, document.as_deref()).await?;
    draft.write(&out)?;
    eprintln!(
        "wrote {}; check the figures, then: pennytrail sign --key ORG_KEY {}",
        out.display(),
        out.display()
    );
    Ok(())
}

pub async fn ack_draft(args: AckDraftArgs) -> anyhow::Result<()> {
    let AckDraftArgs {
        url,
        org,
        disbursement,
        status,
        amount_received,
        out,
    } = args;
    let url = service_url(&url)?;
    let status = AckStatus::parse("--status", &status)?;
    let draft = drafts::draft_ack(&url, &org, &disbursement, status, amount_received).await?;
    draft.write(&out)?;
    eprintln!(
        "wrote {}; then: pennytrail sign --key BENEFICIARY_KEY {}",
        out.display(),
        out.display()
    );
    Ok(())
}

pub fn sign(args: SignArgs) -> anyhow::Result<()> {
    let SignArgs { draft, key } = args;
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

pub async fn publish(args: PublishArgs) -> anyhow::Result<()> {
    let PublishArgs {
        draft,
        url,
        token_file,
    } = args;
    let url = service_url(&url)?;
    let parsed = drafts::Draft::read(&draft)?;
    let token = token_file
        .map(|f| read_token(&f, "the org's token"))
        .transpose()?;
    let (status, body) = drafts::publish(&url, token.as_deref(), &parsed).await?;
    outln!("{}", serde_json::to_string_pretty(&body)?);
    if !(200..300).contains(&status) {
        anyhow::bail!("the service refused it ({status})");
    }
    Ok(())
}

pub async fn demo(args: DemoArgs) -> anyhow::Result<()> {
    let DemoArgs {
        url,
        token_file,
        donations,
    } = args;
    let url = service_url(&url)?;
    if !(200..=1_000_000).contains(&donations) {
        anyhow::bail!("--donations must be between 200 and 1000000");
    }
    let token = read_token(&token_file, "the operator token")?;
    demo::seed(&url, &token, donations).await
}

pub async fn loadgen(args: LoadgenArgs) -> anyhow::Result<()> {
    let LoadgenArgs {
        url,
        token_file,
        concurrency,
        seconds,
        workload,
        batch_size,
        preload,
        max_items,
        witness,
        people,
        capped,
    } = args;
    let url = service_url(&url)?;
    if !(1..=1_000_000).contains(&people) {
        anyhow::bail!("--people must be between 1 and 1000000");
    }
    let witness = witness
        .map(|w| {
            pennytrail_verify::http::base_url(&w)
                .map_err(|reason| anyhow::anyhow!("--witness {w:?}: {reason}"))
        })
        .transpose()?;
    if !(1..=10_000).contains(&concurrency) {
        anyhow::bail!("--concurrency must be between 1 and 10000");
    }
    if !(1..=1000).contains(&batch_size) {
        anyhow::bail!("--batch-size must be between 1 and 1000");
    }
    let mut config = LoadConfig {
        url,
        operator_token: read_token(&token_file, "the operator token")?,
        concurrency,
        duration: Duration::from_secs(seconds.max(1)),
        workload,
        batch_size,
        preload,
        max_items,
        witness,
        people,
        capped,
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
