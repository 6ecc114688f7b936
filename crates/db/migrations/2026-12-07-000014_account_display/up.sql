-- How the console shows an account's times and money: its time zone (an IANA name) and
-- its currency (an ISO 4217 code).
ALTER TABLE accounts ADD COLUMN time_zone text NOT NULL DEFAULT 'Europe/Kyiv'
    CHECK (length(time_zone) BETWEEN 1 AND 64);
ALTER TABLE accounts ADD COLUMN currency text NOT NULL DEFAULT 'UAH'
    CHECK (currency ~ '^[A-Z]{3}$');
