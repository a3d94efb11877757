-- check_heads is the head each pull request had when its latest event
-- arrived: a checks job whose SHA is no longer the head does nothing.
CREATE TABLE IF NOT EXISTS check_heads (
    repository      TEXT NOT NULL,
    pr              BIGINT NOT NULL,
    sha             TEXT NOT NULL,
    base_ref        TEXT NOT NULL DEFAULT '',
    base_sha        TEXT NOT NULL DEFAULT '',
    author          TEXT NOT NULL DEFAULT '',
    installation_id BIGINT NOT NULL DEFAULT 0,
    updated_at      BIGINT NOT NULL,
    PRIMARY KEY (repository, pr)
);
CREATE INDEX IF NOT EXISTS check_heads_sha ON check_heads (repository, sha);

-- check_requests coalesces what is asked of one SHA between two evaluations:
-- a full evaluation and/or the CI check names that completed. requested_seq
-- grows with every request: written_seq is the newest evaluation written.
-- job_at is when the job that will serve the requests was enqueued (0: none),
-- so a burst of events enqueues one job.
CREATE TABLE IF NOT EXISTS check_requests (
    repository    TEXT NOT NULL,
    sha           TEXT NOT NULL,
    requested_seq BIGINT NOT NULL DEFAULT 0,
    written_seq   BIGINT NOT NULL DEFAULT 0,
    full_eval     BIGINT NOT NULL DEFAULT 0,
    ci_names      TEXT NOT NULL DEFAULT '[]',
    job_at        BIGINT NOT NULL DEFAULT 0,
    updated_at    BIGINT NOT NULL,
    PRIMARY KEY (repository, sha)
);

-- check_ci holds the CI results (other apps' check runs and commit statuses)
-- that webhooks carried, so evaluations read them without calling GitHub.
CREATE TABLE IF NOT EXISTS check_ci (
    repository TEXT NOT NULL,
    sha        TEXT NOT NULL,
    name       TEXT NOT NULL,
    status     TEXT NOT NULL,
    conclusion TEXT NOT NULL DEFAULT '',
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (repository, sha, name)
);

-- check_results is every check run Conveyor wrote on a SHA: its GitHub ID (so
-- updates PATCH instead of listing), its outcome (so the gate is recomputed
-- from stored results) and a digest of the last output (so unchanged output
-- is not written again).
CREATE TABLE IF NOT EXISTS check_results (
    repository   TEXT NOT NULL,
    sha          TEXT NOT NULL,
    name         TEXT NOT NULL,
    check_run_id BIGINT NOT NULL DEFAULT 0,
    artifact     TEXT NOT NULL DEFAULT '',
    kind         TEXT NOT NULL DEFAULT '',
    status       TEXT NOT NULL DEFAULT '',
    conclusion   TEXT NOT NULL DEFAULT '',
    title        TEXT NOT NULL DEFAULT '',
    ci_names     TEXT NOT NULL DEFAULT '[]',
    digest       TEXT NOT NULL DEFAULT '',
    seq          BIGINT NOT NULL DEFAULT 0,
    updated_at   BIGINT NOT NULL,
    PRIMARY KEY (repository, sha, name)
)
