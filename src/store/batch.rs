//! What one sequencer batch writes: the head it moves, its entries and tree hashes, the
//! id index (or the ids waiting in `recent_ids`, and their move into it), the ledger rows
//! and state it changed, and its signed checkpoint.
//!
//! On SQLite the statements go to the database thread as one script that also takes the
//! write lock and commits, one round trip instead of one per table (each round trip wakes
//! that thread, and under load waiting for those wake-ups was most of a batch's time);
//! only full chunks of large batches run on their own, as cached statements
//! ([`PREPARED_ROWS`]). The script of a small batch is padded to one of a few sizes, so
//! it too stays prepared ([`padded_rows`]). PostgreSQL cannot run several
//! statements with parameters in one request, so there they run one by one. Both are
//! built by the same code ([`push_statements!`]), so the SQL exists once.

use sqlx::{QueryBuilder, Sqlite, SqliteConnection};

use super::append::AppendTx;
use super::recent_ids::MOVE_TO_RECORD_IDS;
use super::{
    AckRow, CorrectionRow, DisbursementRow, DonationRow, HeadMoved, MAX_ROWS_PER_STATEMENT,
    StoreError, StoreResult, StoredCheckpoint, to_i64,
};
use crate::ledger::records::RecordKey;
use crate::ledger::rules::StateKey;
use crate::ledger::state::StateValue;
use crate::log::entry::ChainHead;
use crate::log::hash::Hash;
use crate::log::time::UnixMillis;

/// Everything a batch adds, borrowed from the sequencer.
pub struct BatchRows<'a> {
    /// The head the batch was built on; the batch writes nothing unless it is still stored.
    pub old_head: &'a ChainHead,
    pub new_head: &'a ChainHead,
    pub entries: &'a [(u64, Vec<u8>)],
    /// Index of the first of `tree_hashes` (they are consecutive).
    pub first_tree_index: u64,
    pub tree_hashes: &'a [Hash],
    /// Ids for `record_ids`.
    pub records: &'a [(RecordKey, u64)],
    /// Ids for `recent_ids` (SQLite only; see `store::recent_ids`).
    pub recent_ids: &'a [(RecordKey, u64)],
    /// Whether the batch then moves every id in `recent_ids` to `record_ids` (SQLite only).
    pub move_recent_ids: bool,
    /// Ledger state the batch changed (entry and key state is skipped: the log holds it).
    pub state: &'a [(StateKey, StateValue)],
    pub donations: &'a [DonationRow],
    pub disbursements: &'a [DisbursementRow],
    pub corrections: &'a [CorrectionRow],
    pub acks: &'a [AckRow],
    /// Org API tokens (hashed) issued with registrations in this batch.
    pub org_tokens: &'a [(String, Hash)],
    pub clock: UnixMillis,
    pub checkpoint: &'a StoredCheckpoint,
}

/// Whether a batch writes this changed state to a table of its own. Orgs live in
/// `record_ids` (written with their entry); entry summaries, keys and disbursement facts
/// are read back from the log itself; a value rolled back to "absent" writes nothing. A
/// key holding another kind's value is an error.
fn is_stored(key: &StateKey, value: &StateValue) -> StoreResult<bool> {
    match (key, value) {
        (StateKey::Beneficiary(..), StateValue::Beneficiary(v)) => Ok(v.is_some()),
        (StateKey::Campaign(..), StateValue::Campaign(v)) => Ok(v.is_some()),
        (StateKey::Stated(..), StateValue::Stated(v)) => Ok(v.is_some()),
        (StateKey::PersonPayouts(..), StateValue::PersonPayouts(v)) => Ok(v.is_some()),
        (
            StateKey::Org(_)
            | StateKey::Entry(_)
            | StateKey::OrgKey(_)
            | StateKey::BeneficiaryKey(..)
            | StateKey::Disbursement(..),
            _,
        ) => Ok(false),
        (key, value) => Err(StoreError::Corrupt(format!(
            "state key {key:?} holds {value:?}"
        ))),
    }
}

/// The changed state a batch writes (see [`is_stored`]).
fn stored_state(state: &[(StateKey, StateValue)]) -> impl Iterator<Item = &(StateKey, StateValue)> {
    state
        .iter()
        .filter(|(key, value)| matches!(is_stored(key, value), Ok(true)))
}

impl BatchRows<'_> {
    /// Rows the statements change when the head has not moved: every insert adds its
    /// rows or fails, each state upsert changes one row, the head update one (PostgreSQL
    /// checks the head by this count, SQLite by a statement of its script).
    fn expected_changes(&self) -> u64 {
        let rows = self.entries.len()
            + self.tree_hashes.len()
            + self.records.len()
            + self.recent_ids.len()
            + stored_state(self.state).count()
            + self.donations.len()
            + self.disbursements.len()
            + self.corrections.len()
            + self.acks.len()
            + self.org_tokens.len()
            + 1 // the checkpoint
            + 1; // the head
        rows as u64
    }

    /// Checks that the state holds nothing a batch cannot store.
    fn check_state(&self) -> StoreResult<()> {
        for (key, value) in self.state {
            is_stored(key, value)?;
        }
        Ok(())
    }
}

/// Rows per statement of the big tables (entries, tree hashes, ids, donations,
/// disbursements). A statement of exactly this many rows has the same text every time, so
/// it is prepared once and cached; parsing a new 1,000-row insert each batch was a fifth
/// of the writer's time under large batches. Each chunk is a round trip to SQLite's
/// thread, so chunks are large (docs/decisions.md, "Tuning"). 1,000 rows × 9 values is
/// 9,000 bound parameters, below SQLite's 32,766 and PostgreSQL's 65,535.
const PREPARED_ROWS: usize = 1000;

/// Which statements of a batch [`push_statements!`] builds.
#[derive(Clone, Copy)]
enum Part {
    /// Full chunks of [`PREPARED_ROWS`] rows (cached statements).
    Full,
    /// Everything else: the head, partial chunks, state, small tables, the checkpoint.
    Rest,
    All,
}

impl Part {
    /// Whether a chunk of `rows` rows belongs to this part (`0` for a single statement).
    fn includes(self, rows: usize) -> bool {
        match self {
            Part::Full => rows == PREPARED_ROWS,
            Part::Rest => rows != PREPARED_ROWS,
            Part::All => true,
        }
    }

    /// The chunks of [`PREPARED_ROWS`] rows of a table that belong to this part, each
    /// with its position among all the table's chunks.
    fn chunks<T>(self, rows: &[T]) -> impl Iterator<Item = (usize, &[T])> {
        rows.chunks(PREPARED_ROWS)
            .enumerate()
            .filter(move |(_, chunk)| self.includes(chunk.len()))
    }
}

/// Largest insert padded to a fixed size (see [`padded_rows`]). Single-donation batches
/// carry some 20-120 rows per table; larger, rarer scripts are parsed each time.
const MAX_PADDED_ROWS: usize = 128;

/// Most changed ledger states (one statement each) in a padded script: a run of single
/// donations changes its campaign's totals, and little else.
const MAX_PADDED_STATES: usize = 4;

/// Rows an insert of `rows` rows is padded to in SQLite's script: the next power of two.
/// The script's text then depends only on these sizes, which repeat from batch to batch,
/// so SQLite's prepared script is cached instead of parsed every batch (parsing was
/// about an eighth of SQLite's thread under single donations; 64 single-donation clients
/// went from 13,500-14,300 to 13,900-16,300 appends/s in four alternating pairs of runs).
fn padded_rows(rows: usize) -> usize {
    rows.next_power_of_two()
}

/// Whether SQLite's script for the rows outside full chunks is padded and kept prepared:
/// each big table's insert is at most [`MAX_PADDED_ROWS`] rows, and the batch has none of
/// the rarer rows whose statements are not padded (corrections, acknowledgements, org
/// tokens, more than a few changed ledger states). Other scripts would only crowd the
/// statement cache.
fn paddable(rows: &BatchRows<'_>) -> bool {
    let tables = [
        rows.entries.len(),
        rows.tree_hashes.len(),
        rows.records.len(),
        rows.recent_ids.len(),
        rows.donations.len(),
        rows.disbursements.len(),
    ];
    tables
        .into_iter()
        .all(|n| n % PREPARED_ROWS <= MAX_PADDED_ROWS)
        && rows.corrections.is_empty()
        && rows.acks.is_empty()
        && rows.org_tokens.is_empty()
        && stored_state(rows.state).count() <= MAX_PADDED_STATES
}

/// Pushes the `VALUES` rows of `$push`; with `$pad`, as a subquery padded up to
/// [`padded_rows`]`($rows)` with rows of `$columns` bound NULLs, which the insert skips.
/// (Bound, not literal: the text must not tell how many rows are real.)
macro_rules! padded_values {
    ($q:ident, $pad:expr, $rows:expr, $columns:expr, $push:block) => {{
        if $pad {
            $q.push("SELECT * FROM (");
            $push
            for _ in $rows..padded_rows($rows) {
                $q.push(", (");
                let mut row = $q.separated(", ");
                for _ in 0..$columns {
                    row.push_bind(None::<i64>);
                }
                $q.push(")");
            }
            $q.push(") WHERE column1 IS NOT NULL");
        } else {
            $push
        }
    }};
}

/// Pushes each statement of `$rows` in `$part` onto the query builder `$q`, running
/// `$done` after each one (which either separates it from the next or executes it).
/// With `$pad`, the inserts of the big tables are padded to [`padded_rows`] (see there).
macro_rules! push_statements {
    ($q:ident, $rows:expr, $part:expr, $pad:expr, $done:block) => {{
        let rows = $rows;
        let rest = $part.includes(0);
        let pad = $pad;
        if rest {
            $q.push("UPDATE log_head SET size = ")
                .push_bind(to_i64(rows.new_head.size))
                .push(", leaf_hash = ")
                .push_bind(&rows.new_head.leaf_hash.0[..])
                .push(", time_ms = ")
                .push_bind(rows.new_head.time.0)
                .push(" WHERE id = 1 AND size = ")
                .push_bind(to_i64(rows.old_head.size))
                .push(" AND leaf_hash = ")
                .push_bind(&rows.old_head.leaf_hash.0[..]);
            $done
        }
        for (_, chunk) in $part.chunks(rows.entries) {
            $q.push("INSERT INTO entries (seq, body) ");
            padded_values!($q, pad, chunk.len(), 2, {
                $q.push_values(chunk, |mut row, (seq, body)| {
                    row.push_bind(to_i64(*seq)).push_bind(&body[..]);
                });
            });
            $done
        }
        for (n, chunk) in $part.chunks(rows.tree_hashes) {
            let first = rows.first_tree_index + (n * PREPARED_ROWS) as u64;
            $q.push("INSERT INTO tree_hashes (idx, hash) ");
            padded_values!($q, pad, chunk.len(), 2, {
                $q.push_values(chunk.iter().enumerate(), |mut row, (i, hash)| {
                    row.push_bind(to_i64(first + i as u64))
                        .push_bind(&hash.0[..]);
                });
            });
            $done
        }
        for (table, ids) in [
            ("record_ids", rows.records),
            ("recent_ids", rows.recent_ids),
        ] {
            for (_, chunk) in $part.chunks(ids) {
                $q.push("INSERT INTO ")
                    .push(table)
                    .push(" (org, scope, id, seq) ");
                padded_values!($q, pad, chunk.len(), 4, {
                    $q.push_values(chunk, |mut row, (key, seq)| {
                        row.push_bind(&key.org)
                            .push_bind(key.scope.as_str())
                            .push_bind(&key.id)
                            .push_bind(to_i64(*seq));
                    });
                });
                $done
            }
        }
        if rest && rows.move_recent_ids {
            $q.push(MOVE_TO_RECORD_IDS);
            $done
        }
        // What people were paid per period: many per batch of payouts, so one upsert per
        // chunk rather than one per row.
        let people: Vec<_> = stored_state(rows.state)
            .filter_map(|(key, value)| match (key, value) {
                (
                    StateKey::PersonPayouts(org, campaign, beneficiary, period),
                    StateValue::PersonPayouts(Some(p)),
                ) => Some((org, campaign, beneficiary, period, p)),
                _ => None,
            })
            .collect();
        for chunk in people.chunks(PREPARED_ROWS).filter(|_| rest) {
            $q.push(
                "INSERT INTO person_payouts (org, campaign, beneficiary, period, paid, payouts) ",
            );
            $q.push_values(chunk, |mut row, (org, campaign, beneficiary, period, p)| {
                row.push_bind(*org)
                    .push_bind(*campaign)
                    .push_bind(*beneficiary)
                    .push_bind(period.as_str())
                    .push_bind(p.paid.minor_units())
                    .push_bind(to_i64(p.payouts));
            });
            $q.push(
                " ON CONFLICT (org, campaign, beneficiary, period) DO UPDATE SET \
                 paid = excluded.paid, payouts = excluded.payouts",
            );
            $done
        }
        for (key, value) in stored_state(rows.state)
            .filter(|(key, _)| !matches!(key, StateKey::PersonPayouts(..)))
            .filter(|_| rest)
        {
            match (key, value) {
                (StateKey::Beneficiary(org, id), StateValue::Beneficiary(Some((kind, seq)))) => {
                    $q.push("INSERT INTO beneficiaries (org, id, kind, seq) VALUES (")
                        .push_bind(org)
                        .push(", ")
                        .push_bind(id)
                        .push(", ")
                        .push_bind(kind.as_str())
                        .push(", ")
                        .push_bind(to_i64(*seq))
                        .push(")");
                }
                (StateKey::Campaign(org, id), StateValue::Campaign(Some(t))) => {
                    $q.push(
                        "INSERT INTO campaigns (org, id, currency, seq, received, fees, net, \
                         disbursed, donations_count, disbursements_count, max_per_person_per_day, \
                         max_per_person_per_month, max_payouts_per_person_per_day) ",
                    );
                    $q.push_values(std::iter::once(t), |mut row, t| {
                        let limits = &t.limits;
                        row.push_bind(org)
                            .push_bind(id)
                            .push_bind(t.currency.code())
                            .push_bind(to_i64(t.seq))
                            .push_bind(t.received.minor_units())
                            .push_bind(t.fees.minor_units())
                            .push_bind(t.net.minor_units())
                            .push_bind(t.disbursed.minor_units())
                            .push_bind(to_i64(t.donations))
                            .push_bind(to_i64(t.disbursements))
                            .push_bind(limits.max_per_person_per_day.map(|a| a.minor_units()))
                            .push_bind(limits.max_per_person_per_month.map(|a| a.minor_units()))
                            .push_bind(limits.max_payouts_per_person_per_day.map(to_i64));
                    });
                    $q.push(
                        " ON CONFLICT (org, id) DO UPDATE SET received = excluded.received, \
                         fees = excluded.fees, net = excluded.net, disbursed = excluded.disbursed, \
                         donations_count = excluded.donations_count, \
                         disbursements_count = excluded.disbursements_count",
                    );
                }
                (StateKey::Stated(org, campaign, beneficiary), StateValue::Stated(Some(t))) => {
                    $q.push(
                        "INSERT INTO campaign_beneficiaries (org, campaign, beneficiary, \
                         stated_at, disbursed, disbursements_count) ",
                    );
                    $q.push_values(std::iter::once(t), |mut row, t| {
                        row.push_bind(org)
                            .push_bind(campaign)
                            .push_bind(beneficiary)
                            .push_bind(to_i64(t.stated_at))
                            .push_bind(t.disbursed.minor_units())
                            .push_bind(to_i64(t.disbursements));
                    });
                    $q.push(
                        " ON CONFLICT (org, campaign, beneficiary) DO UPDATE SET \
                         disbursed = excluded.disbursed, \
                         disbursements_count = excluded.disbursements_count",
                    );
                }
                _ => unreachable!("stored_state yields only these"),
            }
            $done
        }
        for (_, chunk) in $part.chunks(rows.donations) {
            $q.push(
                "INSERT INTO donations (org, id, campaign, seq, amount, fee, net, \
                 received_before, donor_commitment) ",
            );
            padded_values!($q, pad, chunk.len(), 9, {
                $q.push_values(chunk, |mut row, d| {
                    row.push_bind(&d.org)
                        .push_bind(&d.id)
                        .push_bind(&d.campaign)
                        .push_bind(to_i64(d.seq))
                        .push_bind(d.amount)
                        .push_bind(d.fee)
                        .push_bind(d.net)
                        .push_bind(d.received_before)
                        .push_bind(&d.donor_commitment);
                });
            });
            $done
        }
        for (_, chunk) in $part.chunks(rows.disbursements) {
            $q.push(
                "INSERT INTO disbursements (org, id, campaign, beneficiary, seq, amount, \
                 disbursed_before) ",
            );
            padded_values!($q, pad, chunk.len(), 7, {
                $q.push_values(chunk, |mut row, x| {
                    row.push_bind(&x.org)
                        .push_bind(&x.id)
                        .push_bind(&x.campaign)
                        .push_bind(&x.beneficiary)
                        .push_bind(to_i64(x.seq))
                        .push_bind(x.amount)
                        .push_bind(x.disbursed_before);
                });
            });
            $done
        }
        for chunk in rows
            .corrections
            .chunks(MAX_ROWS_PER_STATEMENT)
            .filter(|_| rest)
        {
            $q.push("INSERT INTO corrections (org, id, corrects, seq) ");
            $q.push_values(chunk, |mut row, c| {
                row.push_bind(&c.org)
                    .push_bind(&c.id)
                    .push_bind(to_i64(c.corrects))
                    .push_bind(to_i64(c.seq));
            });
            $done
        }
        for chunk in rows.acks.chunks(MAX_ROWS_PER_STATEMENT).filter(|_| rest) {
            $q.push(
                "INSERT INTO acknowledgements (org, disbursement, status, amount_received, seq) ",
            );
            $q.push_values(chunk, |mut row, a| {
                row.push_bind(&a.org)
                    .push_bind(&a.disbursement)
                    .push_bind(a.status)
                    .push_bind(a.amount_received)
                    .push_bind(to_i64(a.seq));
            });
            $done
        }
        for chunk in rows
            .org_tokens
            .chunks(MAX_ROWS_PER_STATEMENT)
            .filter(|_| rest)
        {
            $q.push("INSERT INTO org_tokens (org, token_hash, issued_at_ms) ");
            $q.push_values(chunk, |mut row, (org, token_hash)| {
                row.push_bind(org)
                    .push_bind(&token_hash.0[..])
                    .push_bind(rows.clock.0);
            });
            $done
        }
        if rest {
            $q.push("INSERT INTO checkpoints (size, root, note) VALUES (")
                .push_bind(to_i64(rows.checkpoint.size))
                .push(", ")
                .push_bind(&rows.checkpoint.root.0[..])
                .push(", ")
                .push_bind(&rows.checkpoint.note)
                .push(")");
            $done
        }
    }};
}

impl AppendTx {
    /// Writes a batch's rows, moves the head and commits, unless the stored head is no
    /// longer `rows.old_head` (another writer appended first): then nothing is written.
    pub async fn commit_batch(self, rows: &BatchRows<'_>) -> StoreResult<Result<(), HeadMoved>> {
        rows.check_state()?;
        match self {
            AppendTx::SqliteBatch(mut writer, store) => {
                let Err(error) = run_sqlite_script(writer.connection()?, rows).await else {
                    return Ok(Ok(()));
                };
                // A statement that fails leaves its transaction open; closing the
                // connection rolls back whatever the script wrote.
                writer.close().await;
                match store.head().await {
                    Ok(head) if head != *rows.old_head => Ok(Err(HeadMoved {
                        expected: rows.old_head.size,
                        found: head.size,
                    })),
                    _ => Err(error),
                }
            }
            AppendTx::Postgres(mut tx) => {
                // Ids wait only where one process appends (see `store::recent_ids`); the
                // count of changed rows below could not include a move anyway.
                if !rows.recent_ids.is_empty() || rows.move_recent_ids {
                    return Err(StoreError::Unavailable(
                        "ids wait in recent_ids only on SQLite".into(),
                    ));
                }
                let mut changed = 0;
                let mut q = QueryBuilder::new("");
                push_statements!(q, rows, Part::All, false, {
                    changed += q.build().execute(&mut *tx).await?.rows_affected();
                    q.reset();
                });
                let mut tx = AppendTx::Postgres(tx);
                let expected = rows.expected_changes();
                if changed == expected {
                    tx.commit().await?;
                    Ok(Ok(()))
                } else if changed + 1 == expected {
                    // Dropping the transaction rolls it back.
                    let found = tx.lock_head().await?.map(|h| h.size).unwrap_or(0);
                    Ok(Err(HeadMoved {
                        expected: rows.old_head.size,
                        found,
                    }))
                } else {
                    Err(changed_rows_differ(changed, expected))
                }
            }
            AppendTx::Sqlite(_) => Err(StoreError::Unavailable(
                "a batch is committed through the connection of Store::begin_batch".into(),
            )),
        }
    }
}

/// Every insert adds its rows or fails and every upsert changes its row, so only a moved
/// head can change fewer rows than written (PostgreSQL's head update then changes none).
fn changed_rows_differ(changed: u64, expected: u64) -> StoreError {
    StoreError::Corrupt(format!(
        "a batch changed {changed} rows where {expected} were written"
    ))
}

/// Runs a batch on SQLite's writer connection: `BEGIN IMMEDIATE`, the full chunks of
/// large batches as cached statements, then everything else in one script that ends by
/// checking the head and committing. On an error the transaction may still be open (the
/// caller closes the connection).
///
/// The head update changes nothing if the head moved; the check after it then sets the
/// head's size to NULL, which its `NOT NULL` constraint refuses, so the script fails
/// before `COMMIT`. That check replaces PostgreSQL's count of changed rows: SQLite
/// reports a stale count for `BEGIN` (the previous statement's), so a script's total is
/// not the rows it changed.
async fn run_sqlite_script(conn: &mut SqliteConnection, rows: &BatchRows<'_>) -> StoreResult<()> {
    let mut began = false;
    let mut q = QueryBuilder::new("");
    push_statements!(q, rows, Part::Full, false, {
        if !began {
            sqlx::raw_sql("BEGIN IMMEDIATE").execute(&mut *conn).await?;
            began = true;
        }
        q.build().execute(&mut *conn).await?;
        q.reset();
    });
    let (mut q, pad) = rest_script(rows, began);
    // A padded script's text recurs and is kept prepared; any other is new text, and
    // preparing it once is cheaper than evicting the statement cache's reusable entries.
    q.build().persistent(pad).execute(&mut *conn).await?;
    Ok(())
}

/// SQLite's script for everything outside full chunks, ending with the head check and
/// `COMMIT` (and starting with `BEGIN IMMEDIATE` unless a full chunk `began` it), and
/// whether it is padded (see [`paddable`]).
fn rest_script(rows: &BatchRows<'_>, began: bool) -> (QueryBuilder<Sqlite>, bool) {
    let mut q = QueryBuilder::new(if began { "" } else { "BEGIN IMMEDIATE;\n" });
    let pad = paddable(rows);
    push_statements!(q, rows, Part::Rest, pad, {
        q.push(";\n");
    });
    q.push("UPDATE log_head SET size = NULL WHERE id = 1 AND NOT (size = ")
        .push_bind(to_i64(rows.new_head.size))
        .push(" AND leaf_hash = ")
        .push_bind(&rows.new_head.leaf_hash.0[..])
        .push(");\nCOMMIT");
    (q, pad)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::records::Scope;

    /// The rows of a batch of `n` donations (contents do not matter to the script's text),
    /// their ids waiting in `recent_ids` as on SQLite.
    struct Rows {
        head: ChainHead,
        entries: Vec<(u64, Vec<u8>)>,
        tree_hashes: Vec<Hash>,
        recent_ids: Vec<(RecordKey, u64)>,
        move_recent_ids: bool,
        donations: Vec<DonationRow>,
        checkpoint: StoredCheckpoint,
    }

    fn donations(n: u64, tree_hashes: usize) -> Rows {
        Rows {
            head: ChainHead {
                size: n,
                leaf_hash: Hash([7; 32]),
                time: UnixMillis(0),
            },
            entries: (0..n).map(|seq| (seq, vec![b'x'; 10])).collect(),
            tree_hashes: vec![Hash([1; 32]); tree_hashes],
            recent_ids: (0..n)
                .map(|seq| {
                    let key = RecordKey {
                        org: "org".into(),
                        scope: Scope::Donation,
                        id: format!("d-{seq}"),
                    };
                    (key, seq)
                })
                .collect(),
            move_recent_ids: false,
            donations: (0..n)
                .map(|seq| DonationRow {
                    org: "org".into(),
                    id: format!("d-{seq}"),
                    campaign: "c".into(),
                    seq,
                    amount: 10,
                    fee: 0,
                    net: 10,
                    received_before: 0,
                    donor_commitment: None,
                })
                .collect(),
            checkpoint: StoredCheckpoint {
                size: n,
                root: Hash([2; 32]),
                note: "note".into(),
            },
        }
    }

    fn script(rows: &Rows) -> (String, bool) {
        let batch = BatchRows {
            old_head: &rows.head,
            new_head: &rows.head,
            entries: &rows.entries,
            first_tree_index: 0,
            tree_hashes: &rows.tree_hashes,
            records: &[],
            recent_ids: &rows.recent_ids,
            move_recent_ids: rows.move_recent_ids,
            state: &[],
            donations: &rows.donations,
            disbursements: &[],
            corrections: &[],
            acks: &[],
            org_tokens: &[],
            clock: UnixMillis(0),
            checkpoint: &rows.checkpoint,
        };
        let (q, padded) = rest_script(&batch, false);
        (q.sql().as_str().to_string(), padded)
    }

    #[test]
    fn small_batches_of_one_size_class_share_one_script_text() {
        let (three, padded) = script(&donations(3, 5));
        assert!(padded);
        let (four, _) = script(&donations(4, 7));
        assert_eq!(three, four, "3 and 4 donations pad to the same 4 rows");
        let (five, _) = script(&donations(5, 8));
        assert_ne!(three, five, "5 donations pad to 8 rows");
        assert_eq!(three.matches("INSERT INTO donations").count(), 1);
        assert!(three.contains("WHERE column1 IS NOT NULL"));
        assert_eq!(three.matches("INSERT INTO recent_ids").count(), 1);
        assert!(!three.contains("record_ids"));
    }

    #[test]
    fn a_move_of_recent_ids_follows_the_batchs_own_and_keeps_the_script_padded() {
        let mut rows = donations(3, 5);
        rows.move_recent_ids = true;
        let (moving, padded) = script(&rows);
        assert!(padded);
        let own = moving.find("INSERT INTO recent_ids").unwrap();
        let moved = moving.find("INSERT INTO record_ids").unwrap();
        let emptied = moving.find("DELETE FROM recent_ids").unwrap();
        assert!(own < moved && moved < emptied, "{moving}");
        assert!(emptied < moving.find("COMMIT").unwrap());
        let mut four = donations(4, 7);
        four.move_recent_ids = true;
        assert_eq!(moving, script(&four).0, "one text per size class");
        assert_ne!(moving, script(&donations(3, 5)).0);
    }

    #[test]
    fn large_or_unusual_batches_are_not_padded() {
        let (text, padded) = script(&donations(200, 399));
        assert!(!padded);
        assert!(!text.contains("column1"));
        // A full chunk of tree hashes plus a small rest still pads the rest.
        let (_, padded) = script(&donations(100, PREPARED_ROWS + 3));
        assert!(padded);
    }
}
