// Package deploy is the promotion engine: it owns deployments and their
// states (awaiting_approval -> queued -> in_progress -> succeeded | failed ->
// rolled_back, plus cancelled, rejected, expired), environment locks,
// approvals, rollout steps with health gates, automatic rollback, and how a
// deployment is mirrored to GitHub (Deployments, statuses and one PR status
// comment). Every transition is one transaction with its audit event and the
// work runs as durable river jobs, so a restart resumes where it stopped.
// It must not decide whether a deployment is allowed (that is the policy,
// whose decision the caller passes in) nor know how an artifact is deployed
// (that is deploy/driver).
package deploy

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/go-github/v66/github"
	"github.com/riverqueue/river"

	"github.com/conveyor-dev/conveyor/deploy/driver"
	"github.com/conveyor-dev/conveyor/internal/secretmask"
	"github.com/conveyor-dev/conveyor/internal/store"
	"github.com/conveyor-dev/conveyor/policies"
	"github.com/conveyor-dev/conveyor/web/pageurl"
)

// Notifier is told about every change of a deployment (the Slack approvals
// code implements it). Event is one of created, approved, queued, step,
// succeeded, failed, rolled_back, cancelled, rejected, expired, voided.
type Notifier interface {
	Changed(ctx context.Context, d *Deployment, event string, detail string)
}

// Options wires the engine to its store, queue, GitHub and drivers.
type Options struct {
	Store  *store.Store
	Queue  *store.Queue
	GitHub func(installationID int64) (*github.Client, error) // nil: no GitHub mirroring
	// Drivers returns the configured driver called name.
	Drivers func(name string) (driver.Driver, error)
	// Health returns the server's health gate for a driver, if one is configured.
	Health      func(driverName string) (driver.HealthChecker, bool)
	Notifier    Notifier // may be nil
	Log         *slog.Logger
	Now         func() time.Time
	ApprovalTTL time.Duration // default 24h
	// Parallel bounds how many artifacts of one step deploy at once (default 4).
	Parallel int
	// Mask hides the server's secrets in driver output and failure text
	// before they are stored, audited or posted (PR comment, Slack, GitHub
	// statuses). nil masks token shapes only.
	Mask *secretmask.Masker
	// StepTimeout bounds one rollout step job: its drivers, health gates and,
	// after a failure, the rollback (default DefaultStepTimeout). A step
	// whose worker died is run again only after it, never while it may
	// still be deploying; see docs/operations.md.
	StepTimeout time.Duration
	// Pages is the dashboard's public address: the PR status comment links
	// the pull request page. Empty: no link.
	Pages pageurl.Base
}

// DefaultStepTimeout is the default StepTimeout: room for a driver call at
// its default 10-minute timeout, its health gate and a rollback.
const DefaultStepTimeout = 30 * time.Minute

// Engine runs deployments. It is safe for concurrent use.
type Engine struct {
	o         Options
	pollEvery time.Duration // how often a running step looks for a cancel
	// writers lets one writer at a time, across replicas, create a
	// deployment's GitHub Deployments and create or edit its comment, so an
	// older rendering never overwrites a newer one and nothing is created
	// twice.
	writers *store.KeyLocks
	// order orders each deployment's changes with their notification (inOrder).
	order *store.KeyLocks
}

// NewEngine returns an engine; call Register before the queue starts.
func NewEngine(o Options) *Engine {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.ApprovalTTL <= 0 {
		o.ApprovalTTL = 24 * time.Hour
	}
	if o.Parallel <= 0 {
		o.Parallel = 4
	}
	if o.StepTimeout <= 0 {
		o.StepTimeout = DefaultStepTimeout
	}
	return &Engine{o: o, pollEvery: time.Second, writers: o.Store.KeyLocks(githubWriterLocks), order: o.Store.KeyLocks(changeOrderLocks)}
}

// Register adds the engine's river workers; call it before Queue.Start.
func (e *Engine) Register(workers *river.Workers) {
	river.AddWorker(workers, &stepWorker{e: e})
	river.AddWorker(workers, &expireWorker{e: e})
	river.AddWorker(workers, &commentSyncWorker{e: e})
}

// ArtifactPlan is one artifact a request deploys.
type ArtifactPlan struct {
	Name   string
	Kind   string // a registered kind: app, model, dbt, ...
	Driver string // configured driver name
	// Spec is the kind's payload for the driver (driver.Target.Spec); nil
	// when the kind has none.
	Spec    json.RawMessage
	Summary string // one line for users, e.g. "fraud-detector v14 (auc 0.935)"
	// Owners and Resources are what the base config says of the artifact.
	// The deployment records them, so that a team's quota counts what it
	// runs in every repository (RunningElsewhere).
	Owners    []string
	Resources policies.Resources
}

// Request asks for a deployment (or, through Rollback, a rollback).
type Request struct {
	Repository     string
	InstallationID int64
	PR             int
	PRTitle, PRURL string
	HeadSHA        string
	HeadRef        string
	BaseRef        string
	Environment    string
	Production     bool
	Requester      string
	// SourceKey names what asked, e.g. "comment:123456": a redelivered
	// comment must never start a second deployment.
	SourceKey string
	Artifacts []ArtifactPlan
	Steps     []int // rollout percentages, e.g. [10, 50, 100]; empty means [100]
	Pause     time.Duration
	Quorum    Quorum
	Decision  string // the policy decision text, for the audit and the comment
}

// ArtifactState is one artifact of a deployment and how far it got.
type ArtifactState struct {
	Name               string
	Kind               string
	Driver             string
	Summary            string
	SHA                string          // what it deploys; a rollback's target SHA
	Spec               json.RawMessage // the kind's payload for the driver
	GitHubDeploymentID int64
	Previous           string // what served before; what a rollback restores
	Serving            string
	State              string // pending, in_progress, succeeded, failed, rolling_back, rolled_back, rollback_failed, cancelled
	Output             string // the driver's output tail
}

// Deployment is a deployment as the engine reports it.
type Deployment struct {
	ID             int64
	Repository     string
	InstallationID int64
	PR             int
	PRTitle, PRURL string
	SHA, Ref       string
	Environment    string
	Production     bool
	Mode           string // deploy or rollback
	State          string
	Step           int // index into Steps of the step running or next
	Steps          []int
	Pause          time.Duration
	Requester      string
	Artifacts      []ArtifactState
	Approvals      []Approval
	Quorum         Quorum
	Decision       string
	CommentID      int64
	SlackChannel   string
	SlackTS        string
	Error          string
	CreatedAt      time.Time
	UpdatedAt      time.Time
	// ExpiresAt is when a deployment awaiting approval expires (zero in
	// any other state).
	ExpiresAt time.Time
	// Existing is true when Start found the deployment already started by
	// the same source (a redelivered comment).
	Existing bool
}

// encodeSpec stores a kind's payload under the kind's name ({"model":
// {...}}), so a row says whose payload it holds; nil stores {}.
func encodeSpec(kind string, spec json.RawMessage) string {
	if len(spec) == 0 {
		return "{}"
	}
	b, err := json.Marshal(map[string]json.RawMessage{kind: spec})
	if err != nil {
		return "{}"
	}
	return string(b)
}

// decodeSpec reads back what encodeSpec stored for kind.
func decodeSpec(kind, stored string) json.RawMessage {
	var m map[string]json.RawMessage
	if json.Unmarshal([]byte(stored), &m) != nil {
		return nil
	}
	return m[kind]
}

func fromRow(r *store.DeploymentRow) *Deployment {
	d := &Deployment{
		ID: r.ID, Repository: r.Repository, InstallationID: r.InstallationID, PR: r.PR, PRTitle: r.PRTitle, PRURL: r.PRURL,
		SHA: r.SHA, Ref: r.Ref, Environment: r.Environment, Production: r.Production, Mode: r.Mode, State: r.State,
		Step: r.Step, Steps: r.Steps, Pause: r.Pause, Requester: r.Requester, Decision: r.Decision, CommentID: r.CommentID,
		SlackChannel: r.SlackChannel, SlackTS: r.SlackTS, Error: r.Error, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}
	_ = json.Unmarshal([]byte(r.Quorum), &d.Quorum)
	for _, a := range r.Artifacts {
		d.Artifacts = append(d.Artifacts, ArtifactState{
			Name: a.Name, Kind: a.Kind, Driver: a.Driver, Summary: a.Summary, SHA: a.SHA, Spec: decodeSpec(a.Kind, a.Spec),
			GitHubDeploymentID: a.GitHubDeploymentID, Previous: a.Previous, Serving: a.Serving, State: a.State, Output: a.Output,
		})
	}
	for _, a := range r.Approvals {
		d.Approvals = append(d.Approvals, Approval{Login: a.Login, Via: a.Via, SHA: a.SHA, At: a.At, Teams: a.Teams})
	}
	return d
}

// Get returns deployment id.
func (e *Engine) Get(ctx context.Context, id int64) (*Deployment, error) {
	r, err := store.LoadDeployment(ctx, e.o.Store.DB, id)
	if err != nil {
		return nil, err
	}
	d := fromRow(r)
	if d.State == StateAwaitingApproval {
		d.ExpiresAt = r.Expiry(e.o.ApprovalTTL)
	}
	return d, nil
}

// SetSlackMessage records the Slack message that shows deployment id, so
// approvals can update it and the rollout can reply in its thread.
func (e *Engine) SetSlackMessage(ctx context.Context, id int64, channel, ts string) error {
	return store.SetDeploymentSlack(ctx, e.o.Store.DB, id, channel, ts)
}

// inTx runs fn on deployment id, read inside one transaction.
func (e *Engine) inTx(ctx context.Context, id int64, fn func(tx *sql.Tx, d *store.DeploymentRow) error) error {
	return e.o.Store.Tx(ctx, func(tx *sql.Tx) error {
		d, err := store.LoadDeployment(ctx, tx, id)
		if err != nil {
			return err
		}
		return fn(tx, d)
	})
}

// changed tells the notifier and refreshes the PR comment after a commit.
// GitHub and Slack failures are logged, never returned: the database is the
// truth. A comment GitHub did not take is retried by a job of its own
// (commentSyncArgs), so the last change is shown too.
func (e *Engine) changed(ctx context.Context, id int64, event, detail string) *Deployment {
	detail = e.o.Mask.String(detail)
	d, err := e.Get(ctx, id)
	if err != nil {
		e.o.Log.Warn("reload deployment", "deployment", id, "err", err)
		return nil
	}
	if err := e.syncComment(ctx, d); err != nil {
		e.o.Log.Warn("status comment", "deployment", id, "err", err)
		e.retryComment(ctx, id, err)
	}
	if e.o.Notifier != nil {
		e.o.Notifier.Changed(ctx, d, event, detail)
	}
	return d
}

// githubWriterLocks is the KeyLocks space of the engine's GitHub writers.
const githubWriterLocks = 1

func fmtID(id int64) string { return fmt.Sprintf("deployment %d", id) }
