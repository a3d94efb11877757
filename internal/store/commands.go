package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// PRHead is one head commit a pull request had and since when (GitHub's time
// of the change when the event carries it).
type PRHead struct {
	Repository string
	PR         int
	SHA        string
	At         time.Time
}

// RecordPRHead adds h to the pull request's head history, ordered by At.
// Events may arrive late and out of order, so h is placed by its time: a head
// equal to the one the history already has at h.At is not repeated, so
// redelivered events add nothing.
func (s *Store) RecordPRHead(ctx context.Context, h PRHead) error {
	if h.Repository == "" || h.PR <= 0 || h.SHA == "" {
		return fmt.Errorf("record PR head: repository, PR number and SHA are required (got %q #%d %q)", h.Repository, h.PR, h.SHA)
	}
	return s.Tx(ctx, func(tx *sql.Tx) error {
		var last string
		err := tx.QueryRowContext(ctx, `SELECT sha FROM pr_heads WHERE repository = $1 AND pr = $2 AND at <= $3 ORDER BY at DESC, id DESC LIMIT 1`,
			h.Repository, h.PR, h.At.UnixMilli()).Scan(&last)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return fmt.Errorf("record PR head %s#%d: %w", h.Repository, h.PR, err)
		case last == h.SHA:
			return nil
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO pr_heads (repository, pr, sha, at) VALUES ($1, $2, $3, $4)`,
			h.Repository, h.PR, h.SHA, h.At.UnixMilli()); err != nil {
			return fmt.Errorf("record PR head %s#%d: %w", h.Repository, h.PR, err)
		}
		return nil
	})
}

// PRHeads returns the recorded head history of a pull request, oldest first.
func (s *Store) PRHeads(ctx context.Context, repo string, pr int) ([]PRHead, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT sha, at FROM pr_heads WHERE repository = $1 AND pr = $2 ORDER BY at, id`, repo, pr)
	if err != nil {
		return nil, fmt.Errorf("PR heads %s#%d: %w", repo, pr, err)
	}
	defer rows.Close()
	var out []PRHead
	for rows.Next() {
		h := PRHead{Repository: repo, PR: pr}
		var at int64
		if err := rows.Scan(&h.SHA, &at); err != nil {
			return nil, fmt.Errorf("PR heads %s#%d: %w", repo, pr, err)
		}
		h.At = time.UnixMilli(at)
		out = append(out, h)
	}
	return out, rows.Err()
}
