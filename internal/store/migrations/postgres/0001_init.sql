CREATE TABLE IF NOT EXISTS deliveries (
    id              TEXT PRIMARY KEY,
    event           TEXT NOT NULL,
    action          TEXT NOT NULL DEFAULT '',
    installation_id BIGINT NOT NULL DEFAULT 0,
    repository      TEXT NOT NULL DEFAULT '',
    payload         BYTEA NOT NULL,
    received_at     BIGINT NOT NULL,
    processed_at    BIGINT,
    outcome         TEXT NOT NULL DEFAULT '',
    error           TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS deliveries_received_at ON deliveries (received_at);

CREATE TABLE IF NOT EXISTS installations (
    id         BIGINT PRIMARY KEY,
    account    TEXT NOT NULL,
    suspended  INTEGER NOT NULL DEFAULT 0,
    updated_at BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS installation_repositories (
    installation_id BIGINT NOT NULL,
    repository      TEXT NOT NULL,
    PRIMARY KEY (installation_id, repository)
);

CREATE TABLE IF NOT EXISTS audit_events (
    id          BIGSERIAL PRIMARY KEY,
    at          BIGINT NOT NULL,
    kind        TEXT NOT NULL,
    repository  TEXT NOT NULL DEFAULT '',
    actor       TEXT NOT NULL DEFAULT '',
    subject     TEXT NOT NULL DEFAULT '',
    action      TEXT NOT NULL DEFAULT '',
    digest      TEXT NOT NULL DEFAULT '',
    revision    TEXT NOT NULL DEFAULT '',
    outcome     TEXT NOT NULL DEFAULT '',
    detail      TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS audit_events_at ON audit_events (at);
