-- The log: entries, the Merkle tree's stored hashes and signed checkpoints.
-- Entries, tree hashes and checkpoints are append-only: triggers refuse UPDATE and DELETE,
-- so no code path (and no hand-typed SQL) can rewrite history without dropping them.

CREATE TABLE log_meta (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    origin TEXT NOT NULL,
    verifier_key TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL
);

-- The head of the chain; every append batch updates it only if it still holds the
-- size and leaf hash the batch was built on.
CREATE TABLE log_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    size INTEGER NOT NULL,
    leaf_hash BLOB NOT NULL,
    time_ms INTEGER NOT NULL
);

-- Exact canonical bytes of every entry. The leaf hash lives in tree_hashes (level 0).
CREATE TABLE entries (
    seq INTEGER PRIMARY KEY,
    body BLOB NOT NULL
);

-- Go sumdb/tlog stored hashes: one row per complete subtree, ~2 per entry.
CREATE TABLE tree_hashes (
    idx INTEGER PRIMARY KEY,
    hash BLOB NOT NULL
);

-- One signed checkpoint per committed batch.
CREATE TABLE checkpoints (
    size INTEGER PRIMARY KEY,
    root BLOB NOT NULL,
    note TEXT NOT NULL
);

-- Client-chosen ids are idempotency keys: (org, scope, id) names at most one entry.
CREATE TABLE record_ids (
    org TEXT NOT NULL,
    scope TEXT NOT NULL,
    id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (org, scope, id)
) WITHOUT ROWID;

-- Secrets are stored only as SHA-256 of high-entropy random tokens.
CREATE TABLE operator_token (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    token_hash BLOB NOT NULL,
    created_at_ms INTEGER NOT NULL
);

CREATE TABLE org_tokens (
    org TEXT PRIMARY KEY,
    token_hash BLOB NOT NULL,
    issued_at_ms INTEGER NOT NULL
);

CREATE TRIGGER entries_no_update BEFORE UPDATE ON entries
BEGIN SELECT RAISE(ABORT, 'log entries are immutable'); END;
CREATE TRIGGER entries_no_delete BEFORE DELETE ON entries
BEGIN SELECT RAISE(ABORT, 'log entries are immutable'); END;
CREATE TRIGGER tree_hashes_no_update BEFORE UPDATE ON tree_hashes
BEGIN SELECT RAISE(ABORT, 'tree hashes are immutable'); END;
CREATE TRIGGER tree_hashes_no_delete BEFORE DELETE ON tree_hashes
BEGIN SELECT RAISE(ABORT, 'tree hashes are immutable'); END;
CREATE TRIGGER checkpoints_no_update BEFORE UPDATE ON checkpoints
BEGIN SELECT RAISE(ABORT, 'checkpoints are immutable'); END;
CREATE TRIGGER checkpoints_no_delete BEFORE DELETE ON checkpoints
BEGIN SELECT RAISE(ABORT, 'checkpoints are immutable'); END;
CREATE TRIGGER record_ids_no_update BEFORE UPDATE ON record_ids
BEGIN SELECT RAISE(ABORT, 'record ids are immutable'); END;
CREATE TRIGGER record_ids_no_delete BEFORE DELETE ON record_ids
BEGIN SELECT RAISE(ABORT, 'record ids are immutable'); END;
