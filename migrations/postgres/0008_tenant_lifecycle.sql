-- A Zendesk tenant's lifecycle: its activity, its app uninstalled, its deletion scheduled
-- (Postgres). Keep in step with migrations/sqlite/0008_tenant_lifecycle.sql; docs/DATA.md
-- says what each column holds, server/src/lifecycle.rs the rule.

-- When the tenant's people last used sealdrop: a verified sidebar sign-in, or a package made
-- by an agent or the tenant's API token (Help Center uploads and downloads do not count).
-- Existing tenants start from their newest such package, or their creation.
ALTER TABLE tenants ADD COLUMN last_active_at BIGINT;
UPDATE tenants SET last_active_at = COALESCE(
    (SELECT MAX(p.created_at) FROM packages p
     WHERE p.tenant_id = tenants.id AND p.created_by <> 'widget'),
    created_at);

-- When the lifecycle check found the pinned installation gone (Zendesk answered 404 for it);
-- NULL while it is installed as far as the server knows.
ALTER TABLE zendesk_installations ADD COLUMN uninstalled_at BIGINT;

-- The granting admin's email (from Zendesk, at the grant), to tell them about a scheduled
-- deletion even once the grant stops working.
ALTER TABLE zendesk_grants ADD COLUMN granted_by_email TEXT;

-- A tenant whose app is gone or whose grant no longer works, to be deleted at delete_at unless
-- it comes back first. Goes with the tenant, or when the app is reinstalled or the grant works
-- again.
CREATE TABLE scheduled_deletions (
    tenant_id   TEXT PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    reason      TEXT NOT NULL CHECK (reason IN ('uninstalled', 'no_grant')),
    detected_at BIGINT NOT NULL,   -- the first check that saw the reason
    delete_at   BIGINT NOT NULL,   -- max(detected_at, tenants.last_active_at) + the grace period
    notified_at BIGINT,            -- when the admin was mailed about it; NULL: not (yet)
    deleting_at BIGINT             -- when a check started deleting (one instance at a time)
);
