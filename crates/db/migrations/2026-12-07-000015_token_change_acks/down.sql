CREATE OR REPLACE FUNCTION sklad_notify_webhook_tokens() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('sklad_webhook_tokens', COALESCE(NEW.account_id, OLD.account_id)::text);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
DROP TABLE ingress_listeners;
DROP SEQUENCE webhook_token_changes;
