-- Foundation: accounts, their credentials, keyCRM integration settings, the message inbox and
-- outbox, and the shared keyCRM request budget.

CREATE TABLE accounts (
    id          uuid PRIMARY KEY,
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- Admin API bearer tokens; only a SHA-256 of each token is stored.
CREATE TABLE admin_tokens (
    id          uuid PRIMARY KEY,
    account_id  uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    token_hash  bytea NOT NULL UNIQUE,
    label       text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);
CREATE INDEX admin_tokens_account ON admin_tokens (account_id);

-- Secret webhook links. Lookup is by SHA-256; the token is also kept encrypted (AES-256-GCM,
-- bound to the account) so the settings page can show the link again.
CREATE TABLE webhook_tokens (
    id                uuid PRIMARY KEY,
    account_id        uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    token_hash        bytea NOT NULL UNIQUE,
    token_ciphertext  bytea NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    revoked_at        timestamptz
);
CREATE UNIQUE INDEX webhook_tokens_one_active ON webhook_tokens (account_id) WHERE revoked_at IS NULL;

-- keyCRM integration settings, one row per account.
CREATE TABLE keycrm_integrations (
    account_id           uuid PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    -- AES-256-GCM (nonce || ciphertext), bound to the account; never the plain key.
    api_key_ciphertext   bytea,
    -- HMAC-SHA256 of the key under the master key: names the shared request budget.
    api_key_fingerprint  bytea,
    api_key_mask         text,
    base_url             text NOT NULL,
    enabled              boolean NOT NULL DEFAULT false,
    receive_payments     boolean NOT NULL DEFAULT false,
    archive_status_ids   bigint[] NOT NULL DEFAULT '{}',
    keep_product_info    boolean NOT NULL DEFAULT false,
    stock_push_enabled   boolean NOT NULL DEFAULT false,
    requests_per_minute  integer NOT NULL DEFAULT 60 CHECK (requests_per_minute BETWEEN 1 AND 6000),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    CHECK ((api_key_ciphertext IS NULL) = (api_key_fingerprint IS NULL))
);
CREATE INDEX keycrm_integrations_fingerprint ON keycrm_integrations (api_key_fingerprint);

-- Messages a consumer has processed: a redelivered message finds its row and changes nothing.
CREATE TABLE inbox (
    consumer      text NOT NULL,
    message_id    text NOT NULL,
    account_id    uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    processed_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, message_id)
);
CREATE INDEX inbox_account ON inbox (account_id);

-- Events produced by database writes, published by the relay after the write commits.
CREATE TABLE outbox (
    id            bigserial PRIMARY KEY,
    account_id    uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    message_id    uuid NOT NULL UNIQUE,
    message_type  text NOT NULL,
    routing_key   text NOT NULL,
    payload       bytea NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    published_at  timestamptz
);
CREATE INDEX outbox_unpublished ON outbox (id) WHERE published_at IS NULL;

-- The keyCRM request budget (GCRA): one row per API key, shared by every process and
-- every account using that key. Keyed by the key's fingerprint, not by account.
CREATE TABLE keycrm_budget (
    key_fingerprint  bytea PRIMARY KEY,
    tat              timestamptz NOT NULL,
    granted_total    bigint NOT NULL DEFAULT 0,
    updated_at       timestamptz NOT NULL DEFAULT now()
);
