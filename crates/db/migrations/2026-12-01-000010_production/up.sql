-- Production: versioned bills of materials, production orders, and the one movement each
-- completion records (components out, finished goods in).
ALTER TABLE products ADD COLUMN unit_cost numeric(18, 4) CHECK (unit_cost >= 0);

CREATE TABLE boms (
    id uuid PRIMARY KEY,
    account_id uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    product_id uuid NOT NULL REFERENCES products (id),
    version integer NOT NULL CHECK (version > 0),
    output_quantity numeric(18, 4) NOT NULL CHECK (output_quantity > 0),
    note text,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (product_id, version)
);

CREATE TABLE bom_components (
    bom_id uuid NOT NULL REFERENCES boms (id) ON DELETE CASCADE,
    position integer NOT NULL,
    component_id uuid NOT NULL REFERENCES products (id),
    quantity numeric(18, 4) NOT NULL CHECK (quantity > 0),
    note text,
    PRIMARY KEY (bom_id, position)
);
-- The reverse index: which BOMs use a component.
CREATE INDEX bom_components_component ON bom_components (component_id);

-- A product's current BOM is its newest version; older ones stay for the orders made from them.
ALTER TABLE products ADD COLUMN current_bom_id uuid REFERENCES boms (id);

CREATE TABLE production_orders (
    id uuid PRIMARY KEY,
    account_id uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    product_id uuid NOT NULL REFERENCES products (id),
    bom_id uuid NOT NULL REFERENCES boms (id),
    quantity numeric(18, 4) NOT NULL CHECK (quantity > 0),
    made numeric(18, 4) NOT NULL DEFAULT 0 CHECK (made >= 0),
    component_warehouse_id uuid NOT NULL REFERENCES warehouses (id),
    output_warehouse_id uuid NOT NULL REFERENCES warehouses (id),
    due_date date,
    state text NOT NULL DEFAULT 'planned'
        CHECK (state IN ('planned', 'released', 'done', 'cancelled')),
    note text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX production_orders_account ON production_orders (account_id, created_at DESC);

ALTER TABLE movements DROP CONSTRAINT movements_kind_check;
ALTER TABLE movements ADD CONSTRAINT movements_kind_check
    CHECK (kind IN ('receipt', 'write_off', 'transfer', 'inventory', 'shipment', 'return',
                    'correction', 'production'));
ALTER TABLE movements ADD COLUMN production_order_id uuid REFERENCES production_orders (id);
CREATE INDEX movements_production_order ON movements (production_order_id)
    WHERE production_order_id IS NOT NULL;

-- A released production order reserves its components as an order in a reserve status
-- does: a reservation belongs to exactly one of the two.
ALTER TABLE reservations DROP CONSTRAINT reservations_pkey;
ALTER TABLE reservations ADD COLUMN id bigserial PRIMARY KEY;
ALTER TABLE reservations ALTER COLUMN order_id DROP NOT NULL;
ALTER TABLE reservations ADD COLUMN production_order_id uuid REFERENCES production_orders (id);
ALTER TABLE reservations ADD CONSTRAINT reservations_one_holder
    CHECK ((order_id IS NULL) <> (production_order_id IS NULL));
CREATE UNIQUE INDEX reservations_order_product ON reservations (order_id, product_id)
    WHERE order_id IS NOT NULL;
CREATE UNIQUE INDEX reservations_production_product
    ON reservations (production_order_id, product_id) WHERE production_order_id IS NOT NULL;

-- Make-to-order: an order entering a production status plans what stock does not cover,
-- once per (order, product).
ALTER TABLE keycrm_integrations ADD COLUMN production_status_ids bigint[] NOT NULL DEFAULT '{}';
ALTER TABLE production_orders ADD COLUMN customer_order_id uuid REFERENCES customer_orders (id);
CREATE UNIQUE INDEX production_orders_one_per_order_product
    ON production_orders (customer_order_id, product_id) WHERE customer_order_id IS NOT NULL;

-- Sellable from components: keyCRM receives on-hand + makeable for these products.
ALTER TABLE products ADD COLUMN push_makeable boolean NOT NULL DEFAULT false;
