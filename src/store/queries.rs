//! Read-side queries for the public API: records by id, lists in log order, and the
//! allocation range lookups (DESIGN.md "Allocation rule"), each O(log n + results) on an
//! index over a campaign's money line.

use sqlx::Row;

use super::{Store, StoreResult, dispatch, recent_ids, to_hash, to_i64, to_u64};
use crate::ledger::records::Scope;
use crate::log::hash::Hash;

/// A campaign's totals row.
#[derive(Debug, Clone)]
pub struct CampaignRow {
    pub org: String,
    pub id: String,
    pub currency: String,
    pub seq: u64,
    pub received: i64,
    pub fees: i64,
    pub net: i64,
    pub disbursed: i64,
    pub donations: u64,
    pub disbursements: u64,
    /// The caps it published on payouts to each person (minor units, minor units, count).
    pub max_per_person_per_day: Option<i64>,
    pub max_per_person_per_month: Option<i64>,
    pub max_payouts_per_person_per_day: Option<i64>,
}

/// A bar of a histogram: how many person-months received an amount in `[from, to)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpreadBar {
    pub from: i64,
    pub to: i64,
    pub count: u64,
}

/// The width of at most `bars` bars that cover 0 to `largest` minor units: the smallest
/// 1, 2 or 5 times a power of ten that does it, so bars read as round amounts.
fn bar_width(largest: i64, bars: i64) -> i64 {
    let needed = (largest / bars.max(1)) + 1;
    let mut power = 1i64;
    loop {
        for step in [1, 2, 5] {
            if step * power >= needed {
                return step * power;
            }
        }
        power = power.saturating_mul(10);
    }
}

/// A beneficiary stated for a campaign, with what it received from it.
#[derive(Debug, Clone)]
pub struct StatedRow {
    pub beneficiary: String,
    pub kind: String,
    pub stated_at: u64,
    pub disbursed: i64,
    pub disbursements: u64,
}

#[derive(Debug, Clone)]
pub struct BeneficiaryRow {
    pub org: String,
    pub id: String,
    pub kind: String,
    pub seq: u64,
}

#[derive(Debug, Clone)]
pub struct DonationView {
    pub org: String,
    pub id: String,
    pub campaign: String,
    pub seq: u64,
    pub amount: i64,
    pub fee: i64,
    pub net: i64,
    pub received_before: i64,
}

#[derive(Debug, Clone)]
pub struct DisbursementView {
    pub org: String,
    pub id: String,
    pub campaign: String,
    pub beneficiary: String,
    pub beneficiary_kind: String,
    pub seq: u64,
    pub amount: i64,
    pub disbursed_before: i64,
}

const CAMPAIGN_COLUMNS: &str = "org, id, currency, seq, received, fees, net, disbursed, \
     donations_count, disbursements_count, max_per_person_per_day, max_per_person_per_month, \
     max_payouts_per_person_per_day";
const DONATION_COLUMNS: &str = "org, id, campaign, seq, amount, fee, net, received_before";
const DISBURSEMENT_COLUMNS: &str =
    "d.org, d.id, d.campaign, d.beneficiary, b.kind, d.seq, d.amount, d.disbursed_before";

macro_rules! campaign_row {
    ($r:expr) => {
        CampaignRow {
            org: $r.try_get(0)?,
            id: $r.try_get(1)?,
            currency: $r.try_get(2)?,
            seq: to_u64($r.try_get(3)?, "seq")?,
            received: $r.try_get(4)?,
            fees: $r.try_get(5)?,
            net: $r.try_get(6)?,
            disbursed: $r.try_get(7)?,
            donations: to_u64($r.try_get(8)?, "count")?,
            disbursements: to_u64($r.try_get(9)?, "count")?,
            max_per_person_per_day: $r.try_get(10)?,
            max_per_person_per_month: $r.try_get(11)?,
            max_payouts_per_person_per_day: $r.try_get(12)?,
        }
    };
}

macro_rules! donation_row {
    ($r:expr) => {
        DonationView {
            org: $r.try_get(0)?,
            id: $r.try_get(1)?,
            campaign: $r.try_get(2)?,
            seq: to_u64($r.try_get(3)?, "seq")?,
            amount: $r.try_get(4)?,
            fee: $r.try_get(5)?,
            net: $r.try_get(6)?,
            received_before: $r.try_get(7)?,
        }
    };
}

macro_rules! disbursement_row {
    ($r:expr) => {
        DisbursementView {
            org: $r.try_get(0)?,
            id: $r.try_get(1)?,
            campaign: $r.try_get(2)?,
            beneficiary: $r.try_get(3)?,
            beneficiary_kind: $r.try_get(4)?,
            seq: to_u64($r.try_get(5)?, "seq")?,
            amount: $r.try_get(6)?,
            disbursed_before: $r.try_get(7)?,
        }
    };
}

impl Store {
    /// Seq of an org's registration, if registered.
    pub async fn org_seq(&self, org: &str) -> StoreResult<Option<u64>> {
        self.record_seq(&crate::ledger::records::RecordKey {
            org: org.to_string(),
            scope: Scope::Org,
            id: org.to_string(),
        })
        .await
    }

    /// Registered orgs in log order after `after_seq`: (org, seq).
    pub async fn orgs(
        &self,
        after_seq: Option<u64>,
        limit: u64,
    ) -> StoreResult<Vec<(String, u64)>> {
        dispatch!(self, pool => sqlx::query(
            "SELECT id, seq FROM record_ids WHERE scope = $3 AND seq > $1 ORDER BY seq LIMIT $2"
        ).bind(after_seq.map(to_i64).unwrap_or(-1)).bind(to_i64(limit)).bind(Scope::Org.as_str()).fetch_all(pool).await?
            .into_iter().map(|r| Ok((r.try_get(0)?, to_u64(r.try_get(1)?, "seq")?))).collect())
    }

    pub async fn campaign(&self, org: &str, id: &str) -> StoreResult<Option<CampaignRow>> {
        dispatch!(self, pool => {
            let sql = format!("SELECT {CAMPAIGN_COLUMNS} FROM campaigns WHERE org = $1 AND id = $2");
            match sqlx::query(sqlx::AssertSqlSafe(sql)).bind(org).bind(id).fetch_optional(pool).await? {
                Some(r) => Ok(Some(campaign_row!(r))),
                None => Ok(None),
            }
        })
    }

    pub async fn campaigns(
        &self,
        org: &str,
        after_seq: Option<u64>,
        limit: u64,
    ) -> StoreResult<Vec<CampaignRow>> {
        dispatch!(self, pool => {
            let sql = format!("SELECT {CAMPAIGN_COLUMNS} FROM campaigns WHERE org = $1 AND seq > $2 ORDER BY seq LIMIT $3");
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(org)
                .bind(after_seq.map(to_i64).unwrap_or(-1)).bind(to_i64(limit)).fetch_all(pool).await?;
            rows.iter().map(|r| Ok(campaign_row!(r))).collect()
        })
    }

    /// How much each person received from a capped campaign per UTC month, as at most
    /// `bars` equal bars of a round width from 0 past the largest amount (two aggregate
    /// queries over the campaign's rows of `person_payouts`; none when it paid no person).
    pub async fn monthly_spread(
        &self,
        org: &str,
        campaign: &str,
        bars: i64,
    ) -> StoreResult<Vec<SpreadBar>> {
        let largest: Option<i64> = dispatch!(self, pool => sqlx::query(
            "SELECT MAX(paid) FROM person_payouts \
             WHERE org = $1 AND campaign = $2 AND length(period) = 7"
        ).bind(org).bind(campaign).fetch_one(pool).await?.try_get(0))?;
        let Some(largest) = largest.filter(|l| *l > 0) else {
            return Ok(Vec::new());
        };
        let width = bar_width(largest, bars);
        let counts: Vec<(i64, i64)> = dispatch!(self, pool => sqlx::query(
            "SELECT paid / $3 AS bar, COUNT(*) FROM person_payouts \
             WHERE org = $1 AND campaign = $2 AND length(period) = 7 GROUP BY bar"
        ).bind(org).bind(campaign).bind(width).fetch_all(pool).await?
            .into_iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect::<StoreResult<_>>())?;
        Ok((0..=largest / width)
            .map(|bar| SpreadBar {
                from: bar * width,
                to: (bar + 1) * width,
                count: counts
                    .iter()
                    .find(|(b, _)| *b == bar)
                    .map_or(0, |(_, n)| *n as u64),
            })
            .collect())
    }

    /// The stated beneficiaries of a campaign, in the order they were stated.
    pub async fn stated(
        &self,
        org: &str,
        campaign: &str,
        limit: u64,
    ) -> StoreResult<Vec<StatedRow>> {
        dispatch!(self, pool => sqlx::query(
            "SELECT s.beneficiary, b.kind, s.stated_at, s.disbursed, s.disbursements_count \
             FROM campaign_beneficiaries s JOIN beneficiaries b ON b.org = s.org AND b.id = s.beneficiary \
             WHERE s.org = $1 AND s.campaign = $2 ORDER BY s.stated_at, s.beneficiary LIMIT $3"
        ).bind(org).bind(campaign).bind(to_i64(limit)).fetch_all(pool).await?.into_iter().map(|r| Ok(StatedRow {
            beneficiary: r.try_get(0)?,
            kind: r.try_get(1)?,
            stated_at: to_u64(r.try_get(2)?, "seq")?,
            disbursed: r.try_get(3)?,
            disbursements: to_u64(r.try_get(4)?, "count")?,
        })).collect())
    }

    pub async fn beneficiary(&self, org: &str, id: &str) -> StoreResult<Option<BeneficiaryRow>> {
        dispatch!(self, pool => match sqlx::query(
            "SELECT org, id, kind, seq FROM beneficiaries WHERE org = $1 AND id = $2"
        ).bind(org).bind(id).fetch_optional(pool).await? {
            Some(r) => Ok(Some(BeneficiaryRow {
                org: r.try_get(0)?, id: r.try_get(1)?, kind: r.try_get(2)?, seq: to_u64(r.try_get(3)?, "seq")?,
            })),
            None => Ok(None),
        })
    }

    pub async fn beneficiaries(
        &self,
        org: &str,
        after_seq: Option<u64>,
        limit: u64,
    ) -> StoreResult<Vec<BeneficiaryRow>> {
        dispatch!(self, pool => sqlx::query(
            "SELECT org, id, kind, seq FROM beneficiaries WHERE org = $1 AND seq > $2 ORDER BY seq LIMIT $3"
        ).bind(org).bind(after_seq.map(to_i64).unwrap_or(-1)).bind(to_i64(limit)).fetch_all(pool).await?
            .into_iter().map(|r| Ok(BeneficiaryRow {
                org: r.try_get(0)?, id: r.try_get(1)?, kind: r.try_get(2)?, seq: to_u64(r.try_get(3)?, "seq")?,
            })).collect())
    }

    /// Per campaign, what a beneficiary received: (campaign, currency, disbursed, count).
    pub async fn beneficiary_receipts(
        &self,
        org: &str,
        id: &str,
    ) -> StoreResult<Vec<(String, String, i64, u64)>> {
        dispatch!(self, pool => sqlx::query(
            "SELECT s.campaign, c.currency, s.disbursed, s.disbursements_count FROM campaign_beneficiaries s \
             JOIN campaigns c ON c.org = s.org AND c.id = s.campaign \
             WHERE s.org = $1 AND s.beneficiary = $2 ORDER BY s.stated_at"
        ).bind(org).bind(id).fetch_all(pool).await?.into_iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, to_u64(r.try_get(3)?, "count")?))).collect())
    }

    pub async fn donation(&self, org: &str, id: &str) -> StoreResult<Option<DonationView>> {
        dispatch!(self, pool => {
            // Donations are keyed by (org, seq); the id leads there through record_ids,
            // or recent_ids while it waits there.
            let sql = format!(
                "SELECT {DONATION_COLUMNS} FROM donations WHERE org = $1 AND seq = {}",
                recent_ids::SEQ_BY_ID
            );
            match sqlx::query(sqlx::AssertSqlSafe(sql)).bind(org).bind(Scope::Donation.as_str()).bind(id)
                .fetch_optional(pool).await? {
                Some(r) => Ok(Some(donation_row!(r))),
                None => Ok(None),
            }
        })
    }

    pub async fn donations(
        &self,
        org: &str,
        after_seq: Option<u64>,
        limit: u64,
    ) -> StoreResult<Vec<DonationView>> {
        dispatch!(self, pool => {
            let sql = format!("SELECT {DONATION_COLUMNS} FROM donations WHERE org = $1 AND seq > $2 ORDER BY seq LIMIT $3");
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(org)
                .bind(after_seq.map(to_i64).unwrap_or(-1)).bind(to_i64(limit)).fetch_all(pool).await?;
            rows.iter().map(|r| Ok(donation_row!(r))).collect()
        })
    }

    /// A donor's donations at an org, found by the commitment to their reference.
    pub async fn donations_by_commitment(
        &self,
        org: &str,
        commitment: &Hash,
        limit: u64,
    ) -> StoreResult<Vec<DonationView>> {
        dispatch!(self, pool => {
            let sql = format!("SELECT {DONATION_COLUMNS} FROM donations WHERE org = $1 AND donor_commitment = $2 ORDER BY seq LIMIT $3");
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(org).bind(commitment.to_hex())
                .bind(to_i64(limit)).fetch_all(pool).await?;
            rows.iter().map(|r| Ok(donation_row!(r))).collect()
        })
    }

    pub async fn disbursement(&self, org: &str, id: &str) -> StoreResult<Option<DisbursementView>> {
        dispatch!(self, pool => {
            let sql = format!(
                "SELECT {DISBURSEMENT_COLUMNS} FROM disbursements d JOIN beneficiaries b ON b.org = d.org AND b.id = d.beneficiary \
                 WHERE d.org = $1 AND d.id = $2"
            );
            match sqlx::query(sqlx::AssertSqlSafe(sql)).bind(org).bind(id).fetch_optional(pool).await? {
                Some(r) => Ok(Some(disbursement_row!(r))),
                None => Ok(None),
            }
        })
    }

    pub async fn disbursements(
        &self,
        org: &str,
        after_seq: Option<u64>,
        limit: u64,
    ) -> StoreResult<Vec<DisbursementView>> {
        dispatch!(self, pool => {
            let sql = format!(
                "SELECT {DISBURSEMENT_COLUMNS} FROM disbursements d JOIN beneficiaries b ON b.org = d.org AND b.id = d.beneficiary \
                 WHERE d.org = $1 AND d.seq > $2 ORDER BY d.seq LIMIT $3"
            );
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(org)
                .bind(after_seq.map(to_i64).unwrap_or(-1)).bind(to_i64(limit)).fetch_all(pool).await?;
            rows.iter().map(|r| Ok(disbursement_row!(r))).collect()
        })
    }

    /// A campaign's `limit` latest disbursements, newest first. Spans on the money line
    /// are contiguous and appended in log order, so line order is log order and the
    /// `(org, campaign, disbursed_before)` index serves this backwards.
    pub async fn latest_disbursements(
        &self,
        org: &str,
        campaign: &str,
        limit: u64,
    ) -> StoreResult<Vec<DisbursementView>> {
        dispatch!(self, pool => {
            let sql = format!(
                "SELECT {DISBURSEMENT_COLUMNS} FROM disbursements d JOIN beneficiaries b ON b.org = d.org AND b.id = d.beneficiary \
                 WHERE d.org = $1 AND d.campaign = $2 ORDER BY d.disbursed_before DESC LIMIT $3"
            );
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(org).bind(campaign)
                .bind(to_i64(limit)).fetch_all(pool).await?;
            rows.iter().map(|r| Ok(disbursement_row!(r))).collect()
        })
    }

    /// Disbursements of a campaign whose spans overlap [from, to), in line order, starting
    /// after line position `after` (a page cursor): the donation-trace range lookup.
    pub async fn disbursements_on_line(
        &self,
        org: &str,
        campaign: &str,
        from: i64,
        to: i64,
        after: Option<i64>,
        limit: u64,
    ) -> StoreResult<Vec<DisbursementView>> {
        // The disbursement holding position `from` starts at the largest start <= from;
        // spans are non-empty and contiguous, so starts strictly increase. Found first,
        // walking the index backwards from `from`, so the range query below has one lower
        // bound and reads only the rows it returns (O(log n + results)).
        let holder: Option<i64> = dispatch!(self, pool => sqlx::query(
            "SELECT disbursed_before FROM disbursements WHERE org = $1 AND campaign = $2 \
             AND disbursed_before <= $3 ORDER BY disbursed_before DESC LIMIT 1"
        ).bind(org).bind(campaign).bind(from).fetch_optional(pool).await?.map(|r| r.get(0)));
        let start = holder
            .unwrap_or(0)
            .max(after.map_or(0, |a| a.saturating_add(1)));
        dispatch!(self, pool => {
            let sql = format!(
                "SELECT {DISBURSEMENT_COLUMNS} FROM disbursements d JOIN beneficiaries b ON b.org = d.org AND b.id = d.beneficiary \
                 WHERE d.org = $1 AND d.campaign = $2 AND d.disbursed_before >= $3 AND d.disbursed_before < $4 \
                 ORDER BY d.disbursed_before LIMIT $5"
            );
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(org).bind(campaign).bind(start).bind(to)
                .bind(to_i64(limit)).fetch_all(pool).await?;
            rows.iter().map(|r| Ok(disbursement_row!(r))).collect()
        })
    }

    /// Donations of a campaign whose spans overlap [from, to), in line order, after line
    /// position `after`: the reverse lookup, from a disbursement to its sources.
    /// Donations whose whole amount went to fees (net 0) cover nothing and are skipped.
    pub async fn donations_on_line(
        &self,
        org: &str,
        campaign: &str,
        from: i64,
        to: i64,
        after: Option<i64>,
        limit: u64,
    ) -> StoreResult<Vec<DonationView>> {
        // As in `disbursements_on_line`: the donation holding `from` first (net-0
        // donations share their successor's start and are skipped).
        let holder: Option<i64> = dispatch!(self, pool => sqlx::query(
            "SELECT received_before FROM donations WHERE org = $1 AND campaign = $2 \
             AND received_before <= $3 AND net > 0 ORDER BY received_before DESC LIMIT 1"
        ).bind(org).bind(campaign).bind(from).fetch_optional(pool).await?.map(|r| r.get(0)));
        let start = holder
            .unwrap_or(0)
            .max(after.map_or(0, |a| a.saturating_add(1)));
        dispatch!(self, pool => {
            let sql = format!(
                "SELECT {DONATION_COLUMNS} FROM donations \
                 WHERE org = $1 AND campaign = $2 AND received_before >= $3 AND received_before < $4 AND net > 0 \
                 ORDER BY received_before LIMIT $5"
            );
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(org).bind(campaign).bind(start).bind(to)
                .bind(to_i64(limit)).fetch_all(pool).await?;
            rows.iter().map(|r| Ok(donation_row!(r))).collect()
        })
    }

    /// Up to `limit` entries of `org` (every entry whose record belongs to it) with seq in
    /// `[from, to)`, in log order: the org filter of streamed exports.
    pub async fn org_entries(
        &self,
        org: &str,
        from: u64,
        to: u64,
        limit: u64,
    ) -> StoreResult<Vec<(u64, Vec<u8>)>> {
        // The org's ids, waiting ones too, merged in log order: both sides are read in
        // seq order (record_ids' (org, seq) index and recent_ids' key), and only the
        // page's rows are joined and sorted.
        dispatch!(self, pool => sqlx::query(
            "SELECT r.seq, e.body FROM (\
               SELECT seq FROM record_ids WHERE org = $1 AND seq >= $2 AND seq < $3 \
               UNION ALL SELECT seq FROM recent_ids WHERE org = $1 AND seq >= $2 AND seq < $3 \
               ORDER BY seq LIMIT $4\
             ) AS r JOIN entries e ON e.seq = r.seq ORDER BY r.seq"
        )
        .bind(org).bind(to_i64(from)).bind(to_i64(to)).bind(to_i64(limit))
        .fetch_all(pool).await?.into_iter()
        .map(|r| Ok((to_u64(r.try_get(0)?, "seq")?, r.try_get(1)?)))
        .collect())
    }

    /// The org's key valid just before entry `before` (from its registration or latest
    /// rotation before it) and the seq of the entry that set it.
    pub async fn org_key_at(&self, org: &str, before: u64) -> StoreResult<Option<(String, u64)>> {
        let seq: Option<i64> = dispatch!(self, pool => sqlx::query(
            "SELECT seq FROM record_ids WHERE org = $1 AND scope IN ($3, $4) AND seq < $2 \
             ORDER BY seq DESC LIMIT 1"
        ).bind(org).bind(to_i64(before)).bind(Scope::Org.as_str()).bind(Scope::OrgKey.as_str()).fetch_optional(pool).await?.map(|r| r.get(0)));
        let Some(seq) = seq else { return Ok(None) };
        let seq = to_u64(seq, "seq")?;
        let bytes = self
            .entry(seq)
            .await?
            .ok_or_else(|| super::StoreError::Corrupt(format!("entry {seq} is missing")))?;
        let e = crate::log::entry::parse(&bytes)
            .map_err(|e| super::StoreError::Corrupt(format!("entry {seq}: {e}")))?;
        Ok(e.str_field("public_key").map(|k| (k.to_string(), seq)))
    }

    /// Seqs of an org's records of one scope (e.g. `report`), in log order, after `after`.
    pub async fn org_record_seqs(
        &self,
        org: &str,
        scope: Scope,
        after: Option<u64>,
        limit: u64,
    ) -> StoreResult<Vec<u64>> {
        dispatch!(self, pool => sqlx::query(
            "SELECT seq FROM record_ids WHERE org = $1 AND scope = $2 AND seq > $3 ORDER BY seq LIMIT $4"
        ).bind(org).bind(scope.as_str()).bind(after.map(to_i64).unwrap_or(-1)).bind(to_i64(limit))
            .fetch_all(pool).await?.into_iter()
            .map(|r| to_u64(r.try_get(0)?, "seq")).collect())
    }

    /// A campaign's acknowledged and disputed payouts: (status, disbursements, amount
    /// disbursed, amount the beneficiaries say arrived) per status.
    pub async fn ack_totals(
        &self,
        org: &str,
        campaign: &str,
    ) -> StoreResult<Vec<(String, u64, i64, i64)>> {
        dispatch!(self, pool => sqlx::query(
            "SELECT a.status, COUNT(*), CAST(COALESCE(SUM(d.amount), 0) AS BIGINT), CAST(COALESCE(SUM(a.amount_received), 0) AS BIGINT) \
             FROM acknowledgements a JOIN disbursements d ON d.org = a.org AND d.id = a.disbursement \
             WHERE a.org = $1 AND d.campaign = $2 GROUP BY a.status ORDER BY a.status"
        ).bind(org).bind(campaign).fetch_all(pool).await?.into_iter()
            .map(|r| Ok((r.try_get(0)?, to_u64(r.try_get(1)?, "count")?, r.try_get(2)?, r.try_get(3)?)))
            .collect())
    }

    /// A disbursement's acknowledgement: (status, amount received, seq).
    pub async fn acknowledgement(
        &self,
        org: &str,
        disbursement: &str,
    ) -> StoreResult<Option<(String, i64, u64)>> {
        dispatch!(self, pool => match sqlx::query(
            "SELECT status, amount_received, seq FROM acknowledgements WHERE org = $1 AND disbursement = $2"
        ).bind(org).bind(disbursement).fetch_optional(pool).await? {
            Some(r) => Ok(Some((r.try_get(0)?, r.try_get(1)?, to_u64(r.try_get(2)?, "seq")?))),
            None => Ok(None),
        })
    }

    /// Seqs of the corrections of entry `seq`, oldest first.
    pub async fn corrections_of(&self, seq: u64) -> StoreResult<Vec<u64>> {
        dispatch!(self, pool => sqlx::query("SELECT seq FROM corrections WHERE corrects = $1 ORDER BY seq LIMIT 1000")
            .bind(to_i64(seq)).fetch_all(pool).await?.into_iter()
            .map(|r| to_u64(r.try_get(0)?, "seq")).collect())
    }

    /// Seqs of every correction before `size`, oldest first (a bundle's corrections, for
    /// its `X_effective` columns).
    pub async fn correction_seqs_before(&self, size: u64) -> StoreResult<Vec<u64>> {
        dispatch!(self, pool => sqlx::query("SELECT seq FROM corrections WHERE seq < $1 ORDER BY seq")
            .bind(to_i64(size)).fetch_all(pool).await?.into_iter()
            .map(|r| to_u64(r.try_get(0)?, "seq")).collect())
    }

    /// The org an API token belongs to and the stored hash it matched (looked up by the
    /// token's hash), in one statement.
    pub async fn org_token(&self, token_hash: &Hash) -> StoreResult<Option<(String, Hash)>> {
        let row: Option<(String, Vec<u8>)> = dispatch!(self, pool => sqlx::query(
            "SELECT org, token_hash FROM org_tokens WHERE token_hash = $1"
        ).bind(&token_hash.0[..]).fetch_optional(pool).await?.map(|r| (r.get(0), r.get(1))));
        row.map(|(org, hash)| Ok((org, to_hash(&hash, "org token hash")?)))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::bar_width;

    #[test]
    fn bars_are_round_and_at_most_as_many_as_asked() {
        for (largest, width) in [
            (0, 1),
            (9, 1),
            (10, 2),
            (12, 2),
            (500, 100),
            (1_000_000, 200_000),
        ] {
            assert_eq!(bar_width(largest, 10), width, "{largest}");
            assert!(largest / width < 10);
        }
    }
}
