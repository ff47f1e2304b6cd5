//! `pennytrail demo`: seeds a running service, through its public API only, with a
//! realistic data set — three charities in three currencies, stated beneficiaries
//! (overhead and refunds lines included), thousands of micro-donations and payouts — so a
//! newcomer sees a living system. Deterministic and idempotent: running it twice replays.

use anyhow::{Context as _, bail};
use serde_json::{Value, json};

use crate::drafts;
use crate::ledger::attestations::AckStatus;
use crate::ledger::money::Currency;
use crate::log::hash::sha256;
use crate::log::note::NoteSigner;

/// Donations per charity by default: enough for real traces, quick to load.
pub const DEFAULT_DONATIONS_PER_ORG: usize = 3000;

/// Items per batch request (below the API's 1,000-item limit).
const BATCH: usize = 500;

struct Charity {
    id: &'static str,
    name: &'static str,
    country: &'static str,
    currency: &'static str,
    campaign: &'static str,
    title: &'static str,
    purpose: &'static str,
    /// (id, label, kind); persons get pseudonymous labels only.
    beneficiaries: &'static [(&'static str, &'static str, &'static str)],
    /// Typical gift in minor units.
    gift: i64,
}

const CHARITIES: [Charity; 3] = [
    Charity {
        id: "clean-water-ke",
        name: "Clean Water Kenya",
        country: "KE",
        currency: "KES",
        campaign: "wells-2026",
        title: "Village wells 2026",
        purpose: "Drill and maintain wells in Kitui County",
        beneficiaries: &[
            ("drillco", "DrillCo Ltd (drilling contractor)", "supplier"),
            // Registered with a typo that a correction fixes (see `TYPO_FIXED`).
            ("kitui-water-board", "Kitui Water Bord", "organization"),
            ("overhead", "Administration and audit", "overhead"),
            ("refunds", "Refunds to donors", "refunds"),
        ],
        gift: 100,
    },
    Charity {
        id: "school-meals-nl",
        name: "Stichting Schoolmaaltijden",
        country: "NL",
        currency: "EUR",
        campaign: "lunch-2026",
        title: "School lunches 2026",
        purpose: "Hot lunches for pupils in Rotterdam-Zuid",
        beneficiaries: &[
            ("kitchen", "Central kitchen Rotterdam", "supplier"),
            ("school-a", "Basisschool De Horizon", "organization"),
            ("overhead", "Administration", "overhead"),
            ("refunds", "Refunds to donors", "refunds"),
        ],
        gift: 50,
    },
    Charity {
        id: "winter-shelter-uk",
        name: "Winter Shelter Network",
        country: "GB",
        currency: "GBP",
        campaign: "beds-2026",
        title: "Emergency beds winter 2026",
        purpose: "Night shelter beds and meals, December to March",
        beneficiaries: &[
            ("shelter-north", "North shelter", "organization"),
            ("overhead", "Coordination", "overhead"),
            ("refunds", "Refunds to donors", "refunds"),
        ],
        gift: 200,
    },
];

/// A beneficiary label registered with a typo and corrected, as charities do: entries
/// never change, so the correction is an entry of its own and the export shows both
/// (`label`, `label_effective`). (charity, beneficiary, corrected label)
const TYPO_FIXED: (&str, &str, &str) = ("clean-water-ke", "kitui-water-board", "Kitui Water Board");

/// What each person is paid, once, from a campaign: a quarter of its typical gift.
fn stipend(charity: &Charity) -> i64 {
    (charity.gift / 4).max(1)
}

/// Persons paid small amounts directly (pseudonymous: no personal data on the log).
const PERSONS_PER_ORG: usize = 40;

struct Client {
    http: reqwest::Client,
    url: String,
}

impl Client {
    async fn post(&self, path: &str, token: &str, body: &Value) -> anyhow::Result<Value> {
        let response = self
            .http
            .post(format!("{}{path}", self.url))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .with_context(|| format!("POST {path}"))?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        if !status.is_success() {
            bail!("POST {path} answered {status}: {text}");
        }
        serde_json::from_str(&text).with_context(|| format!("POST {path}: answer is not JSON"))
    }
}

/// The demo's signing keys, derived from public names: for demonstration only (anyone
/// can recompute them), so the demo data set is the same on every machine.
pub fn demo_key(scope: &str, id: &str) -> NoteSigner {
    let seed = sha256(format!("pennytrail demo key {scope} {id}").as_bytes());
    NoteSigner::from_seed(id, seed.0).expect("demo ids are valid key names")
}

/// A deterministic generator (no randomness dependency; reproducible data sets).
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n.max(1)
    }
}

/// Seeds the service at `url` with the operator token. Org tokens are issued once, so
/// on a second run the orgs already exist and their records are not re-posted.
pub async fn seed(url: &str, operator_token: &str, donations_per_org: usize) -> anyhow::Result<()> {
    let client = Client {
        http: reqwest::Client::new(),
        url: url.trim_end_matches('/').to_string(),
    };
    for (n, charity) in CHARITIES.iter().enumerate() {
        let registration = client
            .post(
                "/v1/admin/orgs",
                operator_token,
                &json!({"id": charity.id, "name": charity.name, "country": charity.country,
                        "public_key": demo_key("org", charity.id).verifier().to_text()}),
            )
            .await?;
        let Some(token) = registration["api_token"].as_str().map(str::to_string) else {
            eprintln!(
                "{}: already registered; skipping (its API token was issued on the first run)",
                charity.id
            );
            continue;
        };
        let org = format!("/v1/orgs/{}", charity.id);
        let mut beneficiaries: Vec<Value> = charity
            .beneficiaries
            .iter()
            .map(|(id, label, kind)| {
                let mut b =
                    json!({"id": id, "label": label, "kind": kind, "country": charity.country});
                // Organisations and suppliers state keys, so they can acknowledge payouts.
                if matches!(*kind, "organization" | "supplier") {
                    b["public_key"] = demo_key(charity.id, id).verifier().to_text().into();
                }
                b
            })
            .collect();
        for p in 0..PERSONS_PER_ORG {
            beneficiaries.push(
                json!({"id": format!("person-{p:03}"), "label": format!("Participant {p:03}"),
                "kind": "person", "country": charity.country}),
            );
        }
        let registered = client
            .post(
                &format!("{org}/beneficiaries/batch"),
                &token,
                &json!({"beneficiaries": beneficiaries}),
            )
            .await?;
        let (typo_org, typo_beneficiary, corrected) = TYPO_FIXED;
        if charity.id == typo_org {
            let at = charity
                .beneficiaries
                .iter()
                .position(|(id, _, _)| *id == typo_beneficiary)
                .context("the corrected beneficiary is one of the charity's")?;
            let seq = registered["items"][at]["seq"]
                .as_u64()
                .context("the batch answer gives each item's seq")?;
            client
                .post(
                    &format!("{org}/corrections"),
                    &token,
                    &json!({"id": "fix-label-typo", "corrects": seq,
                            "fields": {"label": corrected}}),
                )
                .await?;
        }
        let named: Vec<&str> = charity.beneficiaries.iter().map(|(id, _, _)| *id).collect();
        client
            .post(
                &format!("{org}/campaigns"),
                &token,
                &json!({"id": charity.campaign, "title": charity.title, "purpose": charity.purpose,
                        "currency": charity.currency, "beneficiaries": named,
                        // Published caps on stipends to people (see `stipend-*` below).
                        "max_per_person_per_month": stipend(charity) * 4,
                        "max_payouts_per_person_per_day": 2}),
            )
            .await?;
        let persons: Vec<String> = (0..PERSONS_PER_ORG)
            .map(|p| format!("person-{p:03}"))
            .collect();
        client
            .post(
                &format!("{org}/campaigns/{}/beneficiaries", charity.campaign),
                &token,
                &json!({"beneficiaries": persons}),
            )
            .await?;

        let mut rng = Lcg(n as u64 + 1);
        let mut net_total = 0i64;
        let mut donations = Vec::with_capacity(donations_per_org);
        for d in 0..donations_per_org {
            let amount = charity.gift / 2 + rng.below(charity.gift as u64 * 2) as i64;
            let fee = (amount * 3 / 100).max(1).min(amount);
            net_total += amount - fee;
            let channel = ["card", "sms", "mobile-money"][rng.below(3) as usize];
            let mut item = json!({"id": format!("don-{d:06}"), "campaign": charity.campaign, "amount": amount,
                "fee": fee, "channel": channel});
            if d % 10 == 0 {
                item["donor_ref"] = json!(format!("donor-{}@example.org", d / 10));
            }
            donations.push(item);
        }
        for (i, chunk) in donations.chunks(BATCH).enumerate() {
            client
                .post(
                    &format!("{org}/donations/batch"),
                    &token,
                    &json!({"donations": chunk}),
                )
                .await?;
            eprintln!(
                "{}: donations {} / {}",
                charity.id,
                (i * BATCH + chunk.len()),
                donations_per_org
            );
        }

        // Pay out about 80%: most to the main beneficiaries, 10% overhead, a refund, and
        // many small payouts to persons.
        let budget = net_total * 8 / 10;
        let mut payouts = Vec::new();
        let overhead = budget / 10;
        payouts.push(
            json!({"id": "pay-overhead-1", "campaign": charity.campaign, "beneficiary": "overhead",
            "amount": overhead, "purpose": "Administration, audit and payment processing"}),
        );
        payouts.push(
            json!({"id": "pay-refund-1", "campaign": charity.campaign, "beneficiary": "refunds",
            "amount": charity.gift, "purpose": "Refund of a duplicated card payment"}),
        );
        let main: Vec<&str> = named
            .iter()
            .copied()
            .filter(|b| *b != "overhead" && *b != "refunds")
            .collect();
        let per_person = stipend(charity);
        let person_total = per_person * PERSONS_PER_ORG as i64;
        let mut rest = budget - overhead - charity.gift - person_total;
        let mut k = 0;
        while rest > 0 {
            let amount = (rest / 3).max(charity.gift * 10).min(rest);
            let to = main[k % main.len()];
            payouts.push(
                json!({"id": format!("pay-{k:04}"), "campaign": charity.campaign, "beneficiary": to,
                "amount": amount, "purpose": "Invoice settled for the campaign"}),
            );
            rest -= amount;
            k += 1;
        }
        for p in 0..PERSONS_PER_ORG {
            payouts.push(
                json!({"id": format!("stipend-{p:03}"), "campaign": charity.campaign,
                "beneficiary": format!("person-{p:03}"), "amount": per_person,
                "purpose": "Participation stipend"}),
            );
        }
        client
            .post(
                &format!("{org}/disbursements/batch"),
                &token,
                &json!({"disbursements": payouts}),
            )
            .await?;
        // The first main beneficiary confirms its first payout; the second (if any)
        // disputes one, saying 5% did not arrive. Signed with their own keys.
        for (k, status) in [(0, AckStatus::Received), (1, AckStatus::Disputed)] {
            let Some(payout) = payouts.get(2 + k) else {
                continue;
            };
            let beneficiary = payout["beneficiary"].as_str().unwrap_or_default();
            // Only the main beneficiaries hold keys; with a small budget the payout at
            // this place may be a stipend to a person, and one beneficiary speaks once.
            if !main.contains(&beneficiary) || (k > 0 && beneficiary == main[0]) {
                continue;
            }
            let amount = payout["amount"].as_i64().unwrap_or_default();
            let id = payout["id"].as_str().unwrap_or_default();
            let received = (status == AckStatus::Disputed).then_some(amount - amount / 20);
            let mut draft =
                drafts::draft_ack(&client.url, charity.id, id, status, received).await?;
            draft.sign(&demo_key(charity.id, beneficiary))?;
            let (code, body) = drafts::publish(&client.url, None, &draft).await?;
            if !(200..300).contains(&code) {
                bail!("acknowledging {id}: {code} {body}");
            }
        }
        // A signed report over everything so far.
        let mut report =
            drafts::draft_report(&client.url, charity.id, "report-2026-q4", None, None, None)
                .await?;
        report.sign(&demo_key("org", charity.id))?;
        let (code, body) = drafts::publish(&client.url, Some(&token), &report).await?;
        if !(200..300).contains(&code) {
            bail!("publishing the report of {}: {code} {body}", charity.id);
        }
        eprintln!(
            "{}: {} donations ({} net), {} disbursements; trace one at {}/v1/orgs/{}/donations/don-000000/trace",
            charity.id,
            donations_per_org,
            Currency::parse("currency", charity.currency)?.format(net_total),
            payouts.len(),
            client.url,
            charity.id
        );
    }
    Ok(())
}
