package store

import (
	"context"
	"fmt"
	"time"
)

// SlackChange is one change of a deployment to show in its Slack thread, as
// the outbox (slack_outbox) keeps it until it is shown.
type SlackChange struct {
	DeploymentID int64
	Seq          int64 // 1, 2, ... per deployment, in the order recorded
	Event        string
	Detail       string
	Step         int
	Percent      int
}

// RecordSlackChange adds c to its deployment's outbox with the next sequence
// number and returns that number; c.Seq is ignored. enqueue reports whether
// the caller must enqueue the flush job that shows it: false while one is
// already enqueued (and younger than staleAfter, in case it was lost). Run it
// in the transaction that enqueues the job.
//
// The counter row is updated before the change is inserted, so on
// PostgreSQL a second recorder of the same deployment waits for the first
// to commit: a flush never sees seq n+1 while n is still uncommitted.
func RecordSlackChange(ctx context.Context, q Querier, c SlackChange, staleAfter time.Duration) (seq int64, enqueue bool, err error) {
	at := now()
	err = q.QueryRowContext(ctx, `INSERT INTO slack_flush (deployment_id, last_seq, updated_at) VALUES ($1, 1, $2)
		ON CONFLICT (deployment_id) DO UPDATE SET last_seq = slack_flush.last_seq + 1, updated_at = excluded.updated_at
		RETURNING last_seq`, c.DeploymentID, at).Scan(&seq)
	if err != nil {
		return 0, false, fmt.Errorf("record slack change of deployment %d: %w", c.DeploymentID, err)
	}
	if _, err := q.ExecContext(ctx, `INSERT INTO slack_outbox (deployment_id, seq, event, detail, step, percent, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, c.DeploymentID, seq, c.Event, c.Detail, c.Step, c.Percent, at); err != nil {
		return 0, false, fmt.Errorf("record slack change of deployment %d: %w", c.DeploymentID, err)
	}
	res, err := q.ExecContext(ctx, `UPDATE slack_flush SET job_at = $2 WHERE deployment_id = $1 AND (job_at = 0 OR job_at < $3)`,
		c.DeploymentID, at, at-staleAfter.Milliseconds())
	if err != nil {
		return 0, false, fmt.Errorf("record slack change of deployment %d: %w", c.DeploymentID, err)
	}
	n, err := res.RowsAffected()
	return seq, n == 1, err
}

// PendingSlackChanges returns the changes of deployment id not shown yet,
// oldest first, and the newest sequence number recorded (0: none), which
// SettleSlackFlush takes once they are all shown.
func PendingSlackChanges(ctx context.Context, q Querier, id int64) (pending []SlackChange, last int64, err error) {
	// Read the counter first: a change recorded after it is left for the
	// next round, never settled unseen.
	err = q.QueryRowContext(ctx, `SELECT COALESCE(MAX(last_seq), 0) FROM slack_flush WHERE deployment_id = $1`, id).Scan(&last)
	if err != nil {
		return nil, 0, fmt.Errorf("slack changes of deployment %d: %w", id, err)
	}
	rows, err := q.QueryContext(ctx, `SELECT seq, event, detail, step, percent FROM slack_outbox
		WHERE deployment_id = $1 AND done_at = 0 AND seq <= $2 ORDER BY seq`, id, last)
	if err != nil {
		return nil, 0, fmt.Errorf("slack changes of deployment %d: %w", id, err)
	}
	defer rows.Close()
	for rows.Next() {
		c := SlackChange{DeploymentID: id}
		if err := rows.Scan(&c.Seq, &c.Event, &c.Detail, &c.Step, &c.Percent); err != nil {
			return nil, 0, fmt.Errorf("slack changes of deployment %d: %w", id, err)
		}
		pending = append(pending, c)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("slack changes of deployment %d: %w", id, err)
	}
	return pending, last, nil
}

// MarkSlackChangeDone records that change seq of deployment id was shown
// (or given up on for good), so no flush shows it again.
func MarkSlackChangeDone(ctx context.Context, q Querier, id, seq int64) error {
	if _, err := q.ExecContext(ctx, `UPDATE slack_outbox SET done_at = $3 WHERE deployment_id = $1 AND seq = $2 AND done_at = 0`,
		id, seq, now()); err != nil {
		return fmt.Errorf("mark slack change %d of deployment %d: %w", seq, id, err)
	}
	return nil
}

// SlackEventDone reports whether a change of deployment id with event was
// shown or given up on.
func SlackEventDone(ctx context.Context, q Querier, id int64, event string) (bool, error) {
	var n int
	if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM slack_outbox WHERE deployment_id = $1 AND event = $2 AND done_at <> 0`,
		id, event).Scan(&n); err != nil {
		return false, fmt.Errorf("slack changes of deployment %d: %w", id, err)
	}
	return n > 0, nil
}

// SettleSlackFlush forgets that a flush job is enqueued for deployment id if
// no change was recorded after last. It reports whether it did; false means
// newer changes are waiting and the job must flush again.
func SettleSlackFlush(ctx context.Context, q Querier, id, last int64) (bool, error) {
	res, err := q.ExecContext(ctx, `UPDATE slack_flush SET job_at = 0 WHERE deployment_id = $1 AND last_seq = $2`, id, last)
	if err != nil {
		return false, fmt.Errorf("settle slack flush of deployment %d: %w", id, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// DeleteSlackOutbox forgets deployment id's outbox (the deployment is gone).
func DeleteSlackOutbox(ctx context.Context, q Querier, id int64) error {
	for _, stmt := range []string{`DELETE FROM slack_outbox WHERE deployment_id = $1`, `DELETE FROM slack_flush WHERE deployment_id = $1`} {
		if _, err := q.ExecContext(ctx, stmt, id); err != nil {
			return fmt.Errorf("delete slack outbox of deployment %d: %w", id, err)
		}
	}
	return nil
}
