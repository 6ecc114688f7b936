ALTER TABLE customer_orders DROP COLUMN reserved_at;
DROP TABLE reservations;
ALTER TABLE balances DROP COLUMN reserved;
ALTER TABLE keycrm_integrations
    DROP COLUMN reserve_status_ids,
    DROP COLUMN push_quantity,
    DROP COLUMN ship_source_rules;
