-- A fetch remembers every webhook it serves (the last 20), not only the latest, so each
-- webhook id can be followed to the stored order in the logs.
ALTER TABLE order_fetches ADD COLUMN message_ids text[] NOT NULL DEFAULT '{}';
UPDATE order_fetches SET message_ids = ARRAY[message_id] WHERE message_id IS NOT NULL;
ALTER TABLE order_fetches DROP COLUMN message_id;
