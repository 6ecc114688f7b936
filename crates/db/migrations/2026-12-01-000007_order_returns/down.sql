ALTER TABLE keycrm_integrations DROP COLUMN return_status_ids;
ALTER TABLE customer_orders DROP COLUMN returned_movement_id;
DROP INDEX movements_order;
DROP INDEX movements_one_return_per_order;
ALTER TABLE movements DROP CONSTRAINT movements_kind_check;
ALTER TABLE movements ADD CONSTRAINT movements_kind_check
    CHECK (kind IN ('receipt', 'write_off', 'transfer', 'inventory', 'shipment'));
