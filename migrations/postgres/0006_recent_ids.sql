-- Ids of donations appended in small batches wait here on SQLite (src/store/recent_ids.rs
-- says why). On PostgreSQL, where several processes append, ids go straight to
-- record_ids and this table stays empty; it exists so that both backends run the same
-- reads.
CREATE TABLE recent_ids (
    seq BIGINT PRIMARY KEY,
    org TEXT NOT NULL,
    scope TEXT NOT NULL,
    id TEXT NOT NULL
);
CREATE TRIGGER recent_ids_no_update BEFORE UPDATE ON recent_ids
    FOR EACH ROW EXECUTE FUNCTION pennytrail_refuse_change();
