-- Witnesses' cosignatures (C2SP tlog-cosignature) of the log's checkpoints, collected in
-- the background per --witness-policy. One line per (checkpoint size, witness name); like
-- the checkpoints they cosign, they are never changed or removed.
CREATE TABLE cosignatures (
    size BIGINT NOT NULL REFERENCES checkpoints (size),
    witness TEXT NOT NULL,
    line TEXT NOT NULL,
    received_ms BIGINT NOT NULL,
    PRIMARY KEY (size, witness)
);
CREATE TRIGGER cosignatures_append_only BEFORE UPDATE OR DELETE ON cosignatures
    FOR EACH ROW EXECUTE FUNCTION pennytrail_refuse_change();
CREATE TRIGGER cosignatures_no_truncate BEFORE TRUNCATE ON cosignatures
    FOR EACH STATEMENT EXECUTE FUNCTION pennytrail_refuse_change();
