-- Layout revisions (issue 15): history, the live pointer and the audit trail.
-- The same SQL runs on PostgreSQL and on PGlite (the embedded default). Statements end with
-- a semicolon at the end of a line; see sql-migrations.ts for how a file is split.

-- Every publish, and every rollback, is one immutable row holding the whole floors set.
CREATE TABLE layout_revisions (
  revision     integer PRIMARY KEY CHECK (revision > 0),
  content_hash text NOT NULL,
  files        jsonb NOT NULL,
  author       text NOT NULL,
  message      text NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  -- The live revision when this one was recorded (NULL for the first).
  parent       integer REFERENCES layout_revisions (revision),
  -- Set on a rollback: the earlier revision whose floors this one restores.
  rollback_of  integer REFERENCES layout_revisions (revision),
  CHECK (parent IS NULL OR parent < revision)
);

CREATE FUNCTION layout_revisions_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'layout revisions are immutable: record a new revision instead';
END
$$;

CREATE TRIGGER layout_revisions_immutable BEFORE UPDATE OR DELETE ON layout_revisions
  FOR EACH ROW EXECUTE FUNCTION layout_revisions_immutable();

-- What replicas serve, one row per release channel. Today only 'live'. A candidate per scene
-- (issue 15 item 3) is its own table in a later migration, layout_candidates (scene PRIMARY
-- KEY, revision REFERENCES layout_revisions, rollout jsonb), so the live pointer stays one row.
CREATE TABLE layout_live (
  channel  text PRIMARY KEY CHECK (channel = 'live'),
  revision integer NOT NULL REFERENCES layout_revisions (revision),
  since    timestamptz NOT NULL DEFAULT now()
);

-- Who did what when: one row per operation that changed something.
CREATE TABLE layout_audit (
  id       bigserial PRIMARY KEY,
  at       timestamptz NOT NULL DEFAULT now(),
  -- The admin credential's identity (HTTP) or the operating-system user (CLI).
  actor    text NOT NULL,
  action   text NOT NULL,
  revision integer REFERENCES layout_revisions (revision),
  detail   jsonb NOT NULL DEFAULT '{}'::jsonb
);

CREATE INDEX layout_audit_at ON layout_audit (at DESC);
