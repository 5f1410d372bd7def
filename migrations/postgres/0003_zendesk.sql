-- Zendesk tenants, their settings, app installations, the admin's API grant (Postgres).
-- Keep in step with migrations/sqlite/0003_zendesk.sql. See server/src/zendesk/.

-- A tenant is keyed by its Zendesk subdomain (`acme` for acme.zendesk.com) when it came from
-- Zendesk; tenants made with `sealdrop admin tenant create` have none.
ALTER TABLE tenants ADD COLUMN zendesk_subdomain TEXT;
CREATE UNIQUE INDEX tenants_zendesk_subdomain ON tenants (zendesk_subdomain);

-- Settings an admin changes in the sidebar app. One row per tenant, made with the tenant.
-- Expiry defaults live on `tenants` (0001). JSON arrays are stored as TEXT.
CREATE TABLE tenant_settings (
    tenant_id            TEXT PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    allowed_roles        TEXT NOT NULL DEFAULT '["admin","agent"]', -- role types or custom role ids
    require_auth_default BIGINT NOT NULL DEFAULT 1,                -- outgoing files
    max_file_size        BIGINT,                                   -- NULL: the server's limit
    help_center_origins  TEXT NOT NULL DEFAULT '[]',                -- e.g. ["https://help.acme.com"]
    widget_forms         TEXT NOT NULL DEFAULT '[]',                -- ticket form ids; [] = all forms
    reply_link_style     TEXT NOT NULL DEFAULT 'text' CHECK (reply_link_style IN ('text', 'hyperlink')),
    widget_key           TEXT NOT NULL UNIQUE,                      -- public `sdw_...`, rotatable
    widget_quota_bytes   BIGINT,                                   -- NULL: the server's quota
    updated_at           BIGINT NOT NULL
);

-- A ZAF app installation: Zendesk signs sidebar JWTs with the app's key pair; `aud` names it.
CREATE TABLE zendesk_installations (
    tenant_id       TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    installation_id TEXT NOT NULL,
    app_public_key  TEXT NOT NULL,                 -- PEM (RS256)
    created_at      BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, installation_id)
);

-- The admin's OAuth grant for server-to-Zendesk calls; tokens encrypted at rest.
CREATE TABLE zendesk_grants (
    tenant_id         TEXT PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    access_token_enc  BYTEA NOT NULL,
    refresh_token_enc BYTEA,
    expires_at        BIGINT,                     -- NULL: does not expire
    granted_by        TEXT NOT NULL,               -- Zendesk user id of the granting admin
    status            TEXT NOT NULL CHECK (status IN ('active', 'needs_reauthorization')),
    updated_at        BIGINT NOT NULL
);

-- OAuth authorization requests in flight (PKCE), so any instance can finish the flow.
CREATE TABLE oauth_pending (
    state             TEXT PRIMARY KEY,            -- random, single use
    tenant_id         TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    code_verifier_enc BYTEA NOT NULL,
    created_by        TEXT NOT NULL,               -- Zendesk user id
    expires_at        BIGINT NOT NULL
);

-- Role answers from the Zendesk API, shared by every instance for the cache's lifetime.
CREATE TABLE zendesk_role_cache (
    tenant_id  TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL,
    role       TEXT NOT NULL,                      -- 'admin', 'agent', 'end-user' or custom role id
    checked_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, user_id)
);

-- Who sent a package from Zendesk, and for which ticket (agent sends; Help Center uploads
-- learn their ticket later, if ever).
ALTER TABLE packages ADD COLUMN created_by_user TEXT;
ALTER TABLE packages ADD COLUMN ticket_id TEXT;
