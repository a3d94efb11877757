package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/google/go-github/v66/github"
	"github.com/slack-go/slack"

	"github.com/conveyor-dev/conveyor/bot"
	"github.com/conveyor-dev/conveyor/checks"
	"github.com/conveyor-dev/conveyor/checks/prfacts"
	"github.com/conveyor-dev/conveyor/commands"
	"github.com/conveyor-dev/conveyor/deploy"
	"github.com/conveyor-dev/conveyor/deploy/driver"
	"github.com/conveyor-dev/conveyor/deploy/slackapproval"
	"github.com/conveyor-dev/conveyor/internal/mlflow"
	"github.com/conveyor-dev/conveyor/internal/serverconfig"
	"github.com/conveyor-dev/conveyor/policies"
	"github.com/conveyor-dev/conveyor/web"
	"github.com/conveyor-dev/conveyor/web/pageurl"
)

// wireOptions tunes wireApp for serve and the demo.
type wireOptions struct {
	Debounce time.Duration // check-suite coalescing delay (0: the suite's default)
	WorkDir  string        // where drivers check code out (default: the OS temp dir)
	// Auth signs dashboard visitors in; nil serves no dashboard.
	Auth web.Auth
	// PublicURL is the dashboard's address as browsers reach it (default
	// CONVEYOR_PUBLIC_URL): with a dashboard, every check run's details link
	// and each status comment point at its pull request pages there.
	PublicURL string
}

// wiring is every package of the app, connected.
type wiring struct {
	Policy   *policies.Evaluator
	Suite    *checks.Suite
	Engine   *deploy.Engine
	Commands *commands.Handler
	Slack    *slackapproval.Service
}

// forwardNotifier lets the engine be built before the check suite and the
// Slack service that listen to it.
type forwardNotifier struct {
	mu sync.RWMutex
	to []deploy.Notifier
}

func (f *forwardNotifier) add(n deploy.Notifier) {
	f.mu.Lock()
	f.to = append(f.to, n)
	f.mu.Unlock()
}

func (f *forwardNotifier) Changed(ctx context.Context, d *deploy.Deployment, event, detail string) {
	f.mu.RLock()
	to := f.to
	f.mu.RUnlock()
	for _, n := range to {
		n.Changed(ctx, d, event, detail)
	}
}

// readinessNotifier has the check suite evaluate pull requests again when a
// deployment changed what their Readiness and Policy stages say. Its own
// pull request, on every change but a rollout step (waiting for approvals,
// approved, finished, rolled back...). Every open pull request of the
// repository when the deployment takes its environment (created: it holds
// the environment from then on, so the others wait for it) or leaves it (a
// final state), which also changes what serves there and so the team
// quota use the policy reads. The requests are coalesced and debounced
// with any other for the same head.
type readinessNotifier struct {
	suite *checks.Suite
	log   *slog.Logger
}

func (n readinessNotifier) Changed(ctx context.Context, d *deploy.Deployment, event, _ string) {
	var err error
	switch event {
	case "step":
		return
	case "approved", "queued", "started":
		err = n.suite.Refresh(ctx, d.Repository, d.PR)
	default: // created, and the ends: succeeded, failed, rolled_back, cancelled, rejected, expired, voided
		err = n.suite.RefreshRepo(ctx, d.Repository)
	}
	if err != nil {
		n.log.Warn("re-evaluate readiness after a deployment change", "deployment", d.ID, "event", event, "err", err)
	}
}

// wireApp builds the policy evaluator, the check suite, the promotion engine
// with its drivers, the command handlers and the Slack approvals, and
// registers their handlers, workers and routes on srv. It is the one place
// that knows every package.
func wireApp(ctx context.Context, srv *bot.Server, scfg *serverconfig.Config, getenv func(string) string, o wireOptions) (*wiring, error) {
	if o.WorkDir == "" {
		o.WorkDir = os.TempDir()
	}
	w := &wiring{}
	var err error
	w.Policy, err = policies.New(ctx, policies.Options{Dir: scfg.Policies.Dir, Config: scfg, Recorder: auditRecorder{srv.Store}})
	if err != nil {
		return nil, err
	}
	srv.Log.Info("policy loaded", "revision", w.Policy.Revision())
	registry := registries(scfg, getenv)
	mask := serverMasker(scfg, srv.Config, getenv)
	deps := driver.Deps{
		Mask:    mask,
		MLflow:  func(name string) (driver.ModelRegistry, error) { return registry(name) },
		GitHub:  srv.GitHub.Installation,
		Env:     getenv,
		HTTP:    &http.Client{Timeout: time.Minute},
		WorkDir: o.WorkDir,
	}
	var dmu sync.Mutex
	built := map[string]driver.Driver{}
	drivers := func(name string) (driver.Driver, error) {
		dmu.Lock()
		defer dmu.Unlock()
		if d, ok := built[name]; ok {
			return d, nil
		}
		cfg, ok := scfg.Drivers[name]
		if !ok {
			return nil, fmt.Errorf("driver %q is not defined in the server config (drivers:)", name)
		}
		d, err := driver.New(name, cfg, deps)
		if err != nil {
			return nil, err
		}
		built[name] = d
		return d, nil
	}
	for name := range scfg.Drivers {
		if _, err := drivers(name); err != nil {
			return nil, err
		}
	}
	health := func(name string) (driver.HealthChecker, bool) {
		h, ok := scfg.Health[name]
		if !ok {
			return nil, false
		}
		return driver.NewGates(h, deps), true
	}
	notifier := &forwardNotifier{}
	var pages pageurl.Base // no dashboard, no links to it
	if o.Auth != nil {
		if o.PublicURL == "" {
			o.PublicURL = getenv("CONVEYOR_PUBLIC_URL")
		}
		pages = pageurl.Base(o.PublicURL)
	}
	cfg := srv.Config
	var api *slack.Client
	if cfg.SlackBotToken != "" {
		opts := []slack.Option{}
		if cfg.SlackAPIURL != "" {
			opts = append(opts, slack.OptionAPIURL(cfg.SlackAPIURL))
		}
		api = slack.New(cfg.SlackBotToken, opts...)
	}
	w.Engine = deploy.NewEngine(deploy.Options{
		Store: srv.Store, Queue: srv.Queue, GitHub: srv.GitHub.Installation,
		Drivers: drivers, Health: health, Notifier: notifier, Log: srv.Log.With("component", "deploy"),
		ApprovalTTL: scfg.Approvals.ExpireAfter.Duration, Mask: mask, StepTimeout: stepTimeout(scfg),
		Pages: pages,
	})
	w.Engine.Register(srv.Queue.Workers())
	srv.Router.Register(w.Engine.Handler())

	w.Suite = checks.New(checks.Options{
		Server: scfg, Policy: w.Policy, Deployments: w.Engine, Store: srv.Store, Queue: srv.Queue,
		GitHub: srv.GitHub.Installation, Debounce: o.Debounce, Logger: srv.Log.With("component", "checks"),
		Registries: func(name string) (checks.Registry, error) { return registry(name) },
		Pages:      pages,
	})
	w.Suite.Register(srv.Queue.Workers())
	srv.Router.Register(w.Suite.Handler())
	notifier.add(readinessNotifier{suite: w.Suite, log: srv.Log.With("component", "checks")})

	w.Commands = commands.New(commands.Options{
		GitHub: srv.GitHub.Installation, Deployer: w.Engine, Gate: w.Suite, Policy: w.Policy,
		ServerConfig: scfg, Store: srv.Store, Log: srv.Log.With("component", "commands"),
		PRFacts: w.Suite.Facts(), // one PR-facts reader and cache for checks, commands and Slack
	})
	srv.Router.Register(w.Commands)

	if api != nil {
		w.Slack = slackapproval.New(slackapproval.Options{
			Slack: api, Config: scfg, Approvals: w.Engine, Policy: w.Policy, Actors: w.Commands,
			Author:   prAuthor(srv.GitHub.Installation, w.Suite.Facts()),
			Comment:  prCommenter(srv.GitHub.Installation),
			Evidence: cardEvidence(w.Suite), Pages: pages,
			Queue: srv.Queue, Locks: srv.Store.KeyLocks(slackapproval.SlackWriterLocks),
			Log: srv.Log.With("component", "slack"),
		})
		w.Slack.Register(srv.Queue.Workers())
		notifier.add(w.Slack.Notifier())
		srv.HandleSlack(w.Slack.Endpoint())
	}
	if o.Auth != nil {
		if err := mountDashboard(ctx, srv, w, scfg, o.Auth); err != nil {
			return nil, err
		}
	}
	return w, nil
}

// registries builds one MLflow client per registry of the server config.
func registries(scfg *serverconfig.Config, getenv func(string) string) func(name string) (*mlflow.Client, error) {
	return mlflow.Registries(scfg.Registries, getenv)
}

// prAuthor looks up who opened a PR through the shared PR-facts reader (a
// PR's author never changes: the commands already learned most of them).
func prAuthor(gh func(int64) (*github.Client, error), facts *prfacts.Service) slackapproval.PRAuthor {
	return func(ctx context.Context, installationID int64, repo string, pr int) (string, error) {
		c, err := gh(installationID)
		if err != nil {
			return "", err
		}
		return facts.Author(ctx, c, repo, pr)
	}
}

func prCommenter(gh func(int64) (*github.Client, error)) slackapproval.PRCommenter {
	return func(ctx context.Context, installationID int64, repo string, pr int, body string) error {
		c, err := gh(installationID)
		if err != nil {
			return err
		}
		owner, name := splitFullName(repo)
		_, _, err = c.Issues.CreateComment(ctx, owner, name, pr, &github.IssueComment{Body: &body})
		return err
	}
}

func splitFullName(full string) (string, string) {
	owner, name, _ := strings.Cut(full, "/")
	return owner, name
}

// cardEvidence reads what the check suite recorded on a SHA for the Slack
// approval card.
func cardEvidence(s *checks.Suite) slackapproval.EvidenceFunc {
	return func(ctx context.Context, _ int64, repo, sha string) (*slackapproval.Evidence, error) {
		gate, cards, err := s.Cards(ctx, repo, sha)
		if err != nil {
			return nil, err
		}
		ev := &slackapproval.Evidence{Gate: gate, Artifacts: map[string]slackapproval.ArtifactEvidence{}}
		for name, c := range cards {
			ev.Artifacts[name] = slackapproval.ArtifactEvidence{Conclusion: c.Conclusion, Title: c.Title, Lines: c.Lines,
				Candidate: c.Candidate, Serving: c.Serving, MonthlyUSD: c.Cost.MonthlyUSD, DeltaUSD: c.Cost.DeltaUSD}
		}
		return ev, nil
	}
}

// stepTimeout is how long a rollout step job may run before the queue
// presumes its worker dead: room for the slowest configured driver to
// deploy, pass its health gate and roll back (three of its timeouts), plus
// the longest metric gate bake, and never less than deploy.DefaultStepTimeout.
func stepTimeout(scfg *serverconfig.Config) time.Duration {
	longest, bake := time.Duration(0), time.Duration(0)
	for _, d := range scfg.Drivers {
		longest = max(longest, d.Timeout.Duration)
	}
	for _, h := range scfg.Health {
		bake = max(bake, h.Bake.Duration+h.Every.Duration)
	}
	return max(deploy.DefaultStepTimeout, 3*longest+bake)
}

// The handlers take the events the router decodes once per delivery.
var (
	_ bot.DecodedHandler = (*deploy.Handler)(nil)
	_ bot.DecodedHandler = (*commands.Handler)(nil)
	_ bot.DecodedHandler = (*checks.Handler)(nil)
)
