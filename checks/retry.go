package checks

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// RetryArgs is the checks_retry job: a PR's head was evaluated while a
// registry could not be reached, so its checks wait in progress; at the
// scheduled time the job requests a new evaluation through the usual path
// (checks_evaluate), which schedules another retry if the registry is
// still unreachable.
//
// Reason "freeze" is the same request at the moment a freeze window of the
// base config begins or ends, so Readiness (and the policy's freeze rules)
// say what holds then; one is pending per SHA and reason.
type RetryArgs struct {
	Repo   string `json:"repo"`
	SHA    string `json:"sha"`
	Reason string `json:"reason,omitempty"`
}

// Kind implements river.JobArgs.
func (RetryArgs) Kind() string { return "checks_retry" }

type retryWorker struct {
	river.WorkerDefaults[RetryArgs]
	s *Suite
}

// Work requests a full evaluation of every open PR whose head is still the
// SHA; a PR that moved on is evaluated at its new head already.
func (w *retryWorker) Work(ctx context.Context, job *river.Job[RetryArgs]) error {
	h := &Handler{s: w.s}
	return w.s.o.Store.Tx(ctx, func(tx *sql.Tx) error {
		return h.requestAt(ctx, tx, job.Args.Repo, job.Args.SHA, true, nil)
	})
}

// scheduleRetry enqueues one checks_retry for the SHA at the earliest
// RetryAt of the results; one is pending per SHA at a time, however many
// evaluations met the unreachable registry meanwhile. Likewise one with
// reason "freeze" at the earliest RecheckAt.
func (s *Suite) scheduleRetry(ctx context.Context, repo, sha string, results []*ArtifactResult) error {
	var at, freeze time.Time
	for _, r := range results {
		if !r.RetryAt.IsZero() && (at.IsZero() || r.RetryAt.Before(at)) {
			at = r.RetryAt
		}
		if !r.RecheckAt.IsZero() && (freeze.IsZero() || r.RecheckAt.Before(freeze)) {
			freeze = r.RecheckAt
		}
	}
	if err := s.insertRetry(ctx, RetryArgs{Repo: repo, SHA: sha}, at); err != nil {
		return err
	}
	return s.insertRetry(ctx, RetryArgs{Repo: repo, SHA: sha, Reason: "freeze"}, freeze)
}

// insertRetry schedules a at at, unless at is zero or one is pending.
func (s *Suite) insertRetry(ctx context.Context, a RetryArgs, at time.Time) error {
	if at.IsZero() {
		return nil
	}
	repo, sha := a.Repo, a.SHA
	_, err := s.o.Queue.Insert(ctx, a, &river.InsertOpts{ScheduledAt: at,
		UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: []rivertype.JobState{
			rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRetryable,
			rivertype.JobStateRunning, rivertype.JobStateScheduled}}})
	if err != nil {
		return fmt.Errorf("schedule the re-evaluation of %s@%s: %w", repo, sha, err)
	}
	return nil
}
