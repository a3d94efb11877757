package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// LockRow is the lock of one environment of a repository. A row with PR 0,
// no deployment and Manual false is free.
type LockRow struct {
	Repository   string
	Environment  string
	PR           int
	Login        string
	Reason       string
	Manual       bool
	DeploymentID int64
	Since        time.Time
	// HolderState is the state of the holding deployment, "" when none.
	HolderState string
}

// LockEnvironment returns the lock row of (repo, env), creating a free one,
// and holds it for the rest of tx: on PostgreSQL the UPDATE takes the row
// lock, so two deployments racing for one environment run one after the
// other; SQLite transactions are serialized already.
func LockEnvironment(ctx context.Context, tx *sql.Tx, repo, env string) (*LockRow, error) {
	if _, err := tx.ExecContext(ctx, `INSERT INTO environment_locks (repository, environment) VALUES ($1, $2)
		ON CONFLICT (repository, environment) DO NOTHING`, repo, env); err != nil {
		return nil, fmt.Errorf("lock %s of %s: %w", env, repo, err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE environment_locks SET since = since WHERE repository = $1 AND environment = $2`, repo, env); err != nil {
		return nil, fmt.Errorf("lock %s of %s: %w", env, repo, err)
	}
	ls, err := queryLocks(ctx, tx, `WHERE l.repository = $1 AND l.environment = $2`, repo, env)
	if err != nil || len(ls) == 0 {
		return nil, fmt.Errorf("lock %s of %s: missing after insert: %v", env, repo, err)
	}
	return ls[0], nil
}

// PutLock writes l over the lock row of its repository and environment.
func PutLock(ctx context.Context, q Querier, l LockRow) error {
	_, err := q.ExecContext(ctx, `UPDATE environment_locks SET pr = $1, login = $2, reason = $3, manual = $4, deployment_id = $5, since = $6
		WHERE repository = $7 AND environment = $8`,
		l.PR, l.Login, l.Reason, boolInt(l.Manual), l.DeploymentID, l.Since.UnixMilli(), l.Repository, l.Environment)
	if err != nil {
		return fmt.Errorf("lock %s of %s: %w", l.Environment, l.Repository, err)
	}
	return nil
}

// ListLocks returns the held locks of repo ("" for all): /locks and those
// of deployments that have not released them.
func ListLocks(ctx context.Context, q Querier, repo string) ([]*LockRow, error) {
	return queryLocks(ctx, q, `WHERE ($1 = '' OR l.repository = $1) AND (l.manual = 1 OR l.deployment_id <> 0)`, repo)
}

func queryLocks(ctx context.Context, q Querier, where string, args ...any) ([]*LockRow, error) {
	rows, err := q.QueryContext(ctx, `SELECT l.repository, l.environment, l.pr, l.login, l.reason, l.manual, l.deployment_id, l.since, COALESCE(d.state, '')
		FROM environment_locks l LEFT JOIN deployments d ON d.id = l.deployment_id `+where+` ORDER BY l.repository, l.environment`, args...)
	if err != nil {
		return nil, fmt.Errorf("locks: %w", err)
	}
	defer rows.Close()
	var out []*LockRow
	for rows.Next() {
		l := &LockRow{}
		var manual, since int64
		if err := rows.Scan(&l.Repository, &l.Environment, &l.PR, &l.Login, &l.Reason, &manual, &l.DeploymentID, &since, &l.HolderState); err != nil {
			return nil, err
		}
		l.Manual, l.Since = manual != 0, time.UnixMilli(since)
		out = append(out, l)
	}
	return out, rows.Err()
}
