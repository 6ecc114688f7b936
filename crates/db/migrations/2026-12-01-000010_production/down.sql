ALTER TABLE products DROP COLUMN push_makeable;
DROP INDEX production_orders_one_per_order_product;
ALTER TABLE production_orders DROP COLUMN customer_order_id;
ALTER TABLE keycrm_integrations DROP COLUMN production_status_ids;
-- Production holds go, and the reserved totals with them. (Going below this migration with
-- production movements in the ledger fails on the kind check below, as it should.)
UPDATE balances b SET reserved = b.reserved - held.quantity
  FROM (SELECT warehouse_id, product_id, sum(quantity) AS quantity
          FROM reservations WHERE production_order_id IS NOT NULL
         GROUP BY warehouse_id, product_id) held
 WHERE b.warehouse_id = held.warehouse_id AND b.product_id = held.product_id;
DELETE FROM reservations WHERE production_order_id IS NOT NULL;
DROP INDEX reservations_production_product;
DROP INDEX reservations_order_product;
ALTER TABLE reservations DROP CONSTRAINT reservations_one_holder;
ALTER TABLE reservations DROP COLUMN production_order_id;
ALTER TABLE reservations ALTER COLUMN order_id SET NOT NULL;
ALTER TABLE reservations DROP COLUMN id;
ALTER TABLE reservations ADD PRIMARY KEY (order_id, product_id);
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
