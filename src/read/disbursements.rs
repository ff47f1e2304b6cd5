//! A disbursement as everyone reads it, with its beneficiary's acknowledgement, and the
//! donations behind it under the allocation rule (its sources, with receipts).

use std::collections::BTreeMap;

use serde::Serialize;

use super::ReadError;
use super::entries::{effective_fields, receipts, text};
use super::witnessed::{ReceiptsCheckpoint, receipts_checkpoint};
use crate::ledger::allocation::Span;
use crate::log::policy::Policy;
use crate::store::{DisbursementView, Store};

#[derive(Serialize, utoipa::ToSchema)]
pub struct DisbursementRecordView {
    pub org: String,
    pub id: String,
    pub campaign: String,
    pub currency: String,
    pub beneficiary: String,
    pub beneficiary_kind: String,
    pub amount: i64,
    /// Position of this disbursement on its campaign's money line (the allocation rule).
    pub disbursed_before: i64,
    pub purpose: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub evidence_sha256: Option<String>,
    /// When the payout was made, where the org said (never after `disbursed_at`); caps
    /// count it in that day and month.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub occurred_at: Option<String>,
    pub seq: u64,
    pub disbursed_at: String,
    pub corrections: Vec<u64>,
    /// The beneficiary's signed word on this payout, if it gave one.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub acknowledgement: Option<AcknowledgementView>,
}

/// A beneficiary's acknowledgement (`received`) or dispute (`disputed`).
#[derive(Serialize, utoipa::ToSchema)]
pub struct AcknowledgementView {
    pub status: String,
    pub amount_received: i64,
    /// Seq of the `disbursement.acknowledged` entry.
    pub seq: u64,
}

pub async fn disbursement_view(
    store: &Store,
    row: DisbursementView,
) -> Result<DisbursementRecordView, ReadError> {
    let e = effective_fields(store, row.seq).await?;
    let acknowledgement =
        store
            .acknowledgement(&row.org, &row.id)
            .await?
            .map(|(status, amount_received, seq)| AcknowledgementView {
                status,
                amount_received,
                seq,
            });
    Ok(DisbursementRecordView {
        acknowledgement,
        currency: text(&e.fields, "currency").unwrap_or_default(),
        purpose: text(&e.fields, "purpose").unwrap_or_default(),
        evidence_sha256: text(&e.fields, "evidence_sha256"),
        occurred_at: text(&e.fields, "occurred_at"),
        disbursed_at: e.time,
        corrections: e.corrections,
        org: row.org,
        id: row.id,
        campaign: row.campaign,
        beneficiary: row.beneficiary,
        beneficiary_kind: row.beneficiary_kind,
        amount: row.amount,
        disbursed_before: row.disbursed_before,
        seq: row.seq,
    })
}

pub async fn find_disbursement(
    store: &Store,
    org: &str,
    id: &str,
) -> Result<DisbursementView, ReadError> {
    store.disbursement(org, id).await?.ok_or_else(|| {
        ReadError::NotFound(format!("disbursement {id:?} of org {org:?} does not exist"))
    })
}

/// Part of a disbursement paid from one donation.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Source {
    pub donation: String,
    /// Minor units of that donation in this disbursement.
    pub amount: i64,
    pub seq: u64,
}

/// The donations behind a disbursement under the allocation rule, with receipts.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Sources {
    pub org: String,
    pub disbursement: String,
    pub campaign: String,
    pub amount: i64,
    pub seq: u64,
    /// This page of sources, in the order the money came in.
    pub sources: Vec<Source>,
    /// Pass as `after` for the next page of sources; null on the last page.
    #[schema(required = true)]
    pub next: Option<i64>,
    /// The signed checkpoint every receipt below proves inclusion in (with its
    /// cosignatures when it is witnessed).
    pub checkpoint: String,
    /// Which checkpoint that is.
    pub receipts_checkpoint: ReceiptsCheckpoint,
    /// C2SP tlog-proof receipts by seq: the disbursement's entry and each source donation's.
    #[schema(value_type = BTreeMap<String, String>)]
    pub receipts: BTreeMap<u64, String>,
}

/// One page of the donations behind disbursement `id` of `org` (sources after line
/// position `after`), with receipts against one checkpoint.
pub async fn sources(
    store: &Store,
    org: String,
    id: &str,
    after: Option<i64>,
    limit: u64,
    witness_policy: Option<&Policy>,
) -> Result<Sources, ReadError> {
    let x = find_disbursement(store, &org, id).await?;
    // The checkpoint (below) is read after the disbursement: it and all its sources are
    // in it.
    let span = Span {
        start: x.disbursed_before,
        len: x.amount,
    };
    let rows = store
        .donations_on_line(&org, &x.campaign, span.start, span.end(), after, limit)
        .await?;
    let next = (rows.len() as u64 == limit)
        .then(|| rows.last().map(|r| r.received_before))
        .flatten();
    let sources: Vec<Source> = rows
        .into_iter()
        .map(|d| Source {
            amount: span.overlap(&Span {
                start: d.received_before,
                len: d.net,
            }),
            donation: d.id,
            seq: d.seq,
        })
        .collect();
    let seqs: Vec<u64> = std::iter::once(x.seq)
        .chain(sources.iter().map(|s| s.seq))
        .collect();
    let highest = seqs.iter().copied().max().unwrap_or(0);
    let (checkpoint, receipts_checkpoint) =
        receipts_checkpoint(store, witness_policy, highest).await?;
    let receipts = receipts(store, seqs, &checkpoint).await?;
    Ok(Sources {
        org,
        disbursement: x.id,
        campaign: x.campaign,
        amount: x.amount,
        seq: x.seq,
        sources,
        next,
        checkpoint: checkpoint.note,
        receipts_checkpoint,
        receipts,
    })
}
