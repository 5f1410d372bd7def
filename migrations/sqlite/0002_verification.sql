-- Recipients and email verification (SQLite). Keep in step with
-- migrations/postgres/0002_verification.sql. See server/src/verification/.

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
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    package_id TEXT NOT NULL REFERENCES packages (id) ON DELETE CASCADE,
    email_hash BLOB NOT NULL,
    code_hash  BLOB NOT NULL,
    attempts   INTEGER NOT NULL DEFAULT 0,         -- wrong or right tries so far (max 5)
    expires_at INTEGER NOT NULL,
    used_at    INTEGER,                            -- confirmed, or replaced by a newer code
    created_at INTEGER NOT NULL
);
CREATE INDEX verification_codes_lookup ON verification_codes (package_id, email_hash, id);
CREATE INDEX verification_codes_expires ON verification_codes (expires_at);

-- Fixed-window counters for the per-hour caps, shared by every instance (atomic upserts).
CREATE TABLE rate_counters (
    scope        TEXT NOT NULL,                    -- 'code_per_address', 'code_per_package'
    subject      BLOB NOT NULL,                    -- HMAC of the address, or the package id
    window_start INTEGER NOT NULL,                 -- Unix seconds, start of the hour
    hits         INTEGER NOT NULL,
    PRIMARY KEY (scope, subject, window_start)
);

-- Recipient sessions (`sdr_...`), stored as SHA-256 of the token, scoped to one package.
CREATE TABLE recipient_sessions (
    token_hash BLOB PRIMARY KEY,
    package_id TEXT NOT NULL REFERENCES packages (id) ON DELETE CASCADE,
    email      TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX recipient_sessions_package ON recipient_sessions (package_id);
