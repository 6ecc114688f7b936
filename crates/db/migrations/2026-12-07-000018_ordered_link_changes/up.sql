-- Link changes are numbered in commit order: the number is a counter row updated by the
-- changing transaction, so nobody reads it before that transaction commits. A lookup that
-- reads the counter and then the link can trust that any change numbered at or below what
-- it read is already visible to it; ingress then drops, on a notice, only what was looked
-- up before that change (a late notice no longer drops a fresh lookup).
CREATE TABLE webhook_token_change_counter (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    value    bigint NOT NULL
);
INSERT INTO webhook_token_change_counter (value)
SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM webhook_token_changes;

CREATE OR REPLACE FUNCTION sklad_notify_webhook_tokens() RETURNS trigger AS $$
DECLARE
    change bigint;
BEGIN
    UPDATE webhook_token_change_counter SET value = value + 1 RETURNING value INTO change;
    PERFORM pg_notify('sklad_webhook_tokens',
        COALESCE(NEW.account_id, OLD.account_id)::text || ' ' || change);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

DROP SEQUENCE webhook_token_changes;
