//! A campaign as everyone reads it: its title and purpose with corrections applied, its
//! running totals, its stated beneficiaries and what they said of their payouts.

use serde::Serialize;

use super::entries::{effective_fields, text};
use super::{MAX_LIST_PAGE, ReadError};
use crate::store::{CampaignRow, Store};

/// A campaign's money, all in minor units of its currency.
#[derive(Serialize, utoipa::ToSchema)]
pub struct CampaignTotalsView {
    pub received: i64,
    pub fees: i64,
    pub net: i64,
    pub disbursed: i64,
    pub held: i64,
    pub donations: u64,
    pub disbursements: u64,
}

/// The caps a campaign published on payouts to each of its `person` beneficiaries, by UTC
/// day and month of a payout's `occurred_at` (else its time); `null` is no cap.
#[derive(Serialize, utoipa::ToSchema)]
pub struct PayoutLimitsView {
    /// Most minor units one person may receive from the campaign per UTC day.
    pub max_per_person_per_day: Option<i64>,
    /// Most minor units one person may receive from the campaign per UTC month.
    pub max_per_person_per_month: Option<i64>,
    /// Most payouts one person may receive from the campaign per UTC day.
    pub max_payouts_per_person_per_day: Option<i64>,
}

impl PayoutLimitsView {
    pub fn is_none(&self) -> bool {
        self.max_per_person_per_day.is_none()
            && self.max_per_person_per_month.is_none()
            && self.max_payouts_per_person_per_day.is_none()
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct StatedBeneficiaryView {
    pub beneficiary: String,
    pub kind: String,
    /// Seq of the entry that stated it for this campaign.
    pub stated_at: u64,
    pub disbursed: i64,
    pub disbursements: u64,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CampaignView {
    pub org: String,
    pub id: String,
    pub title: String,
    pub purpose: String,
    pub currency: String,
    pub seq: u64,
    pub opened_at: String,
    pub corrections: Vec<u64>,
    pub totals: CampaignTotalsView,
    pub limits: PayoutLimitsView,
    /// Up to 500 stated beneficiaries, in the order they were stated.
    pub beneficiaries: Vec<StatedBeneficiaryView>,
    /// What the beneficiaries themselves said of the payouts (signed acknowledgements).
    pub acknowledgements: AcknowledgementsView,
}

/// Payouts the beneficiaries confirmed, and disputed, by their own signature.
#[derive(Serialize, utoipa::ToSchema)]
pub struct AcknowledgementsView {
    pub acknowledged: AckLine,
    pub disputed: AckLine,
    /// Disbursed and neither acknowledged nor disputed, in minor units.
    pub unconfirmed: i64,
}

#[derive(Serialize, utoipa::ToSchema, Default)]
pub struct AckLine {
    pub disbursements: u64,
    /// Disbursed amount these statements cover, in minor units.
    pub amount: i64,
    /// What the beneficiaries say arrived, in minor units.
    pub amount_received: i64,
    /// `amount` as a share of everything disbursed, in tenths of a percent (integer).
    pub share_permille: i64,
}

pub async fn campaign_view(
    store: &Store,
    row: CampaignRow,
    with_beneficiaries: bool,
) -> Result<CampaignView, ReadError> {
    let e = effective_fields(store, row.seq).await?;
    let beneficiaries = if with_beneficiaries {
        store
            .stated(&row.org, &row.id, MAX_LIST_PAGE)
            .await?
            .into_iter()
            .map(|s| StatedBeneficiaryView {
                beneficiary: s.beneficiary,
                kind: s.kind,
                stated_at: s.stated_at,
                disbursed: s.disbursed,
                disbursements: s.disbursements,
            })
            .collect()
    } else {
        Vec::new()
    };
    let mut acknowledged = AckLine::default();
    let mut disputed = AckLine::default();
    for (status, count, amount, received) in store.ack_totals(&row.org, &row.id).await? {
        let line = if status == "disputed" {
            &mut disputed
        } else {
            &mut acknowledged
        };
        *line = AckLine {
            disbursements: count,
            amount,
            amount_received: received,
            share_permille: if row.disbursed > 0 {
                amount * 1000 / row.disbursed
            } else {
                0
            },
        };
    }
    let acknowledgements = AcknowledgementsView {
        unconfirmed: row.disbursed - acknowledged.amount - disputed.amount,
        acknowledged,
        disputed,
    };
    Ok(CampaignView {
        acknowledgements,
        title: text(&e.fields, "title").unwrap_or_default(),
        purpose: text(&e.fields, "purpose").unwrap_or_default(),
        opened_at: e.time,
        corrections: e.corrections,
        totals: CampaignTotalsView {
            received: row.received,
            fees: row.fees,
            net: row.net,
            disbursed: row.disbursed,
            held: row.net - row.disbursed,
            donations: row.donations,
            disbursements: row.disbursements,
        },
        limits: PayoutLimitsView {
            max_per_person_per_day: row.max_per_person_per_day,
            max_per_person_per_month: row.max_per_person_per_month,
            max_payouts_per_person_per_day: row.max_payouts_per_person_per_day,
        },
        beneficiaries,
        org: row.org,
        id: row.id,
        currency: row.currency,
        seq: row.seq,
    })
}

/// Campaign `id` of `org` with its stated beneficiaries, or [`ReadError::NotFound`].
pub async fn campaign(store: &Store, org: &str, id: &str) -> Result<CampaignView, ReadError> {
    let row = store.campaign(org, id).await?.ok_or_else(|| {
        ReadError::NotFound(format!("campaign {id:?} of org {org:?} does not exist"))
    })?;
    campaign_view(store, row, true).await
}
