DROP INDEX sync_jobs_kind;
DROP INDEX sync_jobs_one_active;
DELETE FROM sync_jobs WHERE kind <> 'orders';
CREATE UNIQUE INDEX sync_jobs_one_active ON sync_jobs (account_id) WHERE state IN ('queued', 'running');
ALTER TABLE sync_jobs DROP COLUMN kind, DROP COLUMN periodic, DROP COLUMN created,
    DROP COLUMN updated, DROP COLUMN unchanged;
ALTER TABLE movements DROP COLUMN origin;
ALTER TABLE keycrm_integrations DROP COLUMN one_time_products_track_stock,
    DROP COLUMN stock_taken_over_at, DROP COLUMN first_webhook_at;
ALTER TABLE products DROP COLUMN barcode, DROP COLUMN archived_at, DROP COLUMN tracks_stock;
