//! What each person was paid by a capped campaign per UTC day and month
//! (`person_payouts`), read for a whole batch at once: a batch of 1,000 payouts to people
//! at random needs up to 2,000 of these rows, and one statement instead of one per row is
//! what keeps the cap check cheap (docs/performance.md, "Published caps").

use sqlx::{PgConnection, Row, SqliteConnection};

use super::append::AppendTx;
use super::{StoreError, StoreResult, to_u64};
use crate::ledger::caps::{Period, PersonPayouts};
use crate::ledger::money::Amount;
use crate::ledger::rules::StateKey;
use crate::ledger::state::StateValue;

/// One key of `person_payouts`: org, campaign, beneficiary, period.
type Key<'a> = (&'a str, &'a str, &'a str, &'a str);

/// A stored row: its key and (paid, payouts).
type PayoutRow = (String, String, String, String, i64, i64);

/// All the keys as one JSON parameter, so the statement's text never changes and each key
/// is probed once through the primary key.
const SQLITE_LOOKUP: &str = "SELECT p.org, p.campaign, p.beneficiary, p.period, p.paid, \
     p.payouts FROM json_each($1) AS w CROSS JOIN person_payouts AS p \
     ON p.org = w.value ->> 0 AND p.campaign = w.value ->> 1 \
     AND p.beneficiary = w.value ->> 2 AND p.period = w.value ->> 3";

/// The keys as four text arrays: one statement of fixed text, an index probe per key
/// (a `LATERAL` subquery whose `LIMIT 1` keeps PostgreSQL from turning it into a hash
/// join over the whole table, as it plans a plain join once the table is large; see
/// [`super::POSTGRES_ID_LOOKUP`]).
const POSTGRES_LOOKUP: &str = "SELECT p.org, p.campaign, p.beneficiary, p.period, p.paid, \
     p.payouts FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) \
     AS w(org, campaign, beneficiary, period) CROSS JOIN LATERAL (SELECT org, campaign, \
     beneficiary, period, paid, payouts FROM person_payouts WHERE org = w.org \
     AND campaign = w.campaign AND beneficiary = w.beneficiary AND period = w.period \
     LIMIT 1) AS p";

/// A row of the lookup, on either backend.
macro_rules! payout_row {
    ($r:expr) => {
        (
            $r.try_get(0)?,
            $r.try_get(1)?,
            $r.try_get(2)?,
            $r.try_get(3)?,
            $r.try_get(4)?,
            $r.try_get(5)?,
        )
    };
}

async fn sqlite_rows(conn: &mut SqliteConnection, keys: &[Key<'_>]) -> StoreResult<Vec<PayoutRow>> {
    let wanted = serde_json::to_string(keys)
        .map_err(|e| StoreError::Corrupt(format!("person_payouts lookup: {e}")))?;
    let mut rows = Vec::new();
    for r in sqlx::query(SQLITE_LOOKUP)
        .bind(wanted)
        .fetch_all(conn)
        .await?
    {
        rows.push(payout_row!(r));
    }
    Ok(rows)
}

async fn postgres_rows(conn: &mut PgConnection, keys: &[Key<'_>]) -> StoreResult<Vec<PayoutRow>> {
    let orgs: Vec<&str> = keys.iter().map(|k| k.0).collect();
    let campaigns: Vec<&str> = keys.iter().map(|k| k.1).collect();
    let beneficiaries: Vec<&str> = keys.iter().map(|k| k.2).collect();
    let periods: Vec<&str> = keys.iter().map(|k| k.3).collect();
    let mut rows = Vec::new();
    for r in sqlx::query(POSTGRES_LOOKUP)
        .bind(orgs)
        .bind(campaigns)
        .bind(beneficiaries)
        .bind(periods)
        .fetch_all(conn)
        .await?
    {
        rows.push(payout_row!(r));
    }
    Ok(rows)
}

impl AppendTx {
    /// The values of `keys` (all [`StateKey::PersonPayouts`]); a key with no row reads as
    /// known to be absent (nothing paid in that period yet).
    pub(super) async fn load_person_payouts(
        &mut self,
        keys: &[&StateKey],
    ) -> StoreResult<Vec<(StateKey, StateValue)>> {
        let wanted: Vec<Key<'_>> = keys
            .iter()
            .filter_map(|key| match key {
                StateKey::PersonPayouts(org, campaign, beneficiary, period) => Some((
                    org.as_str(),
                    campaign.as_str(),
                    beneficiary.as_str(),
                    period.as_str(),
                )),
                _ => None,
            })
            .collect();
        if wanted.is_empty() {
            return Ok(Vec::new());
        }
        let rows = match self {
            AppendTx::Postgres(t) => postgres_rows(t, &wanted).await?,
            AppendTx::Sqlite(t) => sqlite_rows(t, &wanted).await?,
            AppendTx::SqliteBatch(c, _) => sqlite_rows(c.connection()?, &wanted).await?,
        };
        let mut found = std::collections::HashMap::with_capacity(rows.len());
        for (org, campaign, beneficiary, period, paid, payouts) in rows {
            let payouts = PersonPayouts {
                paid: Amount::non_negative("paid", paid)
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                payouts: to_u64(payouts, "payouts")?,
            };
            found.insert((org, campaign, beneficiary, period), payouts);
        }
        let mut out = Vec::with_capacity(wanted.len());
        for (org, campaign, beneficiary, period) in wanted {
            let value = found
                .get(&(
                    org.into(),
                    campaign.into(),
                    beneficiary.into(),
                    period.into(),
                ))
                .copied();
            let period = Period::parse(period)
                .ok_or_else(|| StoreError::Corrupt(format!("period {period:?}")))?;
            out.push((
                StateKey::PersonPayouts(org.into(), campaign.into(), beneficiary.into(), period),
                StateValue::PersonPayouts(value),
            ));
        }
        Ok(out)
    }
}
