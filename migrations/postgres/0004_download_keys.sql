-- Idempotency keys of `POST /api/v1/packages/{id}/download` (Postgres).
-- Keep in step with migrations/sqlite/0004_download_keys.sql. See docs/API.md.

-- A download started with an `Idempotency-Key` header: a repeat of the same key for the same
-- package, until `expires_at` (the first download token's expiry), gets a new download token
-- without counting another download. Only SHA-256 of the key is kept.
CREATE TABLE download_keys (
    package_id TEXT NOT NULL REFERENCES packages (id) ON DELETE CASCADE,
    key_hash   BYTEA NOT NULL,                     -- SHA-256 of the Idempotency-Key header
    expires_at BIGINT NOT NULL,                    -- the first download token's expiry
    created_at BIGINT NOT NULL,
    PRIMARY KEY (package_id, key_hash)
);
CREATE INDEX download_keys_expires ON download_keys (expires_at);
