package commands

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-github/v66/github"

	"github.com/conveyor-dev/conveyor/checks"
	"github.com/conveyor-dev/conveyor/deploy"
	"github.com/conveyor-dev/conveyor/internal/ghfake"
	"github.com/conveyor-dev/conveyor/internal/serverconfig"
	"github.com/conveyor-dev/conveyor/internal/store"
	"github.com/conveyor-dev/conveyor/internal/store/storetest"
	"github.com/conveyor-dev/conveyor/policies"
)

const (
	testRepo = "acme/shop"
	testInst = int64(11)
)

const baseConfig = `version: 1
artifacts:
  web:
    kind: app
    paths: ["services/web/**"]
    owners: ["@acme/web"]
    deploy: {driver: web-argo}
  fraud-model:
    kind: model
    pointer: models/fraud.yaml
    owners: ["@acme/ml"]
    deploy: {driver: mlflow}
environments:
  staging: {}
  production:
    requires: [staging]
    approvals: {count: 2, from: ["@acme/sre"]}
    rollout: {steps: [10, 50, 100], pause: 2m}
`

func strp(s string) *string { return &s }

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }

// fakeGate is the conveyor check conclusion per SHA.
type fakeGate struct {
	mu        sync.Mutex
	m         map[string]string
	evidence  map[string]gateEvidence
	refreshed []string // repositories RefreshRepo was asked for
}

// RefreshRepo records that the repository's checks were asked to be
// evaluated again.
func (g *fakeGate) RefreshRepo(_ context.Context, repo string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.refreshed = append(g.refreshed, repo)
	return nil
}

// gateEvidence is what fakeGate's Evidence answers for a SHA.
type gateEvidence struct {
	ev          map[string]policies.Evidence
	overridable bool
}

func (g *fakeGate) setEvidence(sha string, ev map[string]policies.Evidence, overridable bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.evidence == nil {
		g.evidence = map[string]gateEvidence{}
	}
	g.evidence[sha] = gateEvidence{ev, overridable}
}

func (g *fakeGate) set(sha, c string) { g.mu.Lock(); defer g.mu.Unlock(); g.m[sha] = c }

// GateStatus answers what set and setEvidence recorded for sha; every SHA
// it knows selects models for no artifact (dbt builds everything).
func (g *fakeGate) GateStatus(_ context.Context, _, sha string) (checks.GateStatus, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	ge := g.evidence[sha]
	return checks.GateStatus{Conclusion: g.m[sha], Evidence: ge.ev, Overridable: ge.overridable}, nil
}

// fakeDeployer records what the commands ask of the engine. Start and
// Rollback deduplicate by SourceKey like the engine does.
type fakeDeployer struct {
	mu        sync.Mutex
	starts    []deploy.Request
	rollbacks []deploy.Request
	bySource  map[string]*deploy.Deployment
	approvals []deploy.Approval
	rejects   []string
	cancels   int
	locks     []string
	unlocks   []string
	lockErr   *deploy.LockedError
	last      map[string]map[string]string // env -> artifact -> sha
	report    deploy.StatusReport
	fleet     []string // RunningElsewhere calls: "repo env"
}

func newFakeDeployer() *fakeDeployer {
	return &fakeDeployer{bySource: map[string]*deploy.Deployment{}, last: map[string]map[string]string{}}
}

func (f *fakeDeployer) begin(r deploy.Request, list *[]deploy.Request) (*deploy.Deployment, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	*list = append(*list, r)
	if d, ok := f.bySource[r.SourceKey]; ok {
		cp := *d
		cp.Existing = true
		return &cp, nil
	}
	if f.lockErr != nil {
		return nil, f.lockErr
	}
	d := &deploy.Deployment{ID: int64(len(f.bySource) + 1), Repository: r.Repository, PR: r.PR, SHA: r.HeadSHA, Environment: r.Environment, State: "queued", Requester: r.Requester}
	f.bySource[r.SourceKey] = d
	return d, nil
}

func (f *fakeDeployer) Start(_ context.Context, r deploy.Request) (*deploy.Deployment, error) {
	return f.begin(r, &f.starts)
}
func (f *fakeDeployer) Rollback(_ context.Context, r deploy.Request) (*deploy.Deployment, error) {
	return f.begin(r, &f.rollbacks)
}
func (f *fakeDeployer) Approve(_ context.Context, id int64, a deploy.Approval) (*deploy.Deployment, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.approvals = append(f.approvals, a)
	return &deploy.Deployment{ID: id}, nil
}
func (f *fakeDeployer) Reject(_ context.Context, id int64, login, via, reason string) (*deploy.Deployment, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rejects = append(f.rejects, fmt.Sprintf("%d %s %s %s", id, login, via, reason))
	return &deploy.Deployment{ID: id, State: "rejected"}, nil
}
func (f *fakeDeployer) Cancel(_ context.Context, repo string, pr int, login string) ([]*deploy.Deployment, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cancels++
	var out []*deploy.Deployment
	for _, d := range f.bySource {
		if d.PR == pr {
			d.State = "cancelled"
			out = append(out, d)
		}
	}
	return out, nil
}
func (f *fakeDeployer) Lock(_ context.Context, repo, env string, pr int, login, reason string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.locks = append(f.locks, fmt.Sprintf("%s #%d @%s %s", env, pr, login, reason))
	return nil
}
func (f *fakeDeployer) Unlock(_ context.Context, repo, env, login string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.unlocks = append(f.unlocks, env+" @"+login)
	return nil
}
func (f *fakeDeployer) Status(context.Context, string) (*deploy.StatusReport, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.report
	return &r, nil
}

// RunningElsewhere makes the fake a policies.Fleet: no other repository
// runs anything; the calls are recorded.
func (f *fakeDeployer) RunningElsewhere(_ context.Context, repo, env string) ([]policies.Artifact, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fleet = append(f.fleet, repo+" "+env)
	return nil, nil
}

func (f *fakeDeployer) fleetAsked() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.fleet)
}

func (f *fakeDeployer) LastSucceeded(_ context.Context, _, env string) (map[string]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.last[env], nil
}

// env is one test's world: GitHub, the store, the real policy and the fakes.
type env struct {
	t     *testing.T
	gh    *ghfake.Server
	h     *Handler
	dep   *fakeDeployer
	gate  *fakeGate
	clock *clock
	store *store.Store
	n     int
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvConfig(t, serverconfig.Default())
}

// newEnvConfig is newEnv with a server config of the test's own.
func newEnvConfig(t *testing.T, scfg *serverconfig.Config) *env {
	t.Helper()
	return newEnvOn(t, scfg, storetest.Open(t, store.SQLite))
}

// newEnvOn is newEnvConfig on a store of the test's own.
func newEnvOn(t *testing.T, scfg *serverconfig.Config, st *store.Store) *env {
	t.Helper()
	ctx := context.Background()
	gh := ghfake.NewTest(t)
	gh.AddRepo(testRepo, "main", testInst)
	gh.Commit(testRepo, "main", map[string]*string{
		".github/conveyor.yml": strp(baseConfig),
		"services/web/main.go": strp("package main\n"),
		"models/fraud.yaml":    strp("registry: main\nmodel: fraud-detector\nversion: \"13\"\n"),
		"README.md":            strp("shop\n"),
	}, "config")
	pol, err := policies.New(ctx, policies.Options{Config: scfg})
	if err != nil {
		t.Fatalf("policy: %v", err)
	}
	e := &env{t: t, gh: gh, dep: newFakeDeployer(), gate: &fakeGate{m: map[string]string{}},
		clock: &clock{t: time.Now().Add(-time.Hour)}, store: st}
	e.h = New(Options{
		GitHub:   func(id int64) (*github.Client, error) { return gh.InstallationClient(id) },
		Deployer: e.dep, Gate: e.gate, Policy: pol, ServerConfig: scfg, Store: e.store, Now: e.clock.Now,
	})
	return e
}

// openPR commits files on a new branch, opens a PR by author and delivers
// pull_request.opened; the gate is green on its head.
func (e *env) openPR(branch, author string, files map[string]*string, opts ...ghfake.PROption) *ghfake.PR {
	e.t.Helper()
	e.gh.Commit(testRepo, branch, files, "change")
	pr := e.gh.OpenPR(testRepo, branch, "main", "a change", author, opts...)
	e.send("pull_request.opened", e.gh.PullRequestEvent("opened", pr))
	e.gate.set(pr.HeadSHA, "success")
	return pr
}

// send hands a ghfake payload to the handler as the router would.
func (e *env) send(eventType string, payload map[string]any) string {
	e.t.Helper()
	b, err := json.Marshal(payload)
	if err != nil {
		e.t.Fatal(err)
	}
	e.n++
	id := fmt.Sprintf("delivery-%d", e.n)
	if err := e.h.Handle(context.Background(), eventType, id, b); err != nil {
		e.t.Fatalf("Handle %s: %v", eventType, err)
	}
	return id
}

// handle hands a payload to the handler under a delivery ID of the test's
// choice and returns the handler's error (a retry is the same ID again).
func (e *env) handle(eventType, deliveryID string, payload map[string]any) error {
	e.t.Helper()
	b, err := json.Marshal(payload)
	if err != nil {
		e.t.Fatal(err)
	}
	return e.h.Handle(context.Background(), eventType, deliveryID, b)
}

// comment writes body on pr as login and delivers it; it returns the
// comment ID.
func (e *env) comment(pr *ghfake.PR, login, body string) int64 {
	e.t.Helper()
	id, payload := e.gh.CommentOnPR(testRepo, pr.Number, login, body)
	e.send("issue_comment.created", payload)
	return id
}

func (e *env) reactions(id int64) string {
	var out []string
	for _, r := range e.gh.Reactions(testRepo, id) {
		out = append(out, r.Content)
	}
	return strings.Join(out, ",")
}

// replies are the bot's comments on pr.
func (e *env) replies(pr *ghfake.PR) []string {
	var out []string
	for _, c := range e.gh.Comments(testRepo, pr.Number) {
		if strings.HasSuffix(c.Login, "[bot]") {
			out = append(out, c.Body)
		}
	}
	return out
}

func (e *env) oneReply(pr *ghfake.PR) string {
	e.t.Helper()
	r := e.replies(pr)
	if len(r) != 1 {
		e.t.Fatalf("got %d replies, want 1: %q", len(r), r)
	}
	return r[0]
}

func (e *env) starts() []deploy.Request {
	e.dep.mu.Lock()
	defer e.dep.mu.Unlock()
	return append([]deploy.Request(nil), e.dep.starts...)
}

func webChange() map[string]*string {
	return map[string]*string{"services/web/main.go": strp("package main\n\nfunc main() {}\n")}
}

func mustContain(t *testing.T, got string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(got, w) {
			t.Fatalf("reply does not contain %q:\n%s", w, got)
		}
	}
}

func itoa(n int64) string { return fmt.Sprint(n) }

func fmtInts(xs []int) string { return fmt.Sprint(xs) }

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func join(xs []string) string { return strings.Join(xs, ",") }
