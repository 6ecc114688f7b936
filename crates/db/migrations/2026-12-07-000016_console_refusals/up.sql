-- A refused console form is shown after a redirect (Post/Redirect/Get), so Back and reload
-- never post it again: the page as rendered is kept here, readable only by the session that
-- posted it, and goes with that session.
CREATE TABLE console_refusals (
    id_hash bytea PRIMARY KEY,
    session_hash bytea NOT NULL REFERENCES console_sessions (id_hash) ON DELETE CASCADE,
    status smallint NOT NULL,
    page text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX console_refusals_session ON console_refusals (session_hash);
