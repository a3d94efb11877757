-- command_replies is the outbox of what a webhook delivery's commands say on
-- GitHub (reactions, the reply comment). Rows are written once the commands
-- ran and are posted until GitHub accepts them, so a retried delivery posts
-- what is missing instead of running its commands again.
CREATE TABLE IF NOT EXISTS command_replies (
    delivery_id  TEXT NOT NULL,
    n            INTEGER NOT NULL,
    kind         TEXT NOT NULL,
    installation BIGINT NOT NULL,
    repository   TEXT NOT NULL,
    pr           INTEGER NOT NULL,
    comment_id   BIGINT NOT NULL,
    content      TEXT NOT NULL,
    state        TEXT NOT NULL,
    attempts     INTEGER NOT NULL,
    posted_id    BIGINT NOT NULL,
    last_error   TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (delivery_id, n)
);
