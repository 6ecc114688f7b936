-- Web console sessions. The cookie carries a random id; only its SHA-256 is stored. A
-- session belongs to the admin token it was opened with, so revoking (or the expiry of)
-- that token ends its sessions at once.
CREATE TABLE console_sessions (
    id_hash bytea PRIMARY KEY,
    account_id uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    admin_token_id uuid NOT NULL REFERENCES admin_tokens (id) ON DELETE CASCADE,
    csrf_token text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);

CREATE INDEX console_sessions_expires_at ON console_sessions (expires_at);
CREATE INDEX console_sessions_admin_token_id ON console_sessions (admin_token_id);
