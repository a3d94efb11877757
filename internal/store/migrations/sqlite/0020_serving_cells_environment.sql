-- What serves in one environment across every repository (a team's quota
-- counts it, store.ServingIn) is read by environment.
CREATE INDEX IF NOT EXISTS serving_cells_environment ON serving_cells (environment, served_id);
