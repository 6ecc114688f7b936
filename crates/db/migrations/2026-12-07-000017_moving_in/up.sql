-- Moving in: a shop brings its keyCRM catalogue and stock into sklad.

-- Products keyCRM knows more about, and products that are not stocked (services, gift wrap).
ALTER TABLE products
    ADD COLUMN barcode text,
    ADD COLUMN archived_at timestamptz,
    ADD COLUMN tracks_stock boolean NOT NULL DEFAULT true;
-- One-time products (typed in on a keyCRM order) follow the account setting below, which
-- starts false: a service line must not block an order's shipment.
UPDATE products SET tracks_stock = false WHERE origin = 'keycrm_one_time';

ALTER TABLE keycrm_integrations
    ADD COLUMN one_time_products_track_stock boolean NOT NULL DEFAULT false,
    -- When keyCRM's quantities were last taken over: switching sending on needs no confirmation after.
    ADD COLUMN stock_taken_over_at timestamptz,
    -- When keyCRM's automation first reached sklad (the getting-started checklist ticks it).
    ADD COLUMN first_webhook_at timestamptz;
UPDATE keycrm_integrations i
   SET first_webhook_at = (SELECT min(processed_at) FROM inbox WHERE inbox.account_id = i.account_id);

-- Where a movement came from when not from a person's form or an order.
ALTER TABLE movements
    ADD COLUMN origin text CHECK (origin IN ('keycrm_take_over', 'spreadsheet'));

-- Catalogue imports are jobs like "Synchronize orders": same lease, progress and cancel.
ALTER TABLE sync_jobs
    ADD COLUMN kind text NOT NULL DEFAULT 'orders' CHECK (kind IN ('orders', 'catalogue')),
    ADD COLUMN periodic boolean NOT NULL DEFAULT false,
    ADD COLUMN created integer NOT NULL DEFAULT 0,
    ADD COLUMN updated integer NOT NULL DEFAULT 0,
    ADD COLUMN unchanged integer NOT NULL DEFAULT 0;
-- One active job per account and kind: an import may run while orders synchronize (both
-- wait in the same keyCRM budget).
DROP INDEX sync_jobs_one_active;
CREATE UNIQUE INDEX sync_jobs_one_active ON sync_jobs (account_id, kind) WHERE state IN ('queued', 'running');
CREATE INDEX sync_jobs_kind ON sync_jobs (account_id, kind, created_at DESC);
