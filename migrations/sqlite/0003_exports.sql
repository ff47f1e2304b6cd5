-- Streamed exports filtered by org (`GET /v1/exports/{file}?org=`) read an org's
-- entries in log order without scanning the whole log.
CREATE INDEX record_ids_by_org_seq ON record_ids (org, seq);
