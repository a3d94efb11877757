package checks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/google/go-github/v66/github"

	"github.com/conveyor-dev/conveyor/checks/prfacts"
	"github.com/conveyor-dev/conveyor/internal/mlflow"
	"github.com/conveyor-dev/conveyor/internal/serverconfig"
	"github.com/conveyor-dev/conveyor/internal/store"
	"github.com/conveyor-dev/conveyor/policies"
	"github.com/conveyor-dev/conveyor/web/pageurl"
)

// Options configure a Suite. Only Server is needed for Evaluate; the
// webhook Handler and the worker also need Store, Queue and GitHub.
type Options struct {
	Server *serverconfig.Config // registries, drivers, pricing; nil means serverconfig.Default()
	// NoServerConfig says Server is a stand-in, not the deployment's config
	// (conveyor check without --config): the drivers, registries, team
	// quotas and pricing it would define are unknown, so what only they can
	// resolve is reported as not checked instead of failing.
	NoServerConfig bool
	Policy         policies.Decider // nil: the Policy stage says "no policy configured"
	Deployments    Deployments      // nil: nothing is known to serve anywhere
	Store          *store.Store
	Queue          *store.Queue
	// GitHub returns a client authenticated as an installation.
	GitHub func(installationID int64) (*github.Client, error)
	// Registries overrides how a registry named in the server config is
	// reached (tests point it at an emulator); nil builds MLflow clients
	// from Server.Registries.
	Registries func(name string) (Registry, error)
	// Debounce is how long a job waits before reading what was requested, so
	// bursts of events coalesce into one evaluation (default 1s).
	Debounce time.Duration
	// RetryDelay is how long after an evaluation that could not reach a
	// registry the PR is evaluated again (default 1 minute). Without a Queue
	// (conveyor check) such an evaluation fails and says to run it again.
	RetryDelay time.Duration
	// MaxWait bounds how long a check keeps waiting on its own timed
	// re-evaluations (a registry down, a CI run not uploaded yet), counted
	// from the first evaluation that waited (default DefaultMaxWait). Past
	// it the check fails with what it waited for; a Re-run starts afresh.
	MaxWait time.Duration
	// Facts is the PR-facts reader shared with the commands and the Slack
	// approvals; nil makes one with the server config's drivers.
	Facts *prfacts.Service
	// Pages is the dashboard's public address (CONVEYOR_PUBLIC_URL): every
	// check run links its pull request page (the artifact's section) as its
	// details_url. Empty: no details link.
	Pages  pageurl.Base
	Logger *slog.Logger
	Now    func() time.Time
}

// DefaultMaxWait is how long a check waits on its own re-evaluations
// before it fails and asks for a Re-run.
const DefaultMaxWait = time.Hour

// Suite is the check suite: the pure evaluation engine plus the webhook
// handler and worker that run it on pull requests.
type Suite struct {
	o       Options
	drivers map[string]bool

	clients func(name string) (*mlflow.Client, error) // one client per registry, built by mlflow.FromConfig

	// facts reads PR facts; SHA-addressed answers are cached there, shared
	// with the commands and the Slack approvals.
	facts *prfacts.Service

	writing [64]sync.Mutex // striped by repo@sha: one writer per SHA at a time in this process

	afterEvaluate func() // test hook: runs between evaluating and claiming the write
}

// New returns a Suite.
func New(o Options) *Suite {
	if o.Server == nil {
		o.Server = serverconfig.Default()
	}
	if o.Debounce <= 0 {
		o.Debounce = time.Second
	}
	if o.RetryDelay <= 0 {
		o.RetryDelay = time.Minute
	}
	if o.MaxWait <= 0 {
		o.MaxWait = DefaultMaxWait
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	s := &Suite{o: o, drivers: map[string]bool{}, clients: mlflow.Registries(o.Server.Registries, os.Getenv)}
	for name := range o.Server.Drivers {
		s.drivers[name] = true
	}
	if o.NoServerConfig {
		s.drivers = nil // nil: drivers are not validated (see repoconfig.Validate)
	}
	s.facts = o.Facts
	if s.facts == nil {
		s.facts = prfacts.New(prfacts.Options{Drivers: s.drivers})
	}
	return s
}

// registry returns the client of a registry named in the server config.
func (s *Suite) registry(name string) (Registry, error) {
	if s.o.Registries != nil {
		return s.o.Registries(name)
	}
	if _, ok := s.o.Server.Registries[name]; !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownRegistry, name)
	}
	c, err := s.clients(name)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// GateConclusion returns the stored state of the `conveyor` gate on a SHA:
// its conclusion ("success", "failure") once completed, "in_progress" while
// it waits, and "" when the SHA was never evaluated.
func (s *Suite) GateConclusion(ctx context.Context, repo, sha string) (string, error) {
	if s.o.Store == nil {
		return "", errors.New("gate conclusion: the check suite has no store")
	}
	rs, err := store.CheckResults(ctx, s.o.Store.DB, repo, sha)
	if err != nil {
		return "", err
	}
	g, ok := rs[GateName]
	switch {
	case !ok:
		return "", nil
	case g.Status != StatusCompleted:
		return g.Status, nil
	}
	return g.Conclusion, nil
}

// GateStatus is what the last evaluation of a SHA recorded, read at once
// for a command: the gate's state, what each artifact's evaluation found and
// what a deploy of it selects.
type GateStatus struct {
	// Conclusion is the gate's conclusion once completed ("success",
	// "failure"), its status while it waits ("in_progress"), and "" when the
	// SHA was never evaluated.
	Conclusion string
	// Evidence is what each artifact's evaluation found: the policy input's
	// evidence, by artifact name.
	Evidence map[string]policies.Evidence
	// Overridable is true when a failed gate failed only on findings the
	// policy's quality gates judge: every failed artifact check failed on its
	// Quality stage alone (a model metric, a dbt contract break, untested
	// models). /deploy then lets the policy decide (production is denied
	// unless an override team asks) instead of refusing outright.
	Overridable bool
	// Selections is what a deploy of each artifact selects (for dbt: the
	// modified and added models); an artifact without an entry builds
	// everything.
	Selections map[string][]string
}

// GateStatus reads what the last evaluation of sha recorded, in one query.
func (s *Suite) GateStatus(ctx context.Context, repo, sha string) (GateStatus, error) {
	if s.o.Store == nil {
		return GateStatus{}, errors.New("gate status: the check suite has no store")
	}
	rs, err := store.CheckResults(ctx, s.o.Store.DB, repo, sha)
	if err != nil {
		return GateStatus{}, err
	}
	st := GateStatus{Evidence: map[string]policies.Evidence{}, Selections: map[string][]string{}}
	if g, ok := rs[GateName]; ok {
		st.Conclusion = g.Status
		if g.Status == StatusCompleted {
			st.Conclusion = g.Conclusion
		}
	}
	failed, overridable := 0, true
	for _, r := range rs {
		if r.Artifact == "" {
			continue
		}
		switch {
		case r.Status != StatusCompleted:
			overridable = false // still evaluating: the gate is not settled
		case r.Conclusion == Failure:
			failed++
			overridable = overridable && r.Overridable
		}
		if r.Selection != nil {
			st.Selections[r.Artifact] = r.Selection
		}
		if r.Evidence == "" {
			continue
		}
		var ev policies.Evidence
		if err := json.Unmarshal([]byte(r.Evidence), &ev); err != nil {
			return GateStatus{}, fmt.Errorf("evidence of %s on %s@%s: %w", r.Artifact, repo, sha, err)
		}
		st.Evidence[r.Artifact] = ev
	}
	st.Overridable = st.Conclusion == Failure && failed > 0 && overridable
	return st, nil
}

// Facts is the suite's PR-facts reader, to share with the commands and the
// Slack approvals.
func (s *Suite) Facts() *prfacts.Service { return s.facts }
