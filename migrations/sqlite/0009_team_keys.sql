-- Team keys (issue 18, docs/FORMAT.md §16-§21) (SQLite). Keep in step with
-- migrations/postgres/0009_team_keys.sql; docs/DATA.md says what each column holds,
-- server/src/team/ the rules.

-- Whether Help Center uploads must be team-sealed (off by default; turning it on needs a
-- stored roster).
ALTER TABLE tenant_settings ADD COLUMN team_keys INTEGER NOT NULL DEFAULT 0;

-- Agents' device keys (X25519 public keys, never a secret). A row goes when its device leaves
-- the roster for good: removed by its agent (at once if the roster does not list it, else when
-- the admin publishes a roster without it), or dropped by the admin from a new roster.
CREATE TABLE team_devices (
    tenant_id  TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    device_key BLOB NOT NULL,        -- D, 32 bytes
    user_id    INTEGER NOT NULL,     -- the agent's Zendesk user id
    label      TEXT NOT NULL,        -- the device's name as the agent gave it
    status     TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'removed')),
    created_at INTEGER NOT NULL,
    removed_at INTEGER,              -- when its agent removed it (pending removal)
    PRIMARY KEY (tenant_id, device_key)
);
CREATE INDEX team_devices_user ON team_devices (tenant_id, user_id);

-- One row per tenant with an admin key: the key, wrapped by the recovery code (the server
-- cannot open it), and the current signed roster.
CREATE TABLE team_keys (
    tenant_id            TEXT PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    admin_key            BLOB NOT NULL,   -- A, the Ed25519 public key, 32 bytes
    wrapped_admin_key    BLOB NOT NULL,   -- docs/FORMAT.md §18.3, 101 bytes
    admin_key_updated_at INTEGER NOT NULL,
    roster               BLOB,            -- the signed roster, docs/FORMAT.md §19.1
    roster_sequence      INTEGER,         -- its sequence (checked at each publication)
    roster_updated_at    INTEGER
);
