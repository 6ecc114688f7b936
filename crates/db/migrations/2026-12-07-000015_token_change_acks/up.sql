-- Every change ingress must forget (a rotated link, an integration switched) gets a number
-- in its notice; each ingress records the highest it has applied, so a rotation can wait,
-- before it answers, until every live ingress has dropped the old link.
CREATE SEQUENCE webhook_token_changes;

CREATE TABLE ingress_listeners (
    id uuid PRIMARY KEY,
    applied bigint NOT NULL DEFAULT 0,
    seen_at timestamptz NOT NULL DEFAULT now()
);

CREATE OR REPLACE FUNCTION sklad_notify_webhook_tokens() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('sklad_webhook_tokens',
        COALESCE(NEW.account_id, OLD.account_id)::text || ' ' || nextval('webhook_token_changes'));
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
