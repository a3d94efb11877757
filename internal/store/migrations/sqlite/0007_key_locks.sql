-- key_locks holds the leases of Store.KeyLocks: one writer at a time per
-- (space, key) across replicas (a deployment's GitHub comment, its Slack
-- message). A row whose expires_at has passed is free: a replica that died
-- holding a lease does not block the others for longer than the lease.
CREATE TABLE IF NOT EXISTS key_locks (
    space      BIGINT NOT NULL,
    key        BIGINT NOT NULL,
    owner      TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (space, key)
);
