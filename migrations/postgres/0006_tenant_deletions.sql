-- Tenant deletions and their certificates (Postgres). Keep in step with
-- migrations/sqlite/0006_tenant_deletions.sql; docs/DATA.md says what each column holds.

-- One row per tenant whose deletion was asked: the totals counted before anything was
-- deleted (so a deletion killed midway and run again still certifies everything), and the
-- signed certificate once done. Kept after the tenant is gone: it is the proof.
CREATE TABLE tenant_deletions (
    tenant_id   TEXT PRIMARY KEY,
    tenant_name TEXT NOT NULL,
    totals      TEXT NOT NULL,                     -- JSON counts, taken at the start
    started_at  BIGINT NOT NULL,
    finished_at BIGINT,                            -- NULL while unfinished
    certificate TEXT                               -- the signed certificate, once finished
);
