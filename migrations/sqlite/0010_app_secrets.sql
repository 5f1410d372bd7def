-- The shared secret of each tenant's Zendesk app (sqlite). Keep in step with
-- migrations/postgres/0010_app_secrets.sql; docs/DATA.md says what each column holds.

-- The sidebar served from the app package signs in with an HS256 JWT that Zendesk's proxy
-- makes with the app's secure setting `shared_secret` (docs/ZENDESK.md "Sidebar from the app
-- package"). The server needs the secret itself to verify it, so it is kept sealed under the
-- token key, bound to the tenant, like the OAuth grant's tokens.
CREATE TABLE zendesk_app_secrets (
    tenant_id  TEXT PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    secret_enc BLOB NOT NULL,     -- AES-256-GCM under the token key, AAD the subdomain
    created_at INTEGER NOT NULL
);
