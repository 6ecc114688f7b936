CREATE SEQUENCE webhook_token_changes;
SELECT setval('webhook_token_changes', GREATEST(value, 1), value > 0) FROM webhook_token_change_counter;
CREATE OR REPLACE FUNCTION sklad_notify_webhook_tokens() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('sklad_webhook_tokens',
        COALESCE(NEW.account_id, OLD.account_id)::text || ' ' || nextval('webhook_token_changes'));
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
DROP TABLE webhook_token_change_counter;
