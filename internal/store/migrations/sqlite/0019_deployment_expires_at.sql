-- expires_at is when a deployment awaiting approval expires (Unix ms),
-- fixed when it was created with the TTL in force then, so every page and
-- message shows the moment its expiry job is scheduled for; 0 for rows
-- from before it was recorded (they show created_at + the current TTL).
ALTER TABLE deployments ADD COLUMN expires_at BIGINT NOT NULL DEFAULT 0;
