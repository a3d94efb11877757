-- waiting_since is when an artifact's check on a SHA began waiting on its
-- own timed re-evaluations (a registry that cannot be reached, a CI run that
-- has not uploaded yet), in Unix ms; 0 while it is not waiting. The wait is
-- bounded from this time, and a Re-run starts it afresh.
ALTER TABLE check_results ADD COLUMN waiting_since BIGINT NOT NULL DEFAULT 0;
