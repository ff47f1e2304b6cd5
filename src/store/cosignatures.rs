//! Witnesses' cosignatures of the log's checkpoints (migration 0007): one line per
//! (checkpoint size, witness), recorded once and never changed.

use sqlx::Row as _;

use super::{Store, StoreResult, StoredCheckpoint, checkpoint_from_row, to_i64};

/// A stored checkpoint with the cosignature lines recorded for it, by witness name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CosignedCheckpoint {
    pub checkpoint: StoredCheckpoint,
    pub lines: Vec<(String, String)>,
}

impl CosignedCheckpoint {
    /// The checkpoint note with every recorded cosignature line after the log's signature.
    pub fn note(&self) -> String {
        let mut note = self.checkpoint.note.clone();
        for (_, line) in &self.lines {
            note.push_str(line);
        }
        note
    }

    /// The checkpoint as receipts are built against it: its note carries the
    /// cosignatures.
    pub fn into_stored(self) -> StoredCheckpoint {
        let note = self.note();
        StoredCheckpoint {
            note,
            ..self.checkpoint
        }
    }
}

impl Store {
    /// Records `witness`'s cosignature `line` of the checkpoint of `size` (a second line
    /// for the same size and witness is ignored).
    pub async fn record_cosignature(
        &self,
        size: u64,
        witness: &str,
        line: &str,
        received_ms: i64,
    ) -> StoreResult<()> {
        let sql =
            "INSERT INTO cosignatures (size, witness, line, received_ms) VALUES ($1, $2, $3, $4)
                   ON CONFLICT (size, witness) DO NOTHING";
        match self {
            Store::Sqlite { writer, .. } => {
                sqlx::query(sql)
                    .bind(to_i64(size))
                    .bind(witness)
                    .bind(line)
                    .bind(received_ms)
                    .execute(writer)
                    .await?;
            }
            Store::Postgres { pool } => {
                sqlx::query(sql)
                    .bind(to_i64(size))
                    .bind(witness)
                    .bind(line)
                    .bind(received_ms)
                    .execute(pool)
                    .await?;
            }
        }
        Ok(())
    }

    /// The stored checkpoint of `size` with the cosignatures recorded for it (none: an
    /// empty list); `None` when no checkpoint of that size is stored.
    pub async fn cosigned_checkpoint_at(
        &self,
        size: u64,
    ) -> StoreResult<Option<CosignedCheckpoint>> {
        let Some(checkpoint) = self.checkpoint_at(size).await? else {
            return Ok(None);
        };
        let sql = "SELECT witness, line FROM cosignatures WHERE size = $1 ORDER BY witness";
        let lines: Vec<(String, String)> = dispatch!(self, pool => sqlx::query_as(sql)
            .bind(to_i64(size))
            .fetch_all(pool)
            .await?);
        Ok(Some(CosignedCheckpoint { checkpoint, lines }))
    }

    /// The `limit` largest checkpoints of size at least `min_size` that carry at least
    /// `fewest` cosignatures, largest first, each with its lines.
    pub async fn cosigned_checkpoints(
        &self,
        min_size: u64,
        fewest: usize,
        limit: u64,
    ) -> StoreResult<Vec<CosignedCheckpoint>> {
        let sql = "SELECT c.size, c.root, c.note, w.witness, w.line
                   FROM checkpoints c JOIN cosignatures w ON w.size = c.size
                   WHERE c.size IN (SELECT size FROM cosignatures WHERE size >= $1
                                    GROUP BY size HAVING COUNT(*) >= $2
                                    ORDER BY size DESC LIMIT $3)
                   ORDER BY c.size DESC, w.witness";
        let rows: Vec<(i64, Vec<u8>, String, String, String)> = dispatch!(self, pool => sqlx::query(sql)
            .bind(to_i64(min_size))
            .bind(i64::try_from(fewest).unwrap_or(i64::MAX))
            .bind(to_i64(limit))
            .fetch_all(pool)
            .await?
            .into_iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?, r.try_get(4)?)))
            .collect::<Result<_, sqlx::Error>>()?);
        let mut cosigned: Vec<CosignedCheckpoint> = Vec::new();
        for (size, root, note, witness, line) in rows {
            let checkpoint = checkpoint_from_row(size, root, note)?;
            match cosigned.last_mut() {
                Some(last) if last.checkpoint.size == checkpoint.size => {
                    last.lines.push((witness, line));
                }
                _ => cosigned.push(CosignedCheckpoint {
                    checkpoint,
                    lines: vec![(witness, line)],
                }),
            }
        }
        Ok(cosigned)
    }
}
