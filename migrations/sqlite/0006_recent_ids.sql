-- Ids of donations appended in small batches wait here, in log order, until a later
-- batch moves them all into record_ids at once (src/store/recent_ids.rs says why).
-- Keyed by seq, so a commit appends to the table's last page or two, where each id in
-- record_ids lands on a page of its own. Rows are deleted only when they move; an id is
-- never in both tables.
CREATE TABLE recent_ids (
    seq INTEGER PRIMARY KEY,
    org TEXT NOT NULL,
    scope TEXT NOT NULL,
    id TEXT NOT NULL
);
CREATE TRIGGER recent_ids_no_update BEFORE UPDATE ON recent_ids
BEGIN SELECT RAISE(ABORT, 'recent ids are immutable until they move to record_ids'); END;
