-- Orders ship by themselves when keyCRM moves them to one of these statuses.
ALTER TABLE keycrm_integrations
    ADD COLUMN ship_status_ids bigint[] NOT NULL DEFAULT '{}',
    ADD COLUMN ship_warehouse_id uuid REFERENCES warehouses (id) ON DELETE SET NULL;

-- An order in a ship status whose lines the warehouse cannot cover waits, with the reason.
ALTER TABLE customer_orders
    ADD COLUMN shipment_waiting_since timestamptz,
    ADD COLUMN shipment_waiting_reason text;

CREATE INDEX customer_orders_shipment_waiting
    ON customer_orders (account_id, shipment_waiting_since)
    WHERE shipment_waiting_since IS NOT NULL;
