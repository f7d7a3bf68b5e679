-- Layout candidates (issue 15 item 3): a revision served to some users of one scene before it
-- goes live, with the rollout that says which users. The same SQL runs on PostgreSQL and PGlite.

-- At most one candidate per scene. `revision` is an immutable revision recorded by the
-- `candidate` operation (or an existing one); only its file for `scene` is served to the users
-- `rollout` selects: {"allowList": [...], "percentage": 0-100, "segments": [...],
-- "platforms": [...], "minAppVersion": "x.y.z"} (src/layouts/revisions/candidates.ts).
CREATE TABLE layout_candidates (
  scene      text PRIMARY KEY,
  revision   integer NOT NULL REFERENCES layout_revisions (revision),
  rollout    jsonb NOT NULL,
  author     text NOT NULL,
  message    text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Increases with every change to layout_candidates, in the same transaction: what replicas
-- poll and what the Redis copy carries, so a replica never goes back to an older candidate set.
CREATE TABLE layout_candidate_generation (
  id         integer PRIMARY KEY CHECK (id = 1),
  generation integer NOT NULL CHECK (generation >= 0)
);

INSERT INTO layout_candidate_generation (id, generation) VALUES (1, 0);

-- A promotion is a new live revision that records the candidate revision it makes live.
ALTER TABLE layout_revisions ADD COLUMN promotes integer REFERENCES layout_revisions (revision);
