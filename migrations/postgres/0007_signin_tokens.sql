-- ZAF signed-URL tokens already exchanged for a session (Postgres). Keep in step with
-- migrations/sqlite/0007_signin_tokens.sql; docs/DATA.md says what each column holds.

-- A token Zendesk signs is good for its lifetime (minutes); each is accepted once, so one
-- captured from a browser history or a proxy log cannot open a second session. The hash,
-- not the token, is kept, and only until the token expires.
CREATE TABLE signin_tokens_used (
    token_hash BYTEA PRIMARY KEY,  -- SHA-256 of the whole JWT
    expires_at BIGINT NOT NULL     -- the token's exp plus the clock leeway
);
