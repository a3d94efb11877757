-- dbt_manifests keeps the manifest.json a dbt deploy wrote (gzip), so a
-- pull request's dbt check can compare with what an environment runs after
-- the CI artifact of that commit has expired. A few per artifact and
-- environment are kept (store.SaveDBTManifest prunes the rest).
CREATE TABLE IF NOT EXISTS dbt_manifests (
    repository  TEXT NOT NULL,
    artifact    TEXT NOT NULL,
    environment TEXT NOT NULL,
    sha         TEXT NOT NULL,
    manifest    BYTEA NOT NULL,
    size        BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (repository, artifact, environment, sha)
);
