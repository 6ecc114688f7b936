-- Stock: warehouses, keyCRM warehouses and the mapping, the movement ledger and balances,
-- and the stock-publisher's dirty set, last pushed values and push log.

-- keyCRM's warehouses as sklad learned them (keyCRM has no warehouse list endpoint).
CREATE TABLE keycrm_warehouses (
    account_id  uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    keycrm_id   bigint NOT NULL CHECK (keycrm_id > 0),
    name        text NOT NULL,
    -- 'stocks' (GET /offers/stocks?filter[details]=true) or 'manual'.
    source      text NOT NULL CHECK (source IN ('stocks', 'manual')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, keycrm_id)
);

CREATE TABLE warehouses (
    id                   uuid PRIMARY KEY,
    account_id           uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name                 text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    -- Whether a movement may take a balance below zero here.
    allow_negative       boolean NOT NULL DEFAULT false,
    -- The keyCRM warehouse this one's balances are pushed to (summed with others mapped there).
    keycrm_warehouse_id  bigint,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    UNIQUE (account_id, name),
    UNIQUE (account_id, id),
    FOREIGN KEY (account_id, keycrm_warehouse_id) REFERENCES keycrm_warehouses (account_id, keycrm_id)
);

-- A stock document: receipt, write-off, transfer, inventory adjustment or an order shipment.
CREATE TABLE movements (
    id               uuid PRIMARY KEY,
    account_id       uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    kind             text NOT NULL CHECK (kind IN ('receipt', 'write_off', 'transfer', 'inventory', 'shipment')),
    note             text,
    order_id         uuid REFERENCES customer_orders (id),
    idempotency_key  text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (account_id, idempotency_key)
);
CREATE INDEX movements_account ON movements (account_id, created_at DESC);
CREATE UNIQUE INDEX movements_one_shipment_per_order ON movements (order_id) WHERE kind = 'shipment';

-- The append-only ledger: each line changes one (warehouse, product) balance by a signed amount.
CREATE TABLE movement_lines (
    id              bigserial PRIMARY KEY,
    account_id      uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    movement_id     uuid NOT NULL REFERENCES movements (id),
    warehouse_id    uuid NOT NULL REFERENCES warehouses (id),
    product_id      uuid NOT NULL REFERENCES products (id),
    quantity_delta  numeric(18, 4) NOT NULL,
    balance_after   numeric(18, 4) NOT NULL
);
CREATE INDEX movement_lines_movement ON movement_lines (movement_id);
CREATE INDEX movement_lines_stock ON movement_lines (warehouse_id, product_id, id);

-- Balance per (warehouse, product), changed in the same transaction as its ledger lines.
CREATE TABLE balances (
    account_id    uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    warehouse_id  uuid NOT NULL REFERENCES warehouses (id),
    product_id    uuid NOT NULL REFERENCES products (id),
    quantity      numeric(18, 4) NOT NULL DEFAULT 0,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (warehouse_id, product_id)
);
CREATE INDEX balances_account_product ON balances (account_id, product_id);

ALTER TABLE customer_orders ADD COLUMN shipped_movement_id uuid REFERENCES movements (id);

-- (keyCRM warehouse, SKU) pairs whose summed quantity must be pushed. `version` grows with
-- every mark; a push clears a mark only if the version it read is still there.
CREATE TABLE stock_dirty (
    account_id           uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    keycrm_warehouse_id  bigint NOT NULL,
    sku                  text NOT NULL,
    version              bigint NOT NULL DEFAULT 1,
    -- When the pair became dirty, and when it was last marked again.
    first_marked_at      timestamptz NOT NULL DEFAULT now(),
    marked_at            timestamptz NOT NULL DEFAULT now(),
    -- Not before this instant (a lease while a push is in flight, or backoff after a failure).
    due_at               timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, keycrm_warehouse_id, sku)
);
CREATE INDEX stock_dirty_due ON stock_dirty (due_at);

-- The last quantity keyCRM accepted per (keyCRM warehouse, SKU), and the last rejection.
CREATE TABLE stock_pushed (
    account_id           uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    keycrm_warehouse_id  bigint NOT NULL,
    sku                  text NOT NULL,
    quantity             numeric(18, 4),
    pushed_at            timestamptz,
    rejected_reason      text,
    rejected_at          timestamptz,
    PRIMARY KEY (account_id, keycrm_warehouse_id, sku)
);

-- Every PUT /offers/stocks sklad sent.
CREATE TABLE stock_pushes (
    id                   uuid PRIMARY KEY,
    account_id           uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    keycrm_warehouse_id  bigint NOT NULL,
    started_at           timestamptz NOT NULL,
    duration_ms          integer NOT NULL,
    items                integer NOT NULL,
    -- {"sku": quantity} as sent.
    quantities           jsonb NOT NULL,
    -- 'accepted', 'rejected' (422: see `rejected`), or 'failed' (keyCRM unreachable or refusing).
    outcome              text NOT NULL CHECK (outcome IN ('accepted', 'rejected', 'failed')),
    http_status          integer,
    answer               text,
    -- {"sku": "reason"} for SKUs keyCRM refused.
    rejected             jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX stock_pushes_account ON stock_pushes (account_id, started_at DESC);
