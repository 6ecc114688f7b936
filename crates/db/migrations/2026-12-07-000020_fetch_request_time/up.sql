-- When the newest event for a waiting fetch arrived (requested_at is the first one's). A page
-- of keyCRM orders serves a waiting row only if that page was asked for after this: an event
-- that came later may describe a change the page does not show yet.
ALTER TABLE order_fetches ADD COLUMN last_requested_at timestamptz NOT NULL DEFAULT now();
