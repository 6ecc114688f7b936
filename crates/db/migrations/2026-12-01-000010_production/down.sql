DROP INDEX movements_production_order;
ALTER TABLE movements DROP COLUMN production_order_id;
ALTER TABLE movements DROP CONSTRAINT movements_kind_check;
ALTER TABLE movements ADD CONSTRAINT movements_kind_check
    CHECK (kind IN ('receipt', 'write_off', 'transfer', 'inventory', 'shipment', 'return', 'correction'));
DROP TABLE production_orders;
ALTER TABLE products DROP COLUMN current_bom_id;
DROP TABLE bom_components;
DROP TABLE boms;
ALTER TABLE products DROP COLUMN unit_cost;
