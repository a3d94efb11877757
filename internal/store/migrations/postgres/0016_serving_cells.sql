-- serving_cells is, for each artifact of a repository in an environment
-- that was ever deployed there, its latest deployment and the latest one in
-- which the deployment and the artifact both succeeded (0: none): what
-- serves, kept as state so the dashboard's overview reads one row per cell
-- instead of grouping the whole history. The store maintains it in every
-- write of a deployment's or a deployment artifact's state.
CREATE TABLE IF NOT EXISTS serving_cells (
    repository  TEXT   NOT NULL,
    environment TEXT   NOT NULL,
    artifact    TEXT   NOT NULL,
    latest_id   BIGINT NOT NULL,
    served_id   BIGINT NOT NULL DEFAULT 0,
    -- In the order the overview reads them.
    PRIMARY KEY (repository, artifact, environment)
);
-- A write that ends what served (a rollback) finds the cells it served.
CREATE INDEX IF NOT EXISTS serving_cells_served ON serving_cells (served_id);

INSERT INTO serving_cells (repository, environment, artifact, latest_id, served_id)
SELECT d.repository, d.environment, a.name, MAX(d.id),
    COALESCE(MAX(CASE WHEN d.state = 'succeeded' AND a.state = 'succeeded' THEN d.id END), 0)
FROM deployment_artifacts a JOIN deployments d ON d.id = a.deployment_id
GROUP BY d.repository, d.environment, a.name;
