//! An org's signed reports as everyone reads them, each verified afresh: its signature
//! against the org key valid when it was logged, and on request every figure recomputed
//! from the log ([`super::figures`]).

use serde::Serialize;

use super::ReadError;
use super::figures::{CampaignFigures, FiguresCache, KindFigures, figure_lists};
use crate::ledger::attestations::signature_valid;
use crate::ledger::records::Record;
use crate::log::entry;
use crate::store::{Store, StoreError};

/// A report as logged, with its verification.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ReportView {
    pub report: String,
    pub seq: u64,
    pub from_size: u64,
    pub to_size: u64,
    /// As in [`FiguresView`].
    pub campaigns: Vec<CampaignFigures>,
    pub beneficiary_kinds: Vec<KindFigures>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document_sha256: Option<String>,
    pub signature: String,
    /// The org key valid when the report was logged, and the seq of the entry that set it.
    pub signed_by: Option<String>,
    pub signed_by_seq: Option<u64>,
    pub verification: ReportVerification,
}

/// What a fresh check of a logged report found.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ReportVerification {
    /// `verified` when both checks pass, else `failed`.
    pub status: &'static str,
    /// Whether the signature is valid under the key valid at that point of the log.
    pub signature_valid: bool,
    /// Whether every figure equals what the log implies (only on `GET …/reports/{id}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub figures_match: Option<bool>,
    /// The first figure that differs, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub difference: Option<String>,
}

/// The report logged at `seq` by `org`, with its signature checked again and, given the
/// cache to recompute through, every figure compared with the log's.
pub async fn report_view(
    store: &Store,
    origin: &str,
    org: &str,
    seq: u64,
    recompute: Option<&FiguresCache>,
) -> Result<ReportView, ReadError> {
    let bytes = store
        .entry(seq)
        .await?
        .ok_or_else(|| StoreError::Corrupt(format!("entry {seq} is missing")))?;
    let e = entry::parse(&bytes).map_err(|e| StoreError::Corrupt(format!("entry {seq}: {e}")))?;
    let Ok((Record::Report(r), _)) = Record::from_entry(&e) else {
        return Err(StoreError::Corrupt(format!("entry {seq} is not a report")).into());
    };
    let key = store.org_key_at(org, seq).await?;
    let message = r.signed_message(origin, org);
    let signature_ok = match (&key, &message) {
        (Some((k, _)), Ok(message)) => signature_valid(k, message, &r.signature),
        _ => false,
    };
    let (figures_match, difference) = if let Some(figures) = recompute {
        let actual = figures.figures(store, org, r.from_size, r.to_size).await?;
        let difference = r
            .figures
            .first_difference(&actual)
            .map(|(f, said, log)| format!("{f}: the report says {said}, the log implies {log}"));
        (Some(difference.is_none()), difference)
    } else {
        (None, None)
    };
    let verified = signature_ok && figures_match != Some(false);
    let (campaigns, beneficiary_kinds) = figure_lists(r.figures);
    Ok(ReportView {
        report: r.id,
        seq,
        from_size: r.from_size,
        to_size: r.to_size,
        campaigns,
        beneficiary_kinds,
        document_sha256: r.document_sha256,
        signature: r.signature,
        signed_by: key.as_ref().map(|(k, _)| k.clone()),
        signed_by_seq: key.map(|(_, s)| s),
        verification: ReportVerification {
            status: if verified { "verified" } else { "failed" },
            signature_valid: signature_ok,
            figures_match,
            difference,
        },
    })
}
