-- The log: entries, the Merkle tree's stored hashes and signed checkpoints.
-- Entries, tree hashes and checkpoints are append-only: triggers refuse UPDATE and DELETE
-- (and TRUNCATE), so no code path can rewrite history without dropping them.

CREATE TABLE log_meta (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    origin TEXT NOT NULL,
    verifier_key TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL
);

-- The head of the chain, row-locked by every append batch (SELECT … FOR UPDATE), which
-- serialises appends from every process sharing this database.
CREATE TABLE log_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    size BIGINT NOT NULL,
    leaf_hash BYTEA NOT NULL,
    time_ms BIGINT NOT NULL
);

CREATE TABLE entries (
    seq BIGINT PRIMARY KEY,
    body BYTEA NOT NULL
);

CREATE TABLE tree_hashes (
    idx BIGINT PRIMARY KEY,
    hash BYTEA NOT NULL
);

CREATE TABLE checkpoints (
    size BIGINT PRIMARY KEY,
    root BYTEA NOT NULL,
    note TEXT NOT NULL
);

CREATE TABLE record_ids (
    org TEXT NOT NULL,
    scope TEXT NOT NULL,
    id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    PRIMARY KEY (org, scope, id)
);

CREATE TABLE operator_token (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    token_hash BYTEA NOT NULL,
    created_at_ms BIGINT NOT NULL
);

CREATE TABLE org_tokens (
    org TEXT PRIMARY KEY,
    token_hash BYTEA NOT NULL,
    issued_at_ms BIGINT NOT NULL
);

CREATE FUNCTION pennytrail_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER entries_append_only BEFORE UPDATE OR DELETE ON entries
    FOR EACH ROW EXECUTE FUNCTION pennytrail_refuse_change();
CREATE TRIGGER entries_no_truncate BEFORE TRUNCATE ON entries
    FOR EACH STATEMENT EXECUTE FUNCTION pennytrail_refuse_change();
CREATE TRIGGER tree_hashes_append_only BEFORE UPDATE OR DELETE ON tree_hashes
    FOR EACH ROW EXECUTE FUNCTION pennytrail_refuse_change();
CREATE TRIGGER checkpoints_append_only BEFORE UPDATE OR DELETE ON checkpoints
    FOR EACH ROW EXECUTE FUNCTION pennytrail_refuse_change();
CREATE TRIGGER record_ids_append_only BEFORE UPDATE OR DELETE ON record_ids
    FOR EACH ROW EXECUTE FUNCTION pennytrail_refuse_change();
