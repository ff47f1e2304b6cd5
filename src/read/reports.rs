//! An org's signed reports as everyone reads them, each verified afresh (its signature
//! against the org key valid when it was logged, and on request every figure recomputed
//! from the log), and the figures a report over a log range must state.

use serde::{Deserialize, Serialize};

use super::ReadError;
use crate::ledger::attestations::{self, ReportFigures, signature_valid};
use crate::ledger::records::Record;
use crate::ledger::report_book::ReportBook;
use crate::log::entry;
use crate::store::{Store, StoreError};

/// A campaign's figures in a report: sums over the covered range, `held` at its end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CampaignFigures {
    #[schema(value_type = crate::formats::Id)]
    pub campaign: String,
    #[schema(value_type = crate::formats::CurrencyCode)]
    pub currency: String,
    /// Received in the range (minor units).
    #[schema(value_type = crate::formats::MinorUnits)]
    pub received: i64,
    #[schema(value_type = crate::formats::MinorUnits)]
    pub fees: i64,
    #[schema(value_type = crate::formats::MinorUnits)]
    pub net: i64,
    #[schema(value_type = crate::formats::MinorUnits)]
    pub disbursed: i64,
    /// Net received and not yet disbursed at `to_size`.
    #[schema(value_type = crate::formats::MinorUnits)]
    pub held: i64,
}

impl From<CampaignFigures> for attestations::CampaignFigures {
    fn from(figures: CampaignFigures) -> Self {
        let CampaignFigures {
            campaign,
            currency,
            received,
            fees,
            net,
            disbursed,
            held,
        } = figures;
        attestations::CampaignFigures {
            campaign,
            currency,
            received,
            fees,
            net,
            disbursed,
            held,
        }
    }
}

impl From<attestations::CampaignFigures> for CampaignFigures {
    fn from(figures: attestations::CampaignFigures) -> Self {
        let attestations::CampaignFigures {
            campaign,
            currency,
            received,
            fees,
            net,
            disbursed,
            held,
        } = figures;
        CampaignFigures {
            campaign,
            currency,
            received,
            fees,
            net,
            disbursed,
            held,
        }
    }
}

/// Disbursed in the range to beneficiaries of one kind, in one currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KindFigures {
    #[schema(value_type = crate::formats::CurrencyCode)]
    pub currency: String,
    #[schema(value_type = crate::formats::BeneficiaryKindName)]
    pub beneficiary_kind: String,
    #[schema(value_type = crate::formats::MinorUnits)]
    pub disbursed: i64,
}

impl From<KindFigures> for attestations::KindFigures {
    fn from(figures: KindFigures) -> Self {
        let KindFigures {
            currency,
            beneficiary_kind,
            disbursed,
        } = figures;
        attestations::KindFigures {
            currency,
            beneficiary_kind,
            disbursed,
        }
    }
}

impl From<attestations::KindFigures> for KindFigures {
    fn from(figures: attestations::KindFigures) -> Self {
        let attestations::KindFigures {
            currency,
            beneficiary_kind,
            disbursed,
        } = figures;
        KindFigures {
            currency,
            beneficiary_kind,
            disbursed,
        }
    }
}

/// A report's two lists of figures, as the API shows them.
pub fn figure_lists(
    figures: attestations::ReportFigures,
) -> (Vec<CampaignFigures>, Vec<KindFigures>) {
    let attestations::ReportFigures {
        campaigns,
        beneficiary_kinds,
    } = figures;
    (
        campaigns.into_iter().map(Into::into).collect(),
        beneficiary_kinds.into_iter().map(Into::into).collect(),
    )
}

/// Entries read per query while recomputing a report's figures.
const FIGURES_PAGE: u64 = 1000;

/// The figures a report of `org` over `[from, to)` must state, recomputed from the org's
/// committed entries.
pub async fn figures_from_store(
    store: &Store,
    org: &str,
    from: u64,
    to: u64,
) -> Result<ReportFigures, StoreError> {
    let mut book = ReportBook::every_org();
    let mut next = 0;
    while next < to {
        let page = store.org_entries(org, next, to, FIGURES_PAGE).await?;
        let Some((last, _)) = page.last() else { break };
        next = last + 1;
        for (seq, bytes) in &page {
            let e = entry::parse(bytes)
                .map_err(|e| StoreError::Corrupt(format!("entry {seq}: {e}")))?;
            let (record, derived) = Record::from_entry(&e)
                .map_err(|e| StoreError::Corrupt(format!("entry {seq}: {e}")))?;
            book.push(org, *seq, &record, &derived);
        }
    }
    Ok(book.figures(org, from, to))
}

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

pub async fn report_view(
    store: &Store,
    origin: &str,
    org: &str,
    seq: u64,
    recompute: bool,
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
    let signature_ok = key
        .as_ref()
        .is_some_and(|(k, _)| signature_valid(k, &r.signed_message(origin, org), &r.signature));
    let (figures_match, difference) = if recompute {
        let actual = figures_from_store(store, org, r.from_size, r.to_size).await?;
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
