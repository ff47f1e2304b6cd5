//! A donation as everyone reads it, where its money went under the allocation rule (the
//! trace, with receipts), and a donor's donations found by their own reference.

use std::collections::BTreeMap;

use serde::Serialize;

use super::entries::{effective_fields, receipts, text};
use super::witnessed::{ReceiptsCheckpoint, receipts_checkpoint};
use super::{MAX_LIST_PAGE, ReadError};
use crate::app::AppState;
use crate::ledger::allocation::{Span, held};
use crate::ledger::donor::{check_reference, commitment};
use crate::ledger::fields;
use crate::limits::Client;
use crate::log::policy::Policy;
use crate::store::{DonationView, Store, StoreError};

#[derive(Serialize, utoipa::ToSchema)]
pub struct DonationRecordView {
    pub org: String,
    pub id: String,
    pub campaign: String,
    pub currency: String,
    pub amount: i64,
    pub fee: i64,
    pub net: i64,
    /// Position of this donation on its campaign's money line (the allocation rule).
    pub received_before: i64,
    pub channel: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub occurred_at: Option<String>,
    pub seq: u64,
    pub received_at: String,
    pub corrections: Vec<u64>,
}

pub async fn donation_view(
    store: &Store,
    row: DonationView,
) -> Result<DonationRecordView, ReadError> {
    let e = effective_fields(store, row.seq).await?;
    Ok(DonationRecordView {
        currency: text(&e.fields, "currency").unwrap_or_default(),
        channel: text(&e.fields, "channel").unwrap_or_default(),
        occurred_at: text(&e.fields, "occurred_at"),
        received_at: e.time,
        corrections: e.corrections,
        org: row.org,
        id: row.id,
        campaign: row.campaign,
        amount: row.amount,
        fee: row.fee,
        net: row.net,
        received_before: row.received_before,
        seq: row.seq,
    })
}

pub async fn find_donation(store: &Store, org: &str, id: &str) -> Result<DonationView, ReadError> {
    store.donation(org, id).await?.ok_or_else(|| {
        ReadError::NotFound(format!("donation {id:?} of org {org:?} does not exist"))
    })
}

/// Part of a donation that went to one disbursement.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Flow {
    pub disbursement: String,
    pub beneficiary: String,
    pub beneficiary_kind: String,
    /// Minor units of this donation in that disbursement.
    pub amount: i64,
    /// Seq of the disbursement's entry (its receipt is under `receipts`).
    pub seq: u64,
}

/// Where a donation's money went under the allocation rule, with receipts.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Trace {
    pub org: String,
    pub donation: String,
    pub campaign: String,
    pub currency: String,
    pub net: i64,
    pub seq: u64,
    /// This page of flows, in the order the money was paid out.
    pub flows: Vec<Flow>,
    /// Everything this donation has funded so far (all pages).
    pub funded: i64,
    /// What of its net is still held by the campaign.
    pub held: i64,
    /// Pass as `after` for the next page of flows; null on the last page.
    #[schema(required = true)]
    pub next: Option<i64>,
    /// The signed checkpoint every receipt below proves inclusion in (with its
    /// cosignatures when it is witnessed).
    pub checkpoint: String,
    /// Which checkpoint that is.
    pub receipts_checkpoint: ReceiptsCheckpoint,
    /// C2SP tlog-proof receipts by seq: the donation's entry and each flow's disbursement.
    #[schema(value_type = BTreeMap<String, String>)]
    pub receipts: BTreeMap<u64, String>,
}

/// One page of the trace of donation `id` of `org` (flows after line position `after`),
/// with receipts: what the trace endpoint answers and the explorer's lookup page shows.
pub async fn trace(
    store: &Store,
    org: String,
    id: &str,
    after: Option<i64>,
    limit: u64,
    witness_policy: Option<&Policy>,
) -> Result<Trace, ReadError> {
    let donation = find_donation(store, &org, id).await?;
    // Order matters: the campaign's disbursed total first, then (below) the checkpoint.
    // Every disbursement below that total was committed, with its checkpoint, before it.
    let campaign = store
        .campaign(&org, &donation.campaign)
        .await?
        .ok_or_else(|| StoreError::Corrupt(format!("campaign {} is missing", donation.campaign)))?;
    let span = Span {
        start: donation.received_before,
        len: donation.net,
    };
    let upper = span.end().min(campaign.disbursed);
    let rows = if upper > span.start {
        store
            .disbursements_on_line(&org, &donation.campaign, span.start, upper, after, limit)
            .await?
    } else {
        Vec::new()
    };
    let next = (rows.len() as u64 == limit)
        .then(|| rows.last().map(|r| r.disbursed_before))
        .flatten();
    let flows: Vec<Flow> = rows
        .into_iter()
        .map(|x| Flow {
            amount: span.overlap(&Span {
                start: x.disbursed_before,
                len: x.amount,
            }),
            disbursement: x.id,
            beneficiary: x.beneficiary,
            beneficiary_kind: x.beneficiary_kind,
            seq: x.seq,
        })
        .collect();
    let still_held = held(&span, campaign.disbursed);
    let seqs: Vec<u64> = std::iter::once(donation.seq)
        .chain(flows.iter().map(|f| f.seq))
        .collect();
    let highest = seqs.iter().copied().max().unwrap_or(0);
    let (checkpoint, receipts_checkpoint) =
        receipts_checkpoint(store, witness_policy, highest).await?;
    let receipts = receipts(store, seqs, &checkpoint).await?;
    Ok(Trace {
        org,
        donation: donation.id,
        campaign: donation.campaign,
        currency: campaign.currency,
        net: donation.net,
        seq: donation.seq,
        flows,
        funded: donation.net - still_held,
        held: still_held,
        next,
        checkpoint: checkpoint.note,
        receipts_checkpoint,
        receipts,
    })
}

/// A donor's donations at one org (at most [`MAX_LIST_PAGE`], in log order), found by the
/// commitment of their reference; lookups are rate-limited per client address. The API's
/// donor lookup and the explorer's lookup form both call this; neither stores, logs nor
/// echoes the reference.
pub async fn donations_of_donor(
    state: &AppState,
    client: Client,
    org: &str,
    donor_ref: &str,
) -> Result<Vec<DonationRecordView>, ReadError> {
    state.donor_lookups.check(client)?;
    let org = fields::id("org", org)?;
    check_reference("donor_ref", donor_ref)?;
    let commitment = commitment(&state.donor_secret, &org, donor_ref);
    let rows = state
        .store
        .donations_by_commitment(&org, &commitment, MAX_LIST_PAGE)
        .await?;
    let mut donations = Vec::with_capacity(rows.len());
    for row in rows {
        donations.push(donation_view(&state.store, row).await?);
    }
    Ok(donations)
}
