ALTER TABLE order_fetches ADD COLUMN message_id text;
UPDATE order_fetches SET message_id = message_ids[cardinality(message_ids)] WHERE cardinality(message_ids) > 0;
ALTER TABLE order_fetches DROP COLUMN message_ids;
