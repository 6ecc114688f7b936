ALTER TABLE order_fetches DROP COLUMN last_requested_at;
