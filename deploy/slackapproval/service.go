// Package slackapproval owns the Slack side of deployment approvals: the one
// Block Kit message per deployment awaiting approval (posted, updated with
// each approval and outcome, its thread carrying the rollout's progress),
// the durable jobs that talk to Slack, and turning button clicks and the
// reject modal into engine calls after the policy has been asked. It must
// not decide who may approve (the policy does) nor change deployments other
// than through the engine's Approve and Reject.
package slackapproval

import (
	"context"
	"log/slog"
	"time"

	"github.com/riverqueue/river"
	"github.com/slack-go/slack"

	"github.com/conveyor-dev/conveyor/deploy"
	"github.com/conveyor-dev/conveyor/internal/serverconfig"
	"github.com/conveyor-dev/conveyor/internal/store"
	"github.com/conveyor-dev/conveyor/policies"
	"github.com/conveyor-dev/conveyor/web/pageurl"
)

// Action and callback IDs of the approval message and the reject modal.
const (
	ActionApprove = "conveyor_approve"
	ActionReject  = "conveyor_reject"
	// CallbackReject is the reject modal's callback_id.
	CallbackReject = "conveyor_reject"
	// ReasonBlock and ReasonAction identify the modal's reason input.
	ReasonBlock  = "reason"
	ReasonAction = "reason"
)

// Approvals is the part of the promotion engine this package drives.
type Approvals interface {
	Get(ctx context.Context, id int64) (*deploy.Deployment, error)
	Approve(ctx context.Context, id int64, a deploy.Approval) (*deploy.Deployment, error)
	Reject(ctx context.Context, id int64, login, via, reason string) (*deploy.Deployment, error)
}

// MessageStore remembers which Slack message shows a deployment
// (*deploy.Engine implements it with SetSlackMessage).
type MessageStore interface {
	SetSlackMessage(ctx context.Context, id int64, channel, ts string) error
}

// Actors resolves a GitHub login's repository permission and which of teams
// ("org/slug") it belongs to.
type Actors interface {
	ActorFacts(ctx context.Context, installationID int64, repo, login string, teams []string) (policies.Actor, error)
}

// PRCommenter posts a comment on pull request pr of repo.
type PRCommenter func(ctx context.Context, installationID int64, repo string, pr int, body string) error

// PRAuthor returns the login that opened pull request pr of repo; the policy
// needs it to refuse self-approval.
type PRAuthor func(ctx context.Context, installationID int64, repo string, pr int) (string, error)

// Options wires a Service.
type Options struct {
	Slack     *slack.Client
	Config    *serverconfig.Config
	Approvals Approvals
	// Messages stores channel and ts on the deployment; nil uses Approvals
	// when it implements MessageStore (the engine does).
	Messages MessageStore
	Policy   policies.Decider
	Actors   Actors
	Author   PRAuthor
	Comment  PRCommenter
	// Evidence reads what the check suite recorded on a SHA, shown per
	// artifact on the card; nil (or a failure) shows a link to the PR's
	// checks instead.
	Evidence EvidenceFunc
	// Pages links the dashboard's pull request page from the card; the zero
	// Base (no CONVEYOR_PUBLIC_URL) links the pull request on GitHub only.
	Pages pageurl.Base
	Queue *store.Queue
	// Locks serialises the Slack writes and interactions of one deployment
	// across every replica on the database (Store.KeyLocks); nil serialises
	// them within this process only.
	Locks *store.KeyLocks
	Log   *slog.Logger
	Now   func() time.Time
	// Backoff is the wait before retry attempt n (n >= 1) of a Slack job
	// after a transient failure; default 2^n seconds, at most 10 minutes.
	Backoff func(attempt int) time.Duration
}

// Service posts and updates approval messages and handles interactions.
type Service struct {
	o Options
}

// SlackWriterLocks is the Store.KeyLocks space of the Slack writers.
const SlackWriterLocks = 2

// New returns a Service; call Register before the queue starts.
func New(o Options) *Service {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Config == nil {
		o.Config = serverconfig.Default()
	}
	if o.Messages == nil {
		o.Messages, _ = o.Approvals.(MessageStore)
	}
	if o.Backoff == nil {
		o.Backoff = func(n int) time.Duration {
			return min(time.Duration(1<<min(n, 10))*time.Second, 10*time.Minute)
		}
	}
	if o.Locks == nil {
		o.Locks = (*store.Store)(nil).KeyLocks(SlackWriterLocks)
	}
	return &Service{o: o}
}

// Register adds the slack_flush, slack_notify and slack_interaction workers.
func (s *Service) Register(workers *river.Workers) {
	river.AddWorker(workers, &flushWorker{s: s})
	river.AddWorker(workers, &legacyNotifyWorker{s: s})
	river.AddWorker(workers, &interactionWorker{s: s})
}

// Notifier is the engine's Notifier: each change is recorded in the
// deployment's outbox, which a durable job shows in order.
func (s *Service) Notifier() deploy.Notifier { return notifier{s: s} }

// lock serialises Slack writes and interactions of one deployment, across
// replicas when Options.Locks is the store's, so an older rendering never
// overwrites a newer one and a double click is seen as such.
func (s *Service) lock(ctx context.Context, id int64) (func(), error) {
	return s.o.Locks.Lock(ctx, id)
}

// channelFor is the Slack channel of environment env, or "".
func (s *Service) channelFor(env string) string { return s.o.Config.Slack.Channels[env] }

// SetApprovals binds the engine after New, for wiring where the engine is
// built with this Service's Notifier; call it before the queue starts.
func (s *Service) SetApprovals(a Approvals) {
	s.o.Approvals = a
	if m, ok := a.(MessageStore); ok && s.o.Messages == nil {
		s.o.Messages = m
	}
}
