-- slack_outbox is each change of a deployment to show in its Slack thread,
-- numbered per deployment in the order the changes were recorded (seq).
-- done_at is when the change was shown, or given up on for good (0: still
-- to show), so a flush resumes after the last change it showed.
CREATE TABLE IF NOT EXISTS slack_outbox (
    deployment_id INTEGER NOT NULL,
    seq           INTEGER NOT NULL,
    event         TEXT NOT NULL,
    detail        TEXT NOT NULL DEFAULT '',
    step          INTEGER NOT NULL DEFAULT 0,
    percent       INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL,
    done_at       INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (deployment_id, seq)
);

-- slack_flush is one row per deployment with an outbox: last_seq is the
-- newest change recorded (the next one gets last_seq + 1), job_at when the
-- flush job that will show the changes was enqueued (0: none), so a burst of
-- changes enqueues one job.
CREATE TABLE IF NOT EXISTS slack_flush (
    deployment_id INTEGER PRIMARY KEY,
    last_seq      INTEGER NOT NULL DEFAULT 0,
    job_at        INTEGER NOT NULL DEFAULT 0,
    updated_at    INTEGER NOT NULL
);
