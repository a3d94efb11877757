package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Reply states.
const (
	ReplyPending = "pending" // not accepted by GitHub yet
	ReplyDone    = "done"    // accepted (or found already posted)
	ReplyFailed  = "failed"  // refused for good (a 4xx that a retry cannot fix)
)

// Reply is one thing a delivery's commands say on GitHub: a reaction on the
// comment or the reply comment. N orders a delivery's replies.
type Reply struct {
	DeliveryID   string
	N            int
	Kind         string // "reaction" or "comment"
	Installation int64
	Repository   string
	PR           int
	CommentID    int64  // the comment a reaction goes on
	Content      string // the reaction's content, or the comment's body
	State        string
	Attempts     int   // posts tried; more than 0 means one may have succeeded unseen
	PostedID     int64 // the created comment's ID
	LastError    string
	CreatedAt    time.Time
}

// SaveReplies stores a delivery's replies. Rows already stored (a retry
// that got this far before) are kept as they are.
func (s *Store) SaveReplies(ctx context.Context, rs []Reply) error {
	return s.Tx(ctx, func(tx *sql.Tx) error {
		for _, r := range rs {
			if r.State == "" {
				r.State = ReplyPending
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO command_replies
				(delivery_id, n, kind, installation, repository, pr, comment_id, content, state, attempts, posted_id, last_error, created_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) ON CONFLICT (delivery_id, n) DO NOTHING`,
				r.DeliveryID, r.N, r.Kind, r.Installation, r.Repository, r.PR, r.CommentID, r.Content,
				r.State, r.Attempts, r.PostedID, r.LastError, r.CreatedAt.UnixMilli()); err != nil {
				return fmt.Errorf("save reply %s/%d: %w", r.DeliveryID, r.N, err)
			}
		}
		return nil
	})
}

// Replies returns a delivery's replies in order (none when its commands have
// not finished yet).
func (s *Store) Replies(ctx context.Context, deliveryID string) ([]Reply, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT n, kind, installation, repository, pr, comment_id, content, state, attempts, posted_id, last_error, created_at
		FROM command_replies WHERE delivery_id = $1 ORDER BY n`, deliveryID)
	if err != nil {
		return nil, fmt.Errorf("replies of %s: %w", deliveryID, err)
	}
	defer rows.Close()
	var out []Reply
	for rows.Next() {
		r := Reply{DeliveryID: deliveryID}
		var created int64
		if err := rows.Scan(&r.N, &r.Kind, &r.Installation, &r.Repository, &r.PR, &r.CommentID, &r.Content,
			&r.State, &r.Attempts, &r.PostedID, &r.LastError, &created); err != nil {
			return nil, fmt.Errorf("replies of %s: %w", deliveryID, err)
		}
		r.CreatedAt = time.UnixMilli(created)
		out = append(out, r)
	}
	return out, rows.Err()
}

// UpdateReply records a reply's state, attempts, posted comment and last
// error.
func (s *Store) UpdateReply(ctx context.Context, r Reply) error {
	res, err := s.DB.ExecContext(ctx, `UPDATE command_replies SET state = $1, attempts = $2, posted_id = $3, last_error = $4
		WHERE delivery_id = $5 AND n = $6`, r.State, r.Attempts, r.PostedID, r.LastError, r.DeliveryID, r.N)
	if err != nil {
		return fmt.Errorf("update reply %s/%d: %w", r.DeliveryID, r.N, err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return fmt.Errorf("update reply %s/%d: %w", r.DeliveryID, r.N, ErrNotFound)
	}
	return nil
}
