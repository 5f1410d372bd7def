-- Recipients and email verification (Postgres). Keep in step with
-- migrations/sqlite/0002_verification.sql. See server/src/verification/.

-- The addresses a package was sent to (`recipients` of the create request), normalised
-- (trimmed, lower-case). Only these can receive a verification code.
CREATE TABLE package_recipients (
    package_id TEXT NOT NULL REFERENCES packages (id) ON DELETE CASCADE,
    email      TEXT NOT NULL,
    PRIMARY KEY (package_id, email)
);

-- One row per "send me a code" request, for recipients and non-recipients alike (the same
-- write either way). Codes are stored only as HMAC-SHA256 under the server's verification key,
-- addresses only as HMAC-SHA256 too (typed-in addresses of strangers are not kept in clear).
CREATE TABLE verification_codes (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    package_id TEXT NOT NULL REFERENCES packages (id) ON DELETE CASCADE,
    email_hash BYTEA NOT NULL,
    code_hash  BYTEA NOT NULL,
    attempts   BIGINT NOT NULL DEFAULT 0,         -- wrong or right tries so far (max 5)
    expires_at BIGINT NOT NULL,
    used_at    BIGINT,                            -- confirmed, or replaced by a newer code
    created_at BIGINT NOT NULL
);
CREATE INDEX verification_codes_lookup ON verification_codes (package_id, email_hash, id);
CREATE INDEX verification_codes_expires ON verification_codes (expires_at);

-- Fixed-window counters for the per-hour caps, shared by every instance (atomic upserts).
CREATE TABLE rate_counters (
    scope        TEXT NOT NULL,                    -- 'code_per_address', 'code_per_package'
    subject      BYTEA NOT NULL,                    -- HMAC of the address, or the package id
    window_start BIGINT NOT NULL,                 -- Unix seconds, start of the hour
    hits         BIGINT NOT NULL,
    PRIMARY KEY (scope, subject, window_start)
);

-- Recipient sessions (`sdr_...`), stored as SHA-256 of the token, scoped to one package.
CREATE TABLE recipient_sessions (
    token_hash BYTEA PRIMARY KEY,
    package_id TEXT NOT NULL REFERENCES packages (id) ON DELETE CASCADE,
    email      TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX recipient_sessions_package ON recipient_sessions (package_id);
