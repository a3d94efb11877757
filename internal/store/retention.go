package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/riverqueue/river"
)

// MinDeliveryRetention is the shortest time processed webhook deliveries may
// be kept. A delivery's stored ID is what makes a redelivery of it a no-op,
// and GitHub redelivers deliveries of the past 3 days (GitHub Enterprise
// Server: 7 days; see GitHub's "Redelivering webhooks"): a shorter retention
// would let a late redelivery run its commands twice.
const MinDeliveryRetention = 7 * 24 * time.Hour

// DefaultDeliveryRetention is how long processed deliveries are kept unless
// the operator says otherwise.
const DefaultDeliveryRetention = 30 * 24 * time.Hour

// slackOutboxRetention is how long a finished deployment's Slack outbox is
// kept after its last change: long enough for any late flush, and the lines
// are in Slack by then.
const slackOutboxRetention = 7 * 24 * time.Hour

// pruneBatch bounds the rows one DELETE removes, so pruning a large backlog
// never holds long locks or a long transaction against the intake.
const pruneBatch = 1000

// Retention says what Prune removes. Nothing else is ever pruned: audit
// events, deployments and their artifacts are the history.
type Retention struct {
	// Deliveries is how long processed webhook deliveries, and the replies
	// their commands posted, are kept; 0 keeps them forever. Deliveries not
	// processed yet are never removed.
	Deliveries time.Duration
	// FinishedStates are the deployment states after which a deployment's
	// Slack outbox is no longer needed (the deploy package's finished
	// states); its outbox goes a week after its last change.
	FinishedStates []string
}

// Pruned counts what one Prune removed.
type Pruned struct {
	Deliveries, Replies, SlackOutboxes int64
}

// Prune removes what r says is no longer needed, as of now, in batches of
// at most a thousand rows.
func (s *Store) Prune(ctx context.Context, r Retention, now time.Time) (Pruned, error) {
	var p Pruned
	var err error
	if r.Deliveries > 0 {
		cutoff := now.Add(-max(r.Deliveries, MinDeliveryRetention)).UnixMilli()
		if p.Deliveries, err = s.deleteInBatches(ctx, `DELETE FROM deliveries WHERE id IN (
			SELECT id FROM deliveries WHERE received_at < $1 AND processed_at IS NOT NULL LIMIT $2)`, cutoff); err != nil {
			return p, fmt.Errorf("prune deliveries: %w", err)
		}
		if p.Replies, err = s.deleteInBatches(ctx, `DELETE FROM command_replies WHERE (delivery_id, n) IN (
			SELECT delivery_id, n FROM command_replies WHERE created_at < $1 AND state <> '`+ReplyPending+`' LIMIT $2)`, cutoff); err != nil {
			return p, fmt.Errorf("prune command replies: %w", err)
		}
	}
	if len(r.FinishedStates) > 0 {
		if p.SlackOutboxes, err = s.pruneSlackOutboxes(ctx, r.FinishedStates, now.Add(-slackOutboxRetention).UnixMilli()); err != nil {
			return p, fmt.Errorf("prune Slack outboxes: %w", err)
		}
	}
	return p, nil
}

// deleteInBatches runs stmt (arguments: the cutoff, the batch size) until
// it deletes fewer rows than a batch, and returns how many it deleted.
func (s *Store) deleteInBatches(ctx context.Context, stmt string, cutoff int64) (int64, error) {
	var total int64
	for {
		res, err := s.DB.ExecContext(ctx, stmt, cutoff, pruneBatch)
		if err != nil {
			return total, err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, err
		}
		total += n
		if n < pruneBatch {
			return total, nil
		}
	}
}

// pruneSlackOutboxes forgets the outboxes of deployments in a finished
// state whose last change is older than cutoff and that have no flush
// waiting; it returns how many deployments' outboxes it removed.
func (s *Store) pruneSlackOutboxes(ctx context.Context, finished []string, cutoff int64) (int64, error) {
	args, in := inList([]any{cutoff}, finished)
	args = append(args, pruneBatch)
	sel := `SELECT f.deployment_id FROM slack_flush f JOIN deployments d ON d.id = f.deployment_id
		WHERE f.updated_at < $1 AND f.job_at = 0 AND d.state ` + in + `
		AND NOT EXISTS (SELECT 1 FROM slack_outbox o WHERE o.deployment_id = f.deployment_id AND o.done_at = 0)
		LIMIT $` + fmt.Sprint(len(args))
	var total int64
	for {
		var ids []int64
		err := s.Tx(ctx, func(tx *sql.Tx) error {
			rows, err := tx.QueryContext(ctx, sel, args...)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var id int64
				if err := rows.Scan(&id); err != nil {
					return err
				}
				ids = append(ids, id)
			}
			if err := rows.Err(); err != nil {
				return err
			}
			rows.Close()
			for _, id := range ids {
				if err := DeleteSlackOutbox(ctx, tx, id); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return total, err
		}
		total += int64(len(ids))
		if len(ids) < pruneBatch {
			return total, nil
		}
	}
}

// PruneArgs is the periodic job that runs Prune.
type PruneArgs struct{}

// Kind names the job for river.
func (PruneArgs) Kind() string { return "store_prune" }

// pruneWorker runs Prune with the queue's retention.
type pruneWorker struct {
	river.WorkerDefaults[PruneArgs]
	q *Queue
}

func (w *pruneWorker) Work(ctx context.Context, _ *river.Job[PruneArgs]) error {
	p, err := w.q.store.Prune(ctx, *w.q.cfg.Retention, time.Now())
	if err != nil {
		return err
	}
	if p != (Pruned{}) {
		w.q.cfg.Logger.Info("pruned", "deliveries", p.Deliveries, "command_replies", p.Replies, "slack_outboxes", p.SlackOutboxes)
	}
	return nil
}

// pruneEvery is how often the periodic prune runs (and once at start).
const pruneEvery = time.Hour

// periodicPrune is the periodic job river's elected leader enqueues: one
// prune an hour across all replicas.
func periodicPrune() *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(pruneEvery), func() (river.JobArgs, *river.InsertOpts) {
		return PruneArgs{}, &river.InsertOpts{MaxAttempts: 3, UniqueOpts: river.UniqueOpts{ByPeriod: pruneEvery}}
	}, &river.PeriodicJobOpts{RunOnStart: true})
}
