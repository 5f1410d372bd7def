-- sealdrop core schema (SQLite). Keep in step with migrations/postgres/0001_core.sql.
-- Times are Unix seconds (UTC). Tokens are stored only as SHA-256 hashes.

CREATE TABLE tenants (
    id                  TEXT PRIMARY KEY,          -- b64u of 16 random bytes
    name                TEXT NOT NULL UNIQUE,
    default_expiry_secs INTEGER,                   -- NULL: the server's default
    max_expiry_secs     INTEGER,                   -- NULL: the server's maximum
    created_at          INTEGER NOT NULL
);

CREATE TABLE api_tokens (
    token_hash BLOB PRIMARY KEY,                   -- SHA-256 of the whole `sdt_...` token
    tenant_id  TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE INDEX api_tokens_tenant ON api_tokens (tenant_id);

CREATE TABLE packages (
    id                TEXT PRIMARY KEY,            -- b64u(package_id), 22 chars
    tenant_id         TEXT NOT NULL REFERENCES tenants (id),
    state             TEXT NOT NULL CHECK (state IN ('uploading', 'ready', 'revoked')),
    created_by        TEXT NOT NULL,               -- 'tenant_token' (later: agent, widget)
    server_secret     BLOB NOT NULL,               -- S, 32 bytes, kept as is by design
    upload_token_hash BLOB NOT NULL,
    link_verifier     BLOB,                        -- SHA-256(A), set with the manifest
    manifest          BLOB,
    require_auth      INTEGER NOT NULL DEFAULT 0,
    notify_sender     TEXT,
    expires_at        INTEGER NOT NULL,
    max_downloads     INTEGER,                     -- NULL: unlimited
    downloads_used    INTEGER NOT NULL DEFAULT 0,
    created_at        INTEGER NOT NULL,
    finalized_at      INTEGER,
    revoked_at        INTEGER
);
CREATE INDEX packages_tenant ON packages (tenant_id);
CREATE INDEX packages_expires ON packages (expires_at);

-- The manifest's public file table, so part uploads need not re-parse the manifest.
CREATE TABLE package_files (
    package_id      TEXT NOT NULL REFERENCES packages (id) ON DELETE CASCADE,
    file            INTEGER NOT NULL,
    ciphertext_size INTEGER NOT NULL,
    part_count      INTEGER NOT NULL,
    PRIMARY KEY (package_id, file)
);

CREATE TABLE parts (
    package_id TEXT NOT NULL REFERENCES packages (id) ON DELETE CASCADE,
    file       INTEGER NOT NULL,
    part       INTEGER NOT NULL,
    size       INTEGER NOT NULL,
    sha256     BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (package_id, file, part)
);

CREATE TABLE download_tokens (
    token_hash BLOB PRIMARY KEY,
    package_id TEXT NOT NULL REFERENCES packages (id) ON DELETE CASCADE,
    expires_at INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX download_tokens_package ON download_tokens (package_id);

-- Outlives the packages it talks about (no foreign key on package_id).
CREATE TABLE audit_events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id  TEXT NOT NULL,
    package_id TEXT,
    event      TEXT NOT NULL,                      -- created, uploaded, finalized, opened, ...
    detail     TEXT,                               -- small JSON object, never a secret
    created_at INTEGER NOT NULL
);
CREATE INDEX audit_events_tenant ON audit_events (tenant_id, id);
