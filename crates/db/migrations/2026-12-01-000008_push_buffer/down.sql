ALTER TABLE warehouses DROP COLUMN push_buffer;
