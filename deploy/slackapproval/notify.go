package slackapproval

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"slices"
	"time"

	"github.com/riverqueue/river"
	"github.com/slack-go/slack"

	"github.com/conveyor-dev/conveyor/deploy"
	"github.com/conveyor-dev/conveyor/internal/store"
)

// NotifyArgs is one change of one deployment to show in Slack. Step and
// Percent are the rollout step when the change happened. It is also the
// slack_notify job of earlier versions, one job per change; such jobs still
// queued at an upgrade are moved into the outbox.
type NotifyArgs struct {
	DeploymentID int64  `json:"deployment_id"`
	Event        string `json:"event"`
	Detail       string `json:"detail,omitempty"`
	Step         int    `json:"step,omitempty"`
	Percent      int    `json:"percent,omitempty"`
}

// Kind names the job for river.
func (NotifyArgs) Kind() string { return "slack_notify" }

// FlushArgs is the slack_flush job: show every change of a deployment that
// its outbox holds and Slack has not shown yet, oldest first. One is
// enqueued per deployment at a time; changes recorded meanwhile are shown by
// it (river's unique jobs cannot be used: they count running jobs, so a
// change recorded while a flush finishes would wait for the next change).
type FlushArgs struct {
	DeploymentID int64 `json:"deployment_id"`
}

// Kind names the job for river.
func (FlushArgs) Kind() string { return "slack_flush" }

// flushAttempts is how often a flush is tried through a Slack outage: with
// the default backoff (doubling from 2 s, at most 10 minutes) about a day.
// The queue's default of 8 gave up after four minutes, and a deployment
// that changes no more (it finished) then never showed its last lines.
const flushAttempts = 150

// InsertOpts keeps a flush trying through an outage (see flushAttempts).
func (FlushArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{MaxAttempts: flushAttempts} }

// notifier records engine changes in the deployment's outbox and enqueues
// its flush, so a Slack outage never slows or fails a transition and the
// thread reads in the order the changes were recorded, whichever worker
// runs which job.
type notifier struct{ s *Service }

// Changed records the change; a failure is logged (the next change renders
// the whole message again, only this change's thread line is missing).
func (n notifier) Changed(ctx context.Context, d *deploy.Deployment, event, detail string) {
	a := NotifyArgs{DeploymentID: d.ID, Event: event, Detail: detail, Step: d.Step}
	if d.Step >= 0 && d.Step < len(d.Steps) {
		a.Percent = d.Steps[d.Step]
	}
	if err := n.s.record(ctx, a); err != nil {
		n.s.o.Log.Warn("record slack notification", "deployment", d.ID, "event", event, "err", err)
	}
}

// staleFlush is how long an enqueued flush may stay unfinished before a new
// change presumes it lost (its worker died, or it was discarded after its
// last attempt) and enqueues another. A second flush is harmless: flushes of
// a deployment take its lock and skip what is shown.
const staleFlush = 10 * time.Minute

// record adds a to its deployment's outbox and, in the same transaction,
// enqueues the flush unless one is pending.
func (s *Service) record(ctx context.Context, a NotifyArgs) error {
	st := s.o.Queue.Store()
	return st.Tx(ctx, func(tx *sql.Tx) error {
		_, enqueue, err := store.RecordSlackChange(ctx, tx, store.SlackChange{DeploymentID: a.DeploymentID,
			Event: a.Event, Detail: a.Detail, Step: a.Step, Percent: a.Percent}, staleFlush)
		if err != nil || !enqueue {
			return err
		}
		if _, err := s.o.Queue.InsertTx(ctx, tx, FlushArgs{DeploymentID: a.DeploymentID}, nil); err != nil {
			return fmt.Errorf("enqueue slack_flush of deployment %d: %w", a.DeploymentID, err)
		}
		return nil
	})
}

// legacyNotifyWorker moves a slack_notify job enqueued before the outbox
// existed into it.
type legacyNotifyWorker struct {
	river.WorkerDefaults[NotifyArgs]
	s *Service
}

// Work records the change and enqueues its flush.
func (w *legacyNotifyWorker) Work(ctx context.Context, job *river.Job[NotifyArgs]) error {
	return w.s.record(ctx, job.Args)
}

type flushWorker struct {
	river.WorkerDefaults[FlushArgs]
	s *Service
}

// NextRetry backs off after a transient Slack failure.
func (w *flushWorker) NextRetry(job *river.Job[FlushArgs]) time.Time {
	return time.Now().Add(w.s.o.Backoff(job.Attempt))
}

// maxFlushRounds bounds how often one job flushes again for changes that
// keep arriving while it runs before it yields the worker.
const maxFlushRounds = 5

// errNotPostedYet makes a change wait for the approval message it updates.
var errNotPostedYet = errors.New("the approval message is not posted yet")

// Work shows the deployment's pending changes in order, under its lock so
// that no other flush or interaction writes its message meanwhile.
// Transient failures are retried from the first change not shown; on the
// first failure to post an approval request the PR is told that /approve
// works meanwhile.
func (w *flushWorker) Work(ctx context.Context, job *river.Job[FlushArgs]) error {
	s, id := w.s, job.Args.DeploymentID
	unlock, err := s.lock(ctx, id)
	if err != nil {
		return err // retried: the lock could not be taken now
	}
	defer unlock()
	for range maxFlushRounds {
		settled, err := s.flush(ctx, job, id)
		if err != nil || settled {
			return err
		}
	}
	return river.JobSnooze(time.Second)
}

// flush shows what is pending for deployment id. settled is false when
// changes were recorded meanwhile and it must run again.
func (s *Service) flush(ctx context.Context, job *river.Job[FlushArgs], id int64) (settled bool, err error) {
	db := s.o.Queue.Store().DB
	pending, last, err := store.PendingSlackChanges(ctx, db, id)
	if err != nil {
		return false, err
	}
	if last == 0 {
		return true, nil // nothing recorded (the outbox was deleted)
	}
	if len(pending) > 0 {
		d, err := s.o.Approvals.Get(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			if err := store.DeleteSlackOutbox(ctx, db, id); err != nil {
				return false, err
			}
			return false, river.JobCancel(fmt.Errorf("deployment %d no longer exists", id))
		}
		if err != nil {
			return false, err
		}
		if err := s.show(ctx, job, d, pending); err != nil {
			return false, err
		}
	}
	return store.SettleSlackFlush(ctx, db, id, last)
}

// show delivers the changes of d in order and marks each one shown as soon
// as Slack took it, so a retry resumes after it.
//
// Between Slack taking a thread reply and the mark being stored there is a
// gap no API closes (chat.postMessage has no idempotency key). A reply is
// delivered at least once: when the mark cannot be stored the job fails
// and its retry posts that reply again, because a doubled progress line
// misleads less than a missing "Rollout failed". The approval message is
// delivered at most once instead (see post): a second message would split
// the approvals between two sets of buttons.
func (s *Service) show(ctx context.Context, job *river.Job[FlushArgs], d *deploy.Deployment, pending []store.SlackChange) error {
	db := s.o.Queue.Store().DB
	updated := false
	// The approval message comes first, whenever its change was recorded:
	// everything else is shown on it or in its thread. (A PR comment can
	// approve before the starter has told the notifier about the request.)
	slices.SortStableFunc(pending, func(x, y store.SlackChange) int {
		return cmp.Compare(createdFirst(x.Event), createdFirst(y.Event))
	})
	for _, c := range pending {
		a := NotifyArgs{DeploymentID: c.DeploymentID, Event: c.Event, Detail: c.Detail, Step: c.Step, Percent: c.Percent}
		err := s.deliver(ctx, d, a, &updated)
		if errors.Is(err, errNotRemembered) {
			// Slack has the message: never post it again, even if this
			// mark fails too (the job is cancelled either way).
			if err := store.MarkSlackChangeDone(ctx, db, d.ID, c.Seq); err != nil {
				s.o.Log.Error("mark slack change", "deployment", d.ID, "seq", c.Seq, "err", err)
			}
			return river.JobCancel(err)
		}
		if err != nil {
			if err := s.failed(ctx, job, d, a, err); err != nil {
				return err
			}
		}
		if err := markDone(ctx, db, d.ID, c.Seq); err != nil {
			return err
		}
	}
	return nil
}

func createdFirst(event string) int {
	if event == "created" {
		return 0
	}
	return 1
}

// markDone stores that change seq was shown, trying a few times: failing
// here means the next attempt shows the change again.
func markDone(ctx context.Context, db store.Querier, id, seq int64) error {
	var err error
	for i := range 3 {
		if err = store.MarkSlackChangeDone(ctx, db, id, seq); err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(i+1) * 100 * time.Millisecond):
		}
	}
	return err
}

// failed handles err from delivering change a of d: nil when the change is
// given up on for good (it is then marked shown and the next one follows),
// the error to retry the job with otherwise.
func (s *Service) failed(ctx context.Context, job *river.Job[FlushArgs], d *deploy.Deployment, a NotifyArgs, err error) error {
	if ctx.Err() != nil {
		return err // stopping or timed out: Slack never answered for good
	}
	var limited *slack.RateLimitedError
	if errors.As(err, &limited) {
		return river.JobSnooze(max(limited.RetryAfter, time.Second))
	}
	if transient(err) {
		if job.Attempt == 1 && a.Event == "created" && !errors.Is(err, errNotPostedYet) {
			s.commentOnce(ctx, d, fmt.Sprintf(
				"Slack is unreachable right now, so the approval request for deploying `%s` to %s could not be posted there. "+
					"Meanwhile approvers can comment `/approve %s` (or `/reject %s <reason>`) on this PR; Conveyor keeps trying Slack.",
				short(d.SHA), d.Environment, d.Environment, d.Environment))
		}
		return fmt.Errorf("slack notification %s of deployment %d: %w", a.Event, d.ID, err)
	}
	s.o.Log.Warn("slack notification failed for good", "deployment", d.ID, "event", a.Event, "err", err)
	if a.Event == "created" {
		s.commentOnce(ctx, d, fmt.Sprintf(
			"Slack refused the approval request for deploying `%s` to %s (%v); ask an admin to check slack.channels.%s in the server config. "+
				"Meanwhile approvers can comment `/approve %s` (or `/reject %s <reason>`) on this PR.",
			short(d.SHA), d.Environment, err, d.Environment, d.Environment, d.Environment))
	}
	return nil
}

// deliver shows change a of d: it posts the approval message for created,
// else updates the message (once per flush: it renders d as it is now, not
// as of a) and posts the change's line in its thread. *updated records that
// the message was updated.
func (s *Service) deliver(ctx context.Context, d *deploy.Deployment, a NotifyArgs, updated *bool) error {
	if d.SlackTS == "" {
		if d.Quorum.Needed() == 0 {
			return nil // no approvals, no approval message to follow
		}
		channel := s.channelFor(d.Environment)
		if a.Event != "created" {
			if channel == "" {
				return nil
			}
			// The outbox shows created first: once it was shown (or
			// refused) with no message stored, none will come.
			done, err := store.SlackEventDone(ctx, s.o.Queue.Store().DB, d.ID, "created")
			if err != nil || done {
				return err
			}
			return errNotPostedYet
		}
		if channel == "" {
			s.commentOnce(ctx, d, fmt.Sprintf(
				"No Slack channel is configured for %s (slack.channels in the server config), so approvals go through `/approve %s` on this PR.",
				d.Environment, d.Environment))
			return nil
		}
		ch, ts, err := s.post(ctx, d, channel)
		if err != nil {
			return err
		}
		d.SlackChannel, d.SlackTS = ch, ts
		return nil
	}
	if a.Event == "created" {
		return nil // posted by an earlier attempt
	}
	if !*updated {
		text, blocks := render(d, s.evidence(ctx, d), s.o.Pages)
		_, _, _, err := s.o.Slack.UpdateMessageContext(ctx, d.SlackChannel, d.SlackTS,
			slack.MsgOptionText(text, false), slack.MsgOptionBlocks(blocks...))
		if err != nil && (transient(err) || ctx.Err() != nil) {
			return fmt.Errorf("chat.update: %w", err)
		}
		if err != nil {
			// The thread line still goes out; the message is tried again
			// with the next change.
			s.o.Log.Warn("slack message update failed for good", "deployment", d.ID, "event", a.Event, "err", err)
		}
		*updated = true
	}
	if line := clip(progressText(a), maxMessageText); line != "" {
		if _, _, err := s.o.Slack.PostMessageContext(ctx, d.SlackChannel,
			slack.MsgOptionText(line, false), slack.MsgOptionTS(d.SlackTS)); err != nil {
			return fmt.Errorf("chat.postMessage in thread: %w", err)
		}
	}
	return nil
}

// errNotRemembered is a posted approval message whose place could not be
// stored on the deployment.
var errNotRemembered = errors.New("the posted Slack message could not be linked to the deployment")

// post sends the approval message and remembers where it is. An
// errNotRemembered failure must not be retried: that would post a second
// message.
func (s *Service) post(ctx context.Context, d *deploy.Deployment, channel string) (ch, ts string, err error) {
	if s.o.Messages == nil {
		return "", "", errors.New("no message store is configured, so the Slack message cannot be linked to the deployment")
	}
	text, blocks := render(d, s.evidence(ctx, d), s.o.Pages)
	ch, ts, err = s.o.Slack.PostMessageContext(ctx, channel, slack.MsgOptionText(text, false), slack.MsgOptionBlocks(blocks...))
	if err != nil {
		return "", "", fmt.Errorf("chat.postMessage to %s: %w", channel, err)
	}
	if err := s.o.Messages.SetSlackMessage(ctx, d.ID, ch, ts); err != nil {
		s.o.Log.Error("remember slack message", "deployment", d.ID, "err", err)
		return "", "", fmt.Errorf("%w: %w", errNotRemembered, err)
	}
	return ch, ts, nil
}

// evidence reads what the check suite recorded on the deployment's SHA;
// nil when the server cannot tell (the card then links the PR's checks).
func (s *Service) evidence(ctx context.Context, d *deploy.Deployment) *Evidence {
	if s.o.Evidence == nil {
		return nil
	}
	ev, err := s.o.Evidence(ctx, d.InstallationID, d.Repository, d.SHA)
	if err != nil {
		s.o.Log.Warn("check evidence for slack message", "deployment", d.ID, "err", err)
		return nil
	}
	return ev
}

// commentOnce posts body on the deployment's PR; failures are logged.
func (s *Service) commentOnce(ctx context.Context, d *deploy.Deployment, body string) {
	if s.o.Comment == nil {
		s.o.Log.Warn("no PR commenter configured", "deployment", d.ID)
		return
	}
	if err := s.o.Comment(ctx, d.InstallationID, d.Repository, d.PR, body); err != nil {
		s.o.Log.Warn("PR comment about slack", "deployment", d.ID, "err", err)
	}
}

// transientSlackErrors are ok:false answers worth retrying.
var transientSlackErrors = []string{"internal_error", "fatal_error", "service_unavailable", "request_timeout", "ratelimited", "rate_limited"}

// transient reports whether err may go away by itself (5xx, 429, network,
// Slack's own transient errors).
func transient(err error) bool {
	if errors.Is(err, errNotPostedYet) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var code slack.StatusCodeError
	if errors.As(err, &code) {
		return code.Retryable()
	}
	var limited *slack.RateLimitedError
	if errors.As(err, &limited) {
		return true
	}
	var resp slack.SlackErrorResponse
	if errors.As(err, &resp) {
		return slices.Contains(transientSlackErrors, resp.Err)
	}
	var netErr net.Error
	return errors.As(err, &netErr)
}
