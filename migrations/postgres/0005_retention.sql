-- Retention (Postgres). Keep in step with migrations/sqlite/0005_retention.sql; docs/DATA.md
-- says how long each row lives.

-- When the purge deleted a package's blobs (expired, revoked or downloaded out). The row stays
-- (so its link says why it no longer opens) for the retention period, then goes with every
-- row that hangs off it.
ALTER TABLE packages ADD COLUMN purged_at BIGINT;
CREATE INDEX packages_purged ON packages (purged_at);

-- A tenant's own retention periods, in days (NULL: the server's).
ALTER TABLE tenant_settings ADD COLUMN package_retention_days BIGINT;
ALTER TABLE tenant_settings ADD COLUMN audit_retention_days BIGINT;

CREATE INDEX audit_events_age ON audit_events (created_at);
