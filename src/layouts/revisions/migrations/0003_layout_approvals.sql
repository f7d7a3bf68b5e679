-- Approval of layout candidates (issue 15 item 6): with layouts.approval.required, a candidate
-- that changes a money floor (DEDUCTION, CHARGE or PAYABLE by default) is promoted only after an
-- admin other than the one who published it approved it. The same SQL runs on PostgreSQL and PGlite.

-- Who published the candidate (the admin credential's identity or the CLI's user): the one
-- identity, with `author`, that may not approve it. NULL for candidates published before 0003.
ALTER TABLE layout_candidates ADD COLUMN published_by text;

-- The approval of this candidate revision; cleared whenever the scene gets another candidate.
ALTER TABLE layout_candidates ADD COLUMN approved_by text;
ALTER TABLE layout_candidates ADD COLUMN approved_at timestamptz;
