package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
)

// serving_cells keeps, per (repository, environment, artifact), the latest
// deployment and the latest one in which the deployment and the artifact
// both succeeded: what ServingCells would otherwise derive by grouping the
// whole history. Every write of a deployment's or an artifact's state calls
// refreshCells in the write's transaction, so the table cannot drift from
// the history.

// raiseCellsSQL records deployment $1 (its artifact $2, or all of them when
// $2 is empty) as its cells' latest, and as what serves when it and the
// artifact succeeded; ids only grow, so the larger one wins.
const raiseCellsSQL = `INSERT INTO serving_cells (repository, environment, artifact, latest_id, served_id)
	SELECT d.repository, d.environment, a.name, d.id, CASE WHEN d.state = 'succeeded' AND a.state = 'succeeded' THEN d.id ELSE 0 END
	FROM deployments d JOIN deployment_artifacts a ON a.deployment_id = d.id
	WHERE d.id = $1 AND ($2 = '' OR a.name = $2)
	ON CONFLICT (repository, artifact, environment) DO UPDATE SET
		latest_id = CASE WHEN excluded.latest_id > serving_cells.latest_id THEN excluded.latest_id ELSE serving_cells.latest_id END,
		served_id = CASE WHEN excluded.served_id > serving_cells.served_id THEN excluded.served_id ELSE serving_cells.served_id END`

// lowerCellsSQL finds again what serves in the cells deployment $1 served
// until its state or its artifact's ($2, or any when empty) left
// succeeded: the latest older deployment that succeeded, or none.
const lowerCellsSQL = `UPDATE serving_cells SET served_id = COALESCE((
		SELECT d.id FROM deployments d JOIN deployment_artifacts a ON a.deployment_id = d.id
		WHERE d.repository = serving_cells.repository AND d.environment = serving_cells.environment AND a.name = serving_cells.artifact
			AND d.state = 'succeeded' AND a.state = 'succeeded'
		ORDER BY d.id DESC LIMIT 1), 0)
	WHERE served_id = $1 AND EXISTS (
		SELECT 1 FROM deployments d JOIN deployment_artifacts a ON a.deployment_id = d.id
		WHERE d.id = $1 AND a.name = serving_cells.artifact AND ($2 = '' OR a.name = $2)
			AND NOT (d.state = 'succeeded' AND a.state = 'succeeded'))`

// refreshCells brings the cells of deployment id (of its artifact name, or
// all when name is empty) in line with the states just written.
func refreshCells(ctx context.Context, q Querier, id int64, name string) error {
	if _, err := q.ExecContext(ctx, raiseCellsSQL, id, name); err != nil {
		return fmt.Errorf("serving cells of deployment %d: %w", id, err)
	}
	if _, err := q.ExecContext(ctx, lowerCellsSQL, id, name); err != nil {
		return fmt.Errorf("serving cells of deployment %d: %w", id, err)
	}
	return nil
}

// inTx runs fn in q's transaction, or in a new one when q is the database:
// a state and the cells it moves are written together.
func inTx(ctx context.Context, q Querier, fn func(q Querier) error) error {
	db, ok := q.(*sql.DB)
	if !ok {
		return fn(q)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// ServingArtifact is an artifact serving in an environment, with what its
// deployment recorded of its owners and resources.
type ServingArtifact struct {
	Repository string
	Artifact   string
	Owners     []string
	Resources  string // JSON; "" when the deployment did not record them
}

// ServingIn lists every artifact of every repository that serves in env:
// the artifact of its latest deployment there that succeeded.
func ServingIn(ctx context.Context, q Querier, env string) ([]ServingArtifact, error) {
	rows, err := q.QueryContext(ctx, `SELECT c.repository, c.artifact, a.owners, a.resources
		FROM serving_cells c JOIN deployment_artifacts a ON a.deployment_id = c.served_id AND a.name = c.artifact
		WHERE c.environment = $1 AND c.served_id <> 0 ORDER BY c.repository, c.artifact`, env)
	if err != nil {
		return nil, fmt.Errorf("what serves in %s: %w", env, err)
	}
	defer rows.Close()
	var out []ServingArtifact
	for rows.Next() {
		var s ServingArtifact
		var owners string
		if err := rows.Scan(&s.Repository, &s.Artifact, &owners, &s.Resources); err != nil {
			return nil, fmt.Errorf("what serves in %s: %w", env, err)
		}
		if err := json.Unmarshal([]byte(owners), &s.Owners); err != nil {
			return nil, fmt.Errorf("what serves in %s: owners of %s %s: %w", env, s.Repository, s.Artifact, err)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}
