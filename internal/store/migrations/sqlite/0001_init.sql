CREATE TABLE IF NOT EXISTS deliveries (
    id              TEXT PRIMARY KEY,
    event           TEXT NOT NULL,
    action          TEXT NOT NULL DEFAULT '',
    installation_id INTEGER NOT NULL DEFAULT 0,
    repository      TEXT NOT NULL DEFAULT '',
    payload         BLOB NOT NULL,
    received_at     INTEGER NOT NULL,
    processed_at    INTEGER,
    outcome         TEXT NOT NULL DEFAULT '',
    error           TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS deliveries_received_at ON deliveries (received_at);

CREATE TABLE IF NOT EXISTS installations (
    id         INTEGER PRIMARY KEY,
    account    TEXT NOT NULL,
    suspended  INTEGER NOT NULL DEFAULT 0,
    updated_at INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS installation_repositories (
    installation_id INTEGER NOT NULL,
    repository      TEXT NOT NULL,
    PRIMARY KEY (installation_id, repository)
);

CREATE TABLE IF NOT EXISTS audit_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          INTEGER NOT NULL,
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
