ALTER TABLE warehouses DROP COLUMN archived_at;
