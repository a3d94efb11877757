package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"
)

// QueueConfig tunes the durable job queue.
type QueueConfig struct {
	// Workers is how many jobs of the default queue (deliveries, check
	// evaluations, comment edits, Slack notifications) this process works at
	// once; 0 makes an intake-only process that inserts jobs but never works
	// them, in either queue.
	Workers int
	// RolloutWorkers is how many jobs of QueueRollouts (rollout steps, which
	// hold a worker for as long as a driver runs) this process works at once;
	// 0 means as many as Workers. A queue of their own lets Workers be sized
	// to the cores without long rollouts starving deliveries.
	RolloutWorkers int
	// PollInterval is how often idle workers look for new jobs (default 25ms).
	PollInterval time.Duration
	// JobTimeout bounds one run of a job whose kind does not set its own
	// Timeout (default: four fifths of RescueAfter, so one minute). Past
	// it the job's context ends and the job is retried with backoff.
	JobTimeout time.Duration
	// RescueAfter is how long a job may stay running before the queue
	// presumes its worker died (a kill -9, a lost node) and runs it again
	// (default DefaultRescueAfter). It must exceed JobTimeout, so that a
	// live job has ended before it is rescued. Kinds that legitimately run
	// longer set a longer Timeout on their worker; river rescues those
	// only once that Timeout has passed too.
	RescueAfter time.Duration
	// Logger receives the queue's own logs.
	Logger *slog.Logger
	// Retention, when set, has a process that works jobs prune what it says
	// is no longer needed: once at start and every hour after, one replica
	// at a time (river's leader enqueues the periodic job).
	Retention *Retention
}

// QueueRollouts is the queue of jobs that run for as long as a deploy driver
// does (rollout steps); their kinds name it in their InsertOpts.
const QueueRollouts = "rollouts"

// DefaultRescueAfter is how long a running job of a short kind may go
// unfinished before another process (or this one, restarted) takes it over.
// With river's rescuer looking every 30 seconds, a job whose worker died is
// running again within about 75s + 30s + its retry backoff (1s): under the
// two minutes promised in docs/operations.md.
const DefaultRescueAfter = 75 * time.Second

// Queue is the durable job queue (river) on the store's database. Packages
// register their workers with Workers before Start.
type Queue struct {
	store   *Store
	cfg     QueueConfig
	workers *river.Workers

	mu     sync.Mutex
	client *river.Client[*sql.Tx]
	// pgxClient inserts the intake's jobs on PostgreSQL through river's pgx
	// driver (see StoreDeliveries); it works no jobs.
	pgxClient *river.Client[pgx.Tx]
}

// ErrQueueNotStarted is returned by inserts before Start.
var ErrQueueNotStarted = errors.New("job queue not started")

// NewQueue prepares a queue on s. Register workers, then call Start.
func NewQueue(s *Store, cfg QueueConfig) *Queue {
	if cfg.PollInterval == 0 {
		cfg.PollInterval = 25 * time.Millisecond
	}
	if cfg.RescueAfter == 0 {
		cfg.RescueAfter = DefaultRescueAfter
	}
	if cfg.JobTimeout == 0 {
		cfg.JobTimeout = cfg.RescueAfter * 4 / 5
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Queue{store: s, cfg: cfg, workers: river.NewWorkers()}
}

// Store is the store the queue's jobs live in, for work that must commit
// with an insert (InsertTx).
func (q *Queue) Store() *Store { return q.store }

// Workers is the bundle that packages add their workers to with river.AddWorker.
func (q *Queue) Workers() *river.Workers { return q.workers }

// Start creates the river client and, when cfg.Workers > 0, starts working jobs.
func (q *Queue) Start(ctx context.Context) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.client != nil {
		return nil
	}
	if q.cfg.RescueAfter <= q.cfg.JobTimeout {
		return fmt.Errorf("job queue: the rescue window (%s) must be longer than the job timeout (%s), or live jobs would be run twice", q.cfg.RescueAfter, q.cfg.JobTimeout)
	}
	conf := &river.Config{
		Logger:            q.cfg.Logger,
		Workers:           q.workers,
		FetchCooldown:     min(q.cfg.PollInterval, 20*time.Millisecond),
		FetchPollInterval: q.cfg.PollInterval,
		JobTimeout:        q.cfg.JobTimeout,
		// river's default (an hour past JobTimeout) left accepted deliveries
		// of a killed process waiting ninety minutes. Rescue is per kind:
		// river skips a stuck job until its worker's own Timeout passed.
		RescueStuckJobsAfter: q.cfg.RescueAfter,
		MaxAttempts:          8,
		// Neither driver here listens for notifications; poll.
		PollOnly:     true,
		ErrorHandler: &errorLogger{log: q.cfg.Logger},
	}
	if q.cfg.Workers > 0 && q.cfg.Retention != nil {
		river.AddWorker(q.workers, &pruneWorker{q: q})
		conf.PeriodicJobs = []*river.PeriodicJob{periodicPrune()}
	}
	if q.cfg.Workers > 0 {
		rollouts := q.cfg.RolloutWorkers
		if rollouts <= 0 {
			rollouts = q.cfg.Workers
		}
		conf.Queues = map[string]river.QueueConfig{
			river.QueueDefault: {MaxWorkers: q.cfg.Workers},
			QueueRollouts:      {MaxWorkers: rollouts},
		}
	}
	client, err := river.NewClient(q.store.driver, conf)
	if err != nil {
		return fmt.Errorf("job queue: %w", err)
	}
	if q.store.pool != nil {
		// Insert-only: no queues, so it never fetches; the jobs it writes
		// are the same rows the main client works.
		q.pgxClient, err = river.NewClient(riverpgxv5.New(q.store.pool), &river.Config{
			Logger: q.cfg.Logger, Workers: q.workers, MaxAttempts: conf.MaxAttempts, PollOnly: true,
		})
		if err != nil {
			return fmt.Errorf("job queue: %w", err)
		}
	}
	if q.cfg.Workers > 0 {
		if err := client.Start(ctx); err != nil {
			return fmt.Errorf("job queue start: %w", err)
		}
	}
	q.client = client
	return nil
}

// Client is the river client, or nil before Start.
func (q *Queue) Client() *river.Client[*sql.Tx] {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.client
}

// Insert enqueues a job outside any transaction.
func (q *Queue) Insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error) {
	c := q.Client()
	if c == nil {
		return nil, ErrQueueNotStarted
	}
	return c.Insert(ctx, args, opts)
}

// InsertTx enqueues a job inside tx, so it exists exactly when tx commits.
func (q *Queue) InsertTx(ctx context.Context, tx *sql.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error) {
	c := q.Client()
	if c == nil {
		return nil, ErrQueueNotStarted
	}
	return c.InsertTx(ctx, tx, args, opts)
}

// StoreDeliveries writes ds and, in the same transaction, one job made by
// job from the IDs of those that are new and not already processed (no job
// when there are none). It reports, for each delivery, whether it was new.
// This is the webhook intake's write, its hottest path: on PostgreSQL it
// goes through pgx and river's pgx driver directly, where database/sql's
// generic arguments cost a fifth of the server's CPU at 1,000 deliveries/s
// (river's database/sql driver passes every column as a lib/pq array that
// pgx turns to text and parses back).
func (q *Queue) StoreDeliveries(ctx context.Context, ds []*Delivery, job func(ids []string) (river.JobArgs, *river.InsertOpts)) ([]bool, error) {
	c := q.Client()
	if c == nil {
		return nil, ErrQueueNotStarted
	}
	var ins []bool
	if q.pgxClient != nil {
		err := pgx.BeginFunc(ctx, q.store.pool, func(tx pgx.Tx) error {
			var err error
			if ins, err = insertDeliveriesPgx(ctx, tx, ds); err != nil {
				return err
			}
			if ids := newUnprocessed(ds, ins); len(ids) > 0 {
				args, opts := job(ids)
				_, err = q.pgxClient.InsertTx(ctx, tx, args, opts)
			}
			return err
		})
		return ins, err
	}
	err := q.store.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		if ins, err = q.store.InsertDeliveries(ctx, tx, ds); err != nil {
			return err
		}
		if ids := newUnprocessed(ds, ins); len(ids) > 0 {
			args, opts := job(ids)
			_, err = c.InsertTx(ctx, tx, args, opts)
		}
		return err
	})
	return ins, err
}

// newUnprocessed lists the IDs of the deliveries that were new (ins) and
// still need processing.
func newUnprocessed(ds []*Delivery, ins []bool) []string {
	var ids []string
	for i, d := range ds {
		if ins[i] && d.ProcessedAt == 0 {
			ids = append(ids, d.ID)
		}
	}
	return ids
}

// Stop stops fetching new jobs and waits for running ones until ctx ends;
// jobs still running then are cancelled and retried by another process.
func (q *Queue) Stop(ctx context.Context) error {
	c := q.Client()
	if c == nil || q.cfg.Workers == 0 {
		return nil
	}
	err := c.Stop(ctx)
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return c.StopAndCancel(cctx)
	}
	return err
}

// Depth counts jobs waiting to run (available, scheduled or retryable).
func (q *Queue) Depth(ctx context.Context) (int, error) {
	var n int
	err := q.store.DB.QueryRowContext(ctx,
		`SELECT count(*) FROM river_job WHERE state IN ('available','scheduled','retryable')`).Scan(&n)
	return n, err
}

type errorLogger struct{ log *slog.Logger }

func (e *errorLogger) HandleError(ctx context.Context, job *rivertype.JobRow, err error) *river.ErrorHandlerResult {
	e.log.Warn("job failed", "kind", job.Kind, "job_id", job.ID, "attempt", job.Attempt, "err", err)
	return nil
}

func (e *errorLogger) HandlePanic(ctx context.Context, job *rivertype.JobRow, panicVal any, trace string) *river.ErrorHandlerResult {
	e.log.Error("job panicked", "kind", job.Kind, "job_id", job.ID, "attempt", job.Attempt, "panic", fmt.Sprint(panicVal))
	return nil
}
