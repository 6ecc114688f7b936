-- A shipped order can come back (return) or change after shipping (correction).
ALTER TABLE movements DROP CONSTRAINT movements_kind_check;
ALTER TABLE movements ADD CONSTRAINT movements_kind_check
    CHECK (kind IN ('receipt', 'write_off', 'transfer', 'inventory', 'shipment', 'return', 'correction'));
CREATE UNIQUE INDEX movements_one_return_per_order ON movements (order_id) WHERE kind = 'return';
CREATE INDEX movements_order ON movements (order_id) WHERE order_id IS NOT NULL;

ALTER TABLE customer_orders ADD COLUMN returned_movement_id uuid REFERENCES movements (id);

ALTER TABLE keycrm_integrations ADD COLUMN return_status_ids bigint[] NOT NULL DEFAULT '{}';
