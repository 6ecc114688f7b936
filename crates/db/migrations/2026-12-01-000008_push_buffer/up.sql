-- Safety stock: what a warehouse keeps back from the quantity keyCRM receives.
ALTER TABLE warehouses ADD COLUMN push_buffer numeric(18, 4) NOT NULL DEFAULT 0 CHECK (push_buffer >= 0);
