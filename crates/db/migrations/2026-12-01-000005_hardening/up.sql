-- Hardening: integration flags, admin token lifetimes, the budget's rate on the key's row,
-- push backoff, outbox rows set aside, retention indexes, and token-cache invalidation.

-- keyCRM refused the key (401/403) or answered like something that is not keyCRM's API (an
-- HTML 404): workers stop spending budget on the account until its settings change.
ALTER TABLE keycrm_integrations
    ADD COLUMN key_rejected_at timestamptz,
    ADD COLUMN misconfigured_at timestamptz,
    ADD COLUMN flag_answer text;

ALTER TABLE admin_tokens
    ADD COLUMN expires_at timestamptz,
    ADD COLUMN last_used_at timestamptz;

-- The rate belongs to the key: accounts sharing a key share one rate (the last one saved).
ALTER TABLE keycrm_budget
    ADD COLUMN requests_per_minute integer NOT NULL DEFAULT 60 CHECK (requests_per_minute BETWEEN 1 AND 6000);

-- Pushes keyCRM keeps refusing back off exponentially instead of looping.
ALTER TABLE stock_dirty ADD COLUMN failures integer NOT NULL DEFAULT 0;

-- An event the broker keeps refusing is set aside with its reason instead of blocking the
-- events behind it.
ALTER TABLE outbox
    ADD COLUMN attempts integer NOT NULL DEFAULT 0,
    ADD COLUMN last_error text,
    ADD COLUMN set_aside_at timestamptz;
DROP INDEX outbox_unpublished;
CREATE INDEX outbox_unpublished ON outbox (id) WHERE published_at IS NULL AND set_aside_at IS NULL;

-- Retention: old rows are pruned by age in small batches.
CREATE INDEX inbox_processed ON inbox (processed_at);
CREATE INDEX outbox_published ON outbox (published_at) WHERE published_at IS NOT NULL;
CREATE INDEX sync_jobs_finished ON sync_jobs (finished_at) WHERE finished_at IS NOT NULL;
CREATE INDEX stock_pushes_started ON stock_pushes (started_at);

-- Ingress caches token → account; a change to a link (rotation) or to the integration's
-- switch tells every ingress at once.
CREATE FUNCTION sklad_notify_webhook_tokens() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('sklad_webhook_tokens', COALESCE(NEW.account_id, OLD.account_id)::text);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER webhook_tokens_changed AFTER INSERT OR UPDATE OR DELETE ON webhook_tokens
    FOR EACH ROW EXECUTE FUNCTION sklad_notify_webhook_tokens();
CREATE TRIGGER keycrm_integrations_switched AFTER UPDATE OF enabled OR DELETE ON keycrm_integrations
    FOR EACH ROW EXECUTE FUNCTION sklad_notify_webhook_tokens();
