-- check_outputs is the last output of each check run Conveyor wrote for a
-- pull request's head (artifact '' is the gate): the dashboard's pull
-- request page shows the stages in full without asking GitHub. A row is
-- written only when the output changed.
CREATE TABLE IF NOT EXISTS check_outputs (
    repository TEXT NOT NULL,
    pr         INTEGER NOT NULL,
    sha        TEXT NOT NULL,
    artifact   TEXT NOT NULL,
    name       TEXT NOT NULL,
    kind       TEXT NOT NULL DEFAULT '',
    status     TEXT NOT NULL DEFAULT '',
    conclusion TEXT NOT NULL DEFAULT '',
    title      TEXT NOT NULL DEFAULT '',
    summary    TEXT NOT NULL DEFAULT '',
    body       TEXT NOT NULL DEFAULT '',
    stages     TEXT NOT NULL DEFAULT '[]',
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (repository, pr, sha, artifact)
);

-- artifact_owners is each artifact's kind and owners as the latest check of
-- the repository read them from the base branch, so the dashboard can filter
-- by team and list artifacts that were never deployed.
CREATE TABLE IF NOT EXISTS artifact_owners (
    repository TEXT NOT NULL,
    artifact   TEXT NOT NULL,
    kind       TEXT NOT NULL DEFAULT '',
    owners     TEXT NOT NULL DEFAULT '[]',
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (repository, artifact)
);

-- The dashboard's overview reuses its reading of the deployment history
-- until the newest change moves (store.HistoryVersion).
CREATE INDEX IF NOT EXISTS deployments_updated ON deployments (updated_at);
-- The few deployments waiting or running are found without reading the
-- history.
CREATE INDEX IF NOT EXISTS deployments_state ON deployments (state);
