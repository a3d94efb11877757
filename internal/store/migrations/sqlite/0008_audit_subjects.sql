-- Each audit event names what it is about: the pull request, the environment
-- and the artifacts (comma-separated), so `conveyor audit` and searches need
-- not dig into the JSON detail.
ALTER TABLE audit_events ADD COLUMN pr INTEGER NOT NULL DEFAULT 0;
ALTER TABLE audit_events ADD COLUMN environment TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_events ADD COLUMN artifacts TEXT NOT NULL DEFAULT '';
CREATE INDEX IF NOT EXISTS audit_events_repo_pr ON audit_events (repository, pr);
