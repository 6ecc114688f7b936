-- Orders: nomenclature, customer orders with lines and payments, the order fetch queue,
-- "Synchronize orders" jobs and the reconciliation watermark.

ALTER TABLE keycrm_integrations
    -- Statuses whose *new* orders the reconciliation pass imports (the same statuses as the
    -- keyCRM trigger that calls the webhook).
    ADD COLUMN import_status_ids      bigint[] NOT NULL DEFAULT '{}',
    -- Orders updated since this instant are pulled by the next reconciliation pass.
    ADD COLUMN reconcile_watermark    timestamptz,
    -- A process holding this lease is reconciling the account.
    ADD COLUMN reconcile_lease_until  timestamptz,
    ADD COLUMN reconcile_due_at       timestamptz;

-- Nomenclature: one row per SKU per account.
CREATE TABLE products (
    id                 uuid PRIMARY KEY,
    account_id         uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    sku                text NOT NULL CHECK (length(sku) BETWEEN 1 AND 200),
    -- The display name: base name, then property values after commas ("Shirt, white, M").
    name               text NOT NULL,
    base_name          text NOT NULL,
    properties         jsonb NOT NULL DEFAULT '[]',
    price              numeric(18, 4),
    unit               text,
    keycrm_offer_id    bigint,
    keycrm_product_id  bigint,
    origin             text NOT NULL CHECK (origin IN ('keycrm_offer', 'keycrm_one_time', 'manual')),
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    UNIQUE (account_id, sku)
);
CREATE INDEX products_account_name ON products (account_id, lower(name));

CREATE TABLE customer_orders (
    id                    uuid PRIMARY KEY,
    account_id            uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    keycrm_id             bigint NOT NULL,
    number                text,
    source_id             bigint,
    status_id             bigint,
    status_group_id       bigint,
    status_name           text,
    grand_total           numeric(18, 4),
    total_discount        numeric(18, 4),
    payments_total        numeric(18, 4),
    shipping_price        numeric(18, 4),
    payment_status        text,
    buyer_name            text,
    buyer_phone           text,
    buyer_email           text,
    buyer_comment         text,
    manager_comment       text,
    keycrm_created_at     timestamptz,
    keycrm_updated_at     timestamptz,
    ordered_at            timestamptz,
    closed_at             timestamptz,
    status_changed_at     timestamptz,
    -- Set while the order is in the archive (its status is one of the archive statuses).
    archived_at           timestamptz,
    -- keyCRM answered 404 for the order.
    deleted_in_keycrm_at  timestamptz,
    -- The keyCRM document as last fetched, kept for audit.
    raw                   jsonb NOT NULL,
    synced_at             timestamptz NOT NULL,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    UNIQUE (account_id, keycrm_id)
);
CREATE INDEX customer_orders_listing ON customer_orders (account_id, (archived_at IS NOT NULL), keycrm_updated_at DESC);

CREATE TABLE customer_order_lines (
    id              uuid PRIMARY KEY,
    account_id      uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    order_id        uuid NOT NULL REFERENCES customer_orders (id) ON DELETE CASCADE,
    position        integer NOT NULL,
    product_id      uuid NOT NULL REFERENCES products (id),
    keycrm_line_id  bigint,
    name            text NOT NULL,
    sku             text NOT NULL,
    quantity        numeric(18, 4) NOT NULL,
    unit            text,
    price           numeric(18, 4),
    price_sold      numeric(18, 4),
    discount        numeric(18, 4),
    -- Line-level properties (what this sale carried, e.g. engraving text).
    properties      jsonb NOT NULL DEFAULT '[]',
    UNIQUE (order_id, position)
);
CREATE INDEX customer_order_lines_product ON customer_order_lines (account_id, product_id);

-- Bank transactions about order payments.
CREATE TABLE payments (
    id                 uuid PRIMARY KEY,
    account_id         uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    order_id           uuid NOT NULL REFERENCES customer_orders (id) ON DELETE CASCADE,
    keycrm_payment_id  bigint NOT NULL,
    payment_method_id  bigint,
    amount             numeric(18, 4),
    currency           text,
    status             text,
    payment_date       timestamptz,
    transaction_uuid   text,
    description        text,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    UNIQUE (account_id, keycrm_payment_id)
);
CREATE INDEX payments_order ON payments (order_id);

-- keyCRM orders waiting to be fetched. Many events for one order share one row (one fetch);
-- a row is deleted only if no event arrived while it was being fetched (request_seq).
CREATE TABLE order_fetches (
    account_id        uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    keycrm_order_id   bigint NOT NULL,
    requested_at      timestamptz NOT NULL,
    request_seq       bigint NOT NULL DEFAULT 1,
    events            integer NOT NULL DEFAULT 1,
    -- The newest keyCRM updated_at the events carried (when they carried one).
    event_updated_at  timestamptz,
    attempts          integer NOT NULL DEFAULT 0,
    next_attempt_at   timestamptz NOT NULL,
    last_error        text,
    -- The last webhook message behind this fetch (parked with the reason if it fails for good).
    message_id        text,
    PRIMARY KEY (account_id, keycrm_order_id)
);
CREATE INDEX order_fetches_due ON order_fetches (next_attempt_at);

-- "Synchronize orders": page through keyCRM orders in chosen statuses, resumable.
CREATE TABLE sync_jobs (
    id            uuid PRIMARY KEY,
    account_id    uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    status_ids    bigint[] NOT NULL,
    state         text NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed', 'cancelled')),
    next_page     integer NOT NULL DEFAULT 1,
    pages_done    integer NOT NULL DEFAULT 0,
    pages_total   integer,
    orders_done   integer NOT NULL DEFAULT 0,
    orders_total  integer,
    requests      integer NOT NULL DEFAULT 0,
    failures      integer NOT NULL DEFAULT 0,
    last_error    text,
    lease_owner   uuid,
    lease_until   timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    started_at    timestamptz,
    finished_at   timestamptz
);
CREATE INDEX sync_jobs_account ON sync_jobs (account_id, created_at DESC);
CREATE INDEX sync_jobs_runnable ON sync_jobs (created_at) WHERE state IN ('queued', 'running');
-- One active job per account: they would share (and split) its keyCRM budget anyway.
CREATE UNIQUE INDEX sync_jobs_one_active ON sync_jobs (account_id) WHERE state IN ('queued', 'running');
