ALTER TABLE accounts DROP COLUMN currency;
ALTER TABLE accounts DROP COLUMN time_zone;
