-- The parking lot: every message a consumer (or the broker, past its delivery limit) gave up
-- on, moved here off its parking queue by the relay. Listing reads these rows and takes
-- nothing off a queue; a replay publishes one row's message back and deletes the row.
CREATE TABLE parked_messages (
    id           bigserial PRIMARY KEY,
    consumer     text NOT NULL,
    message_id   text,
    -- No foreign key: a message for an account that does not exist is parked too.
    account_id   uuid,
    message_type text,
    subject      text,
    keycrm_id    bigint,
    reason       text NOT NULL,
    attempts     integer NOT NULL DEFAULT 0,
    parked_at    timestamptz NOT NULL,
    kept_at      timestamptz NOT NULL DEFAULT now(),
    -- The AMQP properties (headers included) and the body, to publish it again as it was.
    properties   jsonb NOT NULL,
    body         bytea NOT NULL
);

-- A message the relay stored but could not ack comes again: it is kept once.
CREATE UNIQUE INDEX parked_messages_once ON parked_messages (consumer, message_id)
    WHERE message_id IS NOT NULL;
CREATE INDEX parked_messages_by_account ON parked_messages (account_id, parked_at, id);
