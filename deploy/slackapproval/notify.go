package slackapproval

import (
	"context"
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

// NotifyArgs is the slack_notify job: one change of one deployment to show
// in Slack. Step and Percent are the rollout step when the change happened.
type NotifyArgs struct {
	DeploymentID int64  `json:"deployment_id"`
	Event        string `json:"event"`
	Detail       string `json:"detail,omitempty"`
	Step         int    `json:"step,omitempty"`
	Percent      int    `json:"percent,omitempty"`
}

// Kind names the job for river.
func (NotifyArgs) Kind() string { return "slack_notify" }

// notifier turns engine changes into slack_notify jobs, so a Slack outage
// never slows or fails a transition.
type notifier struct{ s *Service }

// Changed enqueues the change; a failed insert is logged (the next change
// renders the whole message again).
func (n notifier) Changed(ctx context.Context, d *deploy.Deployment, event, detail string) {
	a := NotifyArgs{DeploymentID: d.ID, Event: event, Detail: detail, Step: d.Step}
	if d.Step >= 0 && d.Step < len(d.Steps) {
		a.Percent = d.Steps[d.Step]
	}
	if _, err := n.s.o.Queue.Insert(ctx, a, nil); err != nil {
		n.s.o.Log.Warn("enqueue slack notification", "deployment", d.ID, "event", event, "err", err)
	}
}

type notifyWorker struct {
	river.WorkerDefaults[NotifyArgs]
	s *Service
}

// NextRetry backs off after a transient Slack failure.
func (w *notifyWorker) NextRetry(job *river.Job[NotifyArgs]) time.Time {
	return time.Now().Add(w.s.o.Backoff(job.Attempt))
}

// errNotPostedYet makes a change wait for the approval message it updates.
var errNotPostedYet = errors.New("the approval message is not posted yet")

// Work shows the change in Slack. Transient failures are retried; on the
// first failure to post an approval request the PR is told that /approve
// works meanwhile.
func (w *notifyWorker) Work(ctx context.Context, job *river.Job[NotifyArgs]) error {
	s, a := w.s, job.Args
	unlock, err := s.lock(ctx, a.DeploymentID)
	if err != nil {
		return err // retried: the lock could not be taken now
	}
	defer unlock()
	d, err := s.o.Approvals.Get(ctx, a.DeploymentID)
	if errors.Is(err, store.ErrNotFound) {
		return river.JobCancel(fmt.Errorf("deployment %d no longer exists", a.DeploymentID))
	}
	if err != nil {
		return err
	}
	err = s.deliver(ctx, d, a)
	if err == nil {
		return nil
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
	return river.JobCancel(err)
}

// deliver posts or updates the approval message of d for change a.
func (s *Service) deliver(ctx context.Context, d *deploy.Deployment, a NotifyArgs) error {
	if d.SlackTS == "" {
		if d.Quorum.Needed() == 0 {
			return nil // no approvals, no approval message to follow
		}
		channel := s.channelFor(d.Environment)
		if a.Event != "created" {
			if channel == "" {
				return nil
			}
			return errNotPostedYet
		}
		if channel == "" {
			s.commentOnce(ctx, d, fmt.Sprintf(
				"No Slack channel is configured for %s (slack.channels in the server config), so approvals go through `/approve %s` on this PR.",
				d.Environment, d.Environment))
			return nil
		}
		return s.post(ctx, d, channel)
	}
	if a.Event == "created" {
		return nil // posted by an earlier attempt
	}
	text, blocks := render(d, s.evidence(ctx, d), s.o.Pages)
	if _, _, _, err := s.o.Slack.UpdateMessageContext(ctx, d.SlackChannel, d.SlackTS,
		slack.MsgOptionText(text, false), slack.MsgOptionBlocks(blocks...)); err != nil {
		return fmt.Errorf("chat.update: %w", err)
	}
	if line := clip(progressText(a), maxMessageText); line != "" {
		if _, _, err := s.o.Slack.PostMessageContext(ctx, d.SlackChannel,
			slack.MsgOptionText(line, false), slack.MsgOptionTS(d.SlackTS)); err != nil {
			return fmt.Errorf("chat.postMessage in thread: %w", err)
		}
	}
	return nil
}

// post sends the approval message and remembers where it is.
func (s *Service) post(ctx context.Context, d *deploy.Deployment, channel string) error {
	text, blocks := render(d, s.evidence(ctx, d), s.o.Pages)
	ch, ts, err := s.o.Slack.PostMessageContext(ctx, channel, slack.MsgOptionText(text, false), slack.MsgOptionBlocks(blocks...))
	if err != nil {
		return fmt.Errorf("chat.postMessage to %s: %w", channel, err)
	}
	if s.o.Messages == nil {
		return errors.New("no message store is configured, so the Slack message cannot be linked to the deployment")
	}
	if err := s.o.Messages.SetSlackMessage(ctx, d.ID, ch, ts); err != nil {
		// Not a Slack error: retrying would post a second message.
		s.o.Log.Error("remember slack message", "deployment", d.ID, "err", err)
		return river.JobCancel(err)
	}
	return nil
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
