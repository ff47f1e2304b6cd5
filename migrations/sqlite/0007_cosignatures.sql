-- Witnesses' cosignatures (C2SP tlog-cosignature) of the log's checkpoints, collected in
-- the background per --witness-policy. One line per (checkpoint size, witness name); like
-- the checkpoints they cosign, they are never changed or removed.
CREATE TABLE cosignatures (
    size INTEGER NOT NULL REFERENCES checkpoints (size),
    witness TEXT NOT NULL,
    line TEXT NOT NULL,
    received_ms INTEGER NOT NULL,
    PRIMARY KEY (size, witness)
);
CREATE TRIGGER cosignatures_no_update BEFORE UPDATE ON cosignatures
BEGIN SELECT RAISE(ABORT, 'cosignatures are immutable'); END;
CREATE TRIGGER cosignatures_no_delete BEFORE DELETE ON cosignatures
BEGIN SELECT RAISE(ABORT, 'cosignatures are immutable'); END;
