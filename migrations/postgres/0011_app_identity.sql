-- Which agent a packaged sidebar runs for (postgres). Keep in step with
-- migrations/sqlite/0011_app_identity.sql; docs/DATA.md says what each column holds.

-- The app JWT that Zendesk's proxy signs proves the account, not the user: the app's own
-- script chooses its claims. The agent proves who they are once per browser through
-- Zendesk's OAuth consent (docs/ZENDESK.md "Who the packaged sidebar runs for"): the sidebar
-- makes a random claim, the server records its hash with the user the JWT named, the agent
-- approves in Zendesk, and `GET /api/v2/users/me` with that token must name the same user.
CREATE TABLE app_identity_claims (
    claim_hash        TEXT PRIMARY KEY,       -- hex SHA-256 of the sidebar's random claim
    tenant_id         TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id           TEXT NOT NULL,          -- the Zendesk user the app JWT named
    state             TEXT UNIQUE,            -- hex SHA-256 of the OAuth state, once started
    code_verifier_enc BYTEA,                  -- the PKCE verifier, sealed under the token key
    verified_at       BIGINT,                 -- when Zendesk named the same user
    expires_at        BIGINT NOT NULL
);

-- What the sidebar keeps after that proof: a random credential (only its hash here) that it
-- sends with each app JWT, so the proof is made once per browser, not per sign-in.
CREATE TABLE app_credentials (
    credential_hash TEXT PRIMARY KEY,         -- hex SHA-256 of the credential
    tenant_id       TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id         TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    last_used_at    BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL
);
CREATE INDEX app_credentials_user ON app_credentials (tenant_id, user_id);
