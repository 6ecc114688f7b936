-- Orders in a reserve status hold their lines in their ship warehouse until they ship, are
-- cancelled or leave the statuses. A reservation is not a movement: the ledger stays the
-- record of physical stock, and balances.reserved is the sum of reservations.
ALTER TABLE keycrm_integrations
    ADD COLUMN reserve_status_ids bigint[] NOT NULL DEFAULT '{}',
    ADD COLUMN push_quantity text NOT NULL DEFAULT 'on_hand'
        CHECK (push_quantity IN ('on_hand', 'available')),
    -- Orders from these keyCRM sources ship from (and reserve in) their own warehouse:
    -- [{"source_id": 3, "warehouse_id": "…"}].
    ADD COLUMN ship_source_rules jsonb NOT NULL DEFAULT '[]';

ALTER TABLE balances ADD COLUMN reserved numeric(18, 4) NOT NULL DEFAULT 0 CHECK (reserved >= 0);

CREATE TABLE reservations (
    order_id uuid NOT NULL REFERENCES customer_orders (id),
    product_id uuid NOT NULL REFERENCES products (id),
    account_id uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    warehouse_id uuid NOT NULL REFERENCES warehouses (id),
    quantity numeric(18, 4) NOT NULL CHECK (quantity > 0),
    reserved_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (order_id, product_id)
);
CREATE INDEX reservations_stock ON reservations (warehouse_id, product_id);

ALTER TABLE customer_orders ADD COLUMN reserved_at timestamptz;
