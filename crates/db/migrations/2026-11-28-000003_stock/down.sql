DROP TABLE stock_pushes;
DROP TABLE stock_pushed;
DROP TABLE stock_dirty;
ALTER TABLE customer_orders DROP COLUMN shipped_movement_id;
DROP TABLE balances;
DROP TABLE movement_lines;
DROP TABLE movements;
DROP TABLE warehouses;
DROP TABLE keycrm_warehouses;
