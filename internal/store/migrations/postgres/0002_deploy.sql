CREATE TABLE IF NOT EXISTS deployments (
    id              BIGSERIAL PRIMARY KEY,
    repository      TEXT NOT NULL,
    installation_id BIGINT  NOT NULL DEFAULT 0,
    pr              BIGINT  NOT NULL DEFAULT 0,
    pr_title        TEXT NOT NULL DEFAULT '',
    pr_url          TEXT NOT NULL DEFAULT '',
    sha             TEXT NOT NULL,
    ref             TEXT NOT NULL DEFAULT '',
    base_ref        TEXT NOT NULL DEFAULT '',
    environment     TEXT NOT NULL,
    production      BIGINT  NOT NULL DEFAULT 0,
    mode            TEXT NOT NULL DEFAULT 'deploy',
    state           TEXT NOT NULL,
    step            BIGINT  NOT NULL DEFAULT 0,
    steps           TEXT NOT NULL DEFAULT '[100]',
    pause_ms        BIGINT  NOT NULL DEFAULT 0,
    requester       TEXT NOT NULL DEFAULT '',
    source_key      TEXT NOT NULL DEFAULT '',
    quorum          TEXT NOT NULL DEFAULT '{}',
    decision        TEXT NOT NULL DEFAULT '',
    comment_id      BIGINT  NOT NULL DEFAULT 0,
    slack_channel   TEXT NOT NULL DEFAULT '',
    slack_ts        TEXT NOT NULL DEFAULT '',
    job_id          BIGINT  NOT NULL DEFAULT 0,
    error           TEXT NOT NULL DEFAULT '',
    created_at      BIGINT  NOT NULL,
    updated_at      BIGINT  NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS deployments_source ON deployments (repository, source_key) WHERE source_key <> '';
CREATE INDEX IF NOT EXISTS deployments_env ON deployments (repository, environment, state);
CREATE INDEX IF NOT EXISTS deployments_pr ON deployments (repository, pr);

CREATE TABLE IF NOT EXISTS deployment_artifacts (
    deployment_id        BIGINT  NOT NULL,
    name                 TEXT NOT NULL,
    kind                 TEXT NOT NULL DEFAULT '',
    driver               TEXT NOT NULL DEFAULT '',
    summary              TEXT NOT NULL DEFAULT '',
    spec                 TEXT NOT NULL DEFAULT '{}',
    sha                  TEXT NOT NULL DEFAULT '',
    github_deployment_id BIGINT  NOT NULL DEFAULT 0,
    previous             TEXT NOT NULL DEFAULT '',
    serving              TEXT NOT NULL DEFAULT '',
    state                TEXT NOT NULL DEFAULT 'pending',
    output               TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (deployment_id, name)
);

CREATE TABLE IF NOT EXISTS deployment_steps (
    deployment_id BIGINT  NOT NULL,
    artifact      TEXT NOT NULL,
    step          BIGINT  NOT NULL,
    serving       TEXT NOT NULL DEFAULT '',
    done_at       BIGINT  NOT NULL,
    PRIMARY KEY (deployment_id, artifact, step)
);

CREATE TABLE IF NOT EXISTS deployment_approvals (
    deployment_id BIGINT  NOT NULL,
    login         TEXT NOT NULL,
    via           TEXT NOT NULL DEFAULT '',
    sha           TEXT NOT NULL,
    teams         TEXT NOT NULL DEFAULT '[]',
    at            BIGINT  NOT NULL,
    PRIMARY KEY (deployment_id, login)
);

CREATE TABLE IF NOT EXISTS environment_locks (
    repository    TEXT NOT NULL,
    environment   TEXT NOT NULL,
    pr            BIGINT  NOT NULL DEFAULT 0,
    login         TEXT NOT NULL DEFAULT '',
    reason        TEXT NOT NULL DEFAULT '',
    manual        BIGINT  NOT NULL DEFAULT 0,
    deployment_id BIGINT  NOT NULL DEFAULT 0,
    since         BIGINT  NOT NULL DEFAULT 0,
    PRIMARY KEY (repository, environment)
);
