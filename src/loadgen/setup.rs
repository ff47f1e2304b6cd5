//! Setting a run up through the public API with the operator token: a fresh org (its id
//! carries a random run id), beneficiaries and a campaign, and what a workload needs to
//! exist first (preloaded donations, people to pay, a witness that holds the checkpoint).

use std::time::Instant;

use anyhow::{Context as _, bail};
use serde_json::{Value, json};

use super::{LoadConfig, Workload};

/// What the workers need: the org they write to, and what exists to read.
#[derive(Debug, Clone, Default)]
pub(super) struct Target {
    pub org: String,
    pub org_token: String,
    pub campaign: String,
    /// Donation ids `pre-{0..preloaded}` exist.
    pub preloaded: usize,
    pub log_size: u64,
    /// The add-checkpoint request the witness workload sends.
    pub submission: String,
    /// Beneficiaries `person-{0..people}` (kind `person`) are stated for the campaign.
    pub people: usize,
}

async fn post(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    body: &Value,
) -> anyhow::Result<Value> {
    let response = client
        .post(url)
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .with_context(|| format!("POST {url}"))?;
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    if !status.is_success() {
        bail!("POST {url}: {status}: {text}");
    }
    Ok(serde_json::from_str(&text)?)
}

pub(super) async fn setup(
    client: &reqwest::Client,
    config: &LoadConfig,
    run_id: &str,
) -> anyhow::Result<Target> {
    let url = &config.url;
    let org = format!("load-{run_id}");
    let registered = post(
        client,
        &format!("{url}/v1/admin/orgs"),
        &config.operator_token,
        &json!({"id": org, "name": "Load test", "country": "NL"}),
    )
    .await?;
    let org_token = registered["api_token"]
        .as_str()
        .context("no api_token")?
        .to_string();
    let base = format!("{url}/v1/orgs/{org}");
    for (id, kind) in [("supplier", "supplier"), ("overhead", "overhead")] {
        post(
            client,
            &format!("{base}/beneficiaries"),
            &org_token,
            &json!({"id": id, "label": id, "kind": kind, "country": "NL"}),
        )
        .await?;
    }
    let campaign = "load".to_string();
    post(
        client,
        &format!("{base}/campaigns"),
        &org_token,
        &campaign_body(&campaign, config.capped),
    )
    .await?;
    let mut target = Target {
        org,
        org_token,
        campaign,
        ..Target::default()
    };
    if config.workload == Workload::Traces {
        // Preload donations of 10 minor units and, after every 1,000 of them, one
        // disbursement of 9,000: traces then cross the whole line.
        let started = Instant::now();
        let chunk = 1000;
        for start in (0..config.preload).step_by(chunk) {
            let items: Vec<Value> = (start..(start + chunk).min(config.preload))
                .map(|i| json!({"id": format!("pre-{i}"), "campaign": target.campaign, "amount": 10, "fee": 0, "channel": "card"}))
                .collect();
            post(
                client,
                &format!("{base}/donations/batch"),
                &target.org_token,
                &json!({"donations": items}),
            )
            .await?;
            post(client, &format!("{base}/disbursements"), &target.org_token, &json!({"id": format!("pay-{start}"),
                "campaign": target.campaign, "beneficiary": "supplier", "amount": 9000, "purpose": "Invoice"})).await?;
            if start % 100_000 == 0 {
                eprintln!(
                    "  preloaded {start} donations ({:.0} s)",
                    started.elapsed().as_secs_f64()
                );
            }
        }
        target.preloaded = config.preload;
    }
    if config.workload == Workload::PayoutBatches {
        target.people = config.people;
        state_people(client, config, &base, &target).await?;
    }
    let log: Value = client
        .get(format!("{url}/v1/log"))
        .send()
        .await?
        .json()
        .await?;
    target.log_size = log["size"].as_u64().unwrap_or(0);
    if config.workload == Workload::AddCheckpoint {
        let witness = config
            .witness
            .as_deref()
            .context("the add-checkpoint workload needs --witness URL")?;
        target.submission = witness_submission(client, url, witness).await?;
    }
    Ok(target)
}

/// Brings the witness to the service's latest checkpoint (submitting it with a
/// consistency proof from the size the witness holds) and returns the request that
/// submits it again.
async fn witness_submission(
    client: &reqwest::Client,
    url: &str,
    witness: &str,
) -> anyhow::Result<String> {
    let note = client
        .get(format!("{url}/v1/checkpoint"))
        .send()
        .await?
        .error_for_status()?
        .text()
        .await?;
    let mut lines = note.lines();
    let origin = lines.next().context("an empty checkpoint")?;
    let size: u64 = lines
        .next()
        .and_then(|l| l.parse().ok())
        .context("a checkpoint without a size")?;
    let hash = crate::log::hash::sha256(origin.as_bytes()).to_hex();
    let held = client
        .get(format!("{witness}/{hash}/checkpoint"))
        .send()
        .await?;
    let held: u64 = if held.status() == reqwest::StatusCode::NOT_FOUND {
        0
    } else {
        held.error_for_status()?
            .text()
            .await?
            .lines()
            .nth(1)
            .and_then(|l| l.parse().ok())
            .context("the witness's checkpoint has no size")?
    };
    let mut first = format!("old {held}\n");
    if held > 0 && held < size {
        let proof: Value = client
            .get(format!("{url}/v1/proofs/consistency?from={held}&to={size}"))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        for hash in proof["hashes"]
            .as_array()
            .context("a proof without hashes")?
        {
            first.push_str(hash.as_str().context("a proof hash")?);
            first.push('\n');
        }
    }
    let submit = |body: String| {
        let client = client.clone();
        async move {
            let response = client
                .post(format!("{witness}/add-checkpoint"))
                .body(body)
                .send()
                .await?;
            let status = response.status();
            let text = response.text().await?;
            anyhow::ensure!(status.is_success(), "the witness answered {status}: {text}");
            Ok(())
        }
    };
    submit(format!("{first}\n{note}")).await?;
    let again = format!("old {size}\n\n{note}");
    submit(again.clone()).await?;
    Ok(again)
}

/// The load campaign: EUR, paying a supplier and overhead; with `capped`, caps on payouts
/// to people that a run stays under (so every payout is checked against them and passes).
fn campaign_body(campaign: &str, capped: bool) -> Value {
    let mut body = json!({"id": campaign, "title": "Load", "purpose": "Load test",
        "currency": "EUR", "beneficiaries": ["supplier", "overhead"]});
    if capped {
        body["max_per_person_per_day"] = json!(1_000_000_000_i64);
        body["max_per_person_per_month"] = json!(10_000_000_000_i64);
        body["max_payouts_per_person_per_day"] = json!(1_000_000);
    }
    body
}

/// Registers `person-{0..people}`, states them for the campaign, and funds it with one
/// donation that covers a payout of 1 cent per entry the log can hold.
async fn state_people(
    client: &reqwest::Client,
    config: &LoadConfig,
    base: &str,
    target: &Target,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let ids: Vec<String> = (0..config.people).map(|p| format!("person-{p}")).collect();
    for chunk in ids.chunks(1000) {
        let items: Vec<Value> = chunk
            .iter()
            .map(|id| json!({"id": id, "label": "Participant", "kind": "person", "country": "NL"}))
            .collect();
        post(
            client,
            &format!("{base}/beneficiaries/batch"),
            &target.org_token,
            &json!({"beneficiaries": items}),
        )
        .await?;
    }
    for chunk in ids.chunks(100) {
        post(
            client,
            &format!("{base}/campaigns/{}/beneficiaries", target.campaign),
            &target.org_token,
            &json!({"beneficiaries": chunk}),
        )
        .await?;
    }
    post(
        client,
        &format!("{base}/donations"),
        &target.org_token,
        &json!({"id": "fund", "campaign": target.campaign, "amount": 1_000_000_000_000_i64,
                "fee": 0, "channel": "card"}),
    )
    .await?;
    eprintln!(
        "  stated {} people ({:.0} s)",
        config.people,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
