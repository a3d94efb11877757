-- slack_outbox is each change of a deployment to show in its Slack thread,
-- numbered per deployment in the order the changes were recorded (seq).
-- done_at is when the change was shown, or given up on for good (0: still
-- to show), so a flush resumes after the last change it showed.
CREATE TABLE IF NOT EXISTS slack_outbox (
    deployment_id BIGINT NOT NULL,
    seq           BIGINT NOT NULL,
    event         TEXT NOT NULL,
    detail        TEXT NOT NULL DEFAULT '',
    step          BIGINT NOT NULL DEFAULT 0,
    percent       BIGINT NOT NULL DEFAULT 0,
    created_at    BIGINT NOT NULL,
    done_at       BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (deployment_id, seq)
);

-- slack_flush is one row per deployment with an outbox: last_seq is the
-- newest change recorded (the next one gets last_seq + 1), job_at when the
-- flush job that will show the changes was enqueued (0: none), so a burst of
-- changes enqueues one job.
CREATE TABLE IF NOT EXISTS slack_flush (
    deployment_id BIGINT PRIMARY KEY,
    last_seq      BIGINT NOT NULL DEFAULT 0,
    job_at        BIGINT NOT NULL DEFAULT 0,
    updated_at    BIGINT NOT NULL
);
