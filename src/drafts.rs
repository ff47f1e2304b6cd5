//! Signed statements for people without our code stack: `pennytrail report draft` and
//! `pennytrail ack draft` fetch what a statement must say into a draft file;
//! `pennytrail sign --key FILE DRAFT` signs it locally (the private key never leaves
//! the signer's machine, and the exact message is printed before it is signed);
//! `pennytrail publish DRAFT` posts it.
//!
//! A draft is JSON: `format`, `statement` (`report` or `acknowledgement`), the log's
//! `origin`, the `org`, what the message needs besides the body (for an acknowledgement
//! the disbursement entry's `seq` and `leaf_hash`, computed locally from its bytes), and
//! the request `body` to post, which gets its `signature` when signed.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context as _, bail};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::ledger::attestations::{AckStatus, Acknowledgement, Report, ReportInput, sign};
use crate::log::hash::{Hash, leaf_hash, sha256};
use crate::log::note::NoteSigner;

pub const DRAFT_FORMAT: &str = "pennytrail-draft/1";

/// See the module docs.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Draft {
    pub format: String,
    pub statement: String,
    pub origin: String,
    pub org: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disbursement: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leaf_hash: Option<String>,
    pub body: Value,
}

impl Draft {
    /// Where `publish` posts it.
    pub fn path(&self) -> anyhow::Result<String> {
        match self.statement.as_str() {
            "report" => Ok(format!("/v1/orgs/{}/reports", self.org)),
            "acknowledgement" => Ok(format!(
                "/v1/orgs/{}/disbursements/{}/acknowledgement",
                self.org,
                self.disbursement
                    .as_deref()
                    .context("the draft names no disbursement")?
            )),
            other => bail!("statement {other:?}: expected \"report\" or \"acknowledgement\""),
        }
    }

    /// The exact bytes the signer signs, rebuilt from the draft (never taken from it).
    pub fn message(&self) -> anyhow::Result<Vec<u8>> {
        if self.format != DRAFT_FORMAT {
            bail!("format {:?}: expected {DRAFT_FORMAT:?}", self.format);
        }
        match self.statement.as_str() {
            "report" => {
                let mut body = self.body.clone();
                if let Some(b) = body.as_object_mut() {
                    b.remove("signature");
                }
                let input: ReportInput =
                    serde_json::from_value(body).context("body: not a report")?;
                // Checked as the service will check it, which also makes sure that the
                // message can be built (every number and id fits in an entry).
                let report = Report::parse_unsigned(input).context("body")?;
                let org = crate::ledger::fields::id("org", &self.org)?;
                Ok(report
                    .signed_message(&self.origin, &org)
                    .context("body: the report")?)
            }
            "acknowledgement" => {
                let status = self.body["status"].as_str().context("body.status")?;
                let status = AckStatus::parse("body.status", status)?;
                let amount = self.body["amount_received"]
                    .as_i64()
                    .context("body.amount_received: an integer")?;
                let seq = self.seq.context("seq: the disbursement entry's seq")?;
                let leaf = Hash::from_hex(self.leaf_hash.as_deref().context("leaf_hash")?)
                    .map_err(|_| anyhow::anyhow!("leaf_hash: 64 hex digits"))?;
                Ok(Acknowledgement::message(&self.origin, seq, &leaf, status, amount).into_bytes())
            }
            other => bail!("statement {other:?}: expected \"report\" or \"acknowledgement\""),
        }
    }

    /// Signs the draft with `signer`.
    pub fn sign(&mut self, signer: &NoteSigner) -> anyhow::Result<()> {
        let message = self.message()?;
        let signature = sign(signer, &message);
        self.body
            .as_object_mut()
            .context("body: not an object")?
            .insert("signature".into(), signature.into());
        Ok(())
    }

    pub fn read(path: &Path) -> anyhow::Result<Draft> {
        let text = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        serde_json::from_slice(&text).with_context(|| format!("{}: not a draft", path.display()))
    }

    pub fn write(&self, path: &Path) -> anyhow::Result<()> {
        let mut text = serde_json::to_string_pretty(self)?;
        text.push('\n');
        std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
    }
}

struct Api {
    http: reqwest::Client,
    base: String,
}

impl Api {
    fn new(url: &str) -> anyhow::Result<Api> {
        Ok(Api {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()?,
            base: url.trim_end_matches('/').to_string(),
        })
    }

    async fn get(&self, path: &str) -> anyhow::Result<Vec<u8>> {
        let url = format!("{}{path}", self.base);
        let response = self
            .http
            .get(&url)
            .send()
            .await
            .with_context(|| format!("GET {url}"))?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .with_context(|| format!("GET {url}"))?;
        if !status.is_success() {
            bail!("GET {url}: {status}: {}", String::from_utf8_lossy(&body));
        }
        Ok(body.to_vec())
    }

    async fn get_json(&self, path: &str) -> anyhow::Result<Value> {
        let body = self.get(path).await?;
        serde_json::from_slice(&body).with_context(|| format!("GET {path}: not JSON"))
    }
}

/// A report draft over `[from, to)` (defaults: 0 and the latest checkpoint) with the
/// figures the log implies; `document` is hashed into `document_sha256`.
pub async fn draft_report(
    url: &str,
    org: &str,
    id: &str,
    from: Option<u64>,
    to: Option<u64>,
    document: Option<&Path>,
) -> anyhow::Result<Draft> {
    let api = Api::new(url)?;
    let mut query = vec![format!("from={}", from.unwrap_or(0))];
    if let Some(to) = to {
        query.push(format!("to={to}"));
    }
    let figures = api
        .get_json(&format!(
            "/v1/orgs/{org}/report-figures?{}",
            query.join("&")
        ))
        .await?;
    let mut body = json!({
        "id": id,
        "from_size": figures["from_size"],
        "to_size": figures["to_size"],
        "campaigns": figures["campaigns"],
        "beneficiary_kinds": figures["beneficiary_kinds"],
    });
    if let Some(path) = document {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        body["document_sha256"] = sha256(&bytes).to_hex().into();
    }
    Ok(Draft {
        format: DRAFT_FORMAT.into(),
        statement: "report".into(),
        origin: figures["origin"].as_str().context("origin")?.to_string(),
        org: org.to_string(),
        disbursement: None,
        seq: None,
        leaf_hash: None,
        body,
    })
}

/// An acknowledgement draft: the disbursement's entry is fetched and its leaf hash
/// computed here, from its bytes. `received` confirms the whole amount; `disputed`
/// needs `amount_received`.
pub async fn draft_ack(
    url: &str,
    org: &str,
    disbursement: &str,
    status: AckStatus,
    amount_received: Option<i64>,
) -> anyhow::Result<Draft> {
    let api = Api::new(url)?;
    let log = api.get_json("/v1/log").await?;
    let view = api
        .get_json(&format!("/v1/orgs/{org}/disbursements/{disbursement}"))
        .await?;
    let seq = view["seq"]
        .as_u64()
        .context("the disbursement has no seq")?;
    let amount = view["amount"]
        .as_i64()
        .context("the disbursement has no amount")?;
    let bytes = api.get(&format!("/v1/entries/{seq}")).await?;
    let entry = crate::log::entry::parse(&bytes).context("the disbursement entry")?;
    if entry.str_field("disbursement") != Some(disbursement) || entry.org.as_deref() != Some(org) {
        bail!("entry {seq} is not disbursement {disbursement:?} of {org:?}");
    }
    let amount_received = match (status, amount_received) {
        (AckStatus::Received, None) => amount,
        (AckStatus::Received, Some(a)) if a == amount => a,
        (AckStatus::Received, Some(a)) => {
            bail!(
                "--amount-received {a}: \"received\" confirms the whole {amount}; dispute it instead"
            )
        }
        (AckStatus::Disputed, Some(a)) => a,
        (AckStatus::Disputed, None) => bail!("a dispute needs --amount-received"),
    };
    Ok(Draft {
        format: DRAFT_FORMAT.into(),
        statement: "acknowledgement".into(),
        origin: log["origin"].as_str().context("origin")?.to_string(),
        org: org.to_string(),
        disbursement: Some(disbursement.to_string()),
        seq: Some(seq),
        leaf_hash: Some(leaf_hash(&bytes).to_hex()),
        body: json!({"status": status.as_str(), "amount_received": amount_received}),
    })
}

/// Posts a signed draft; returns the response's status and body.
pub async fn publish(
    url: &str,
    token: Option<&str>,
    draft: &Draft,
) -> anyhow::Result<(u16, Value)> {
    if draft.body.get("signature").is_none() {
        bail!("the draft is not signed yet: run pennytrail sign --key FILE first");
    }
    let api = Api::new(url)?;
    let target = format!("{}{}", api.base, draft.path()?);
    let mut request = api.http.post(&target).json(&draft.body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request
        .send()
        .await
        .with_context(|| format!("POST {target}"))?;
    let status = response.status().as_u16();
    let body = response.bytes().await?;
    let value = serde_json::from_slice(&body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()));
    Ok((status, value))
}
