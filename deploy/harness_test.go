package deploy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-github/v66/github"

	"github.com/conveyor-dev/conveyor/deploy/driver"
	"github.com/conveyor-dev/conveyor/internal/ghfake"
	"github.com/conveyor-dev/conveyor/internal/store"
	"github.com/conveyor-dev/conveyor/internal/store/storetest"
	"github.com/conveyor-dev/conveyor/internal/testwait"
)

const (
	repo         = "acme/shop"
	installation = 11
)

// call is one driver invocation a fake driver saw.
type call struct {
	Action   string // deploy or rollback
	Artifact string
	Step     int
	Percent  int
	SHA      string
	Previous string
}

// fakeDriver records calls, fails on demand and blocks until released.
type fakeDriver struct {
	mu      sync.Mutex
	calls   []call
	fail    func(t driver.Target) error // deploy fails when it returns an error
	block   func(t driver.Target) bool  // deploy waits for release (or ctx) when true
	release chan struct{}
	started chan string // gets the artifact name when a deploy blocks
	panics  bool
	// baseline is what each artifact's driver reports serving before
	// Conveyor's first deployment (Result.Previous when Target.Previous is "").
	baseline map[string]string
	// manifests is the dbt manifest each artifact's run writes
	// (Result.Manifest).
	manifests map[string][]byte
}

func newFakeDriver() *fakeDriver {
	return &fakeDriver{release: make(chan struct{}), started: make(chan string, 16)}
}

func (f *fakeDriver) record(action string, t driver.Target) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call{Action: action, Artifact: t.Artifact, Step: t.Step, Percent: t.Percent, SHA: t.SHA, Previous: t.Previous})
}

func (f *fakeDriver) Deploy(ctx context.Context, t driver.Target, log driver.Logger) (driver.Result, error) {
	f.record("deploy", t)
	if f.panics {
		panic("driver bug")
	}
	if f.block != nil && f.block(t) {
		f.started <- t.Artifact
		select {
		case <-f.release:
		case <-ctx.Done():
			return driver.Result{Output: "interrupted\n"}, ctx.Err()
		}
	}
	if f.fail != nil {
		if err := f.fail(t); err != nil {
			return driver.Result{Output: "step 1 ok\nERROR: " + err.Error() + "\n"}, err
		}
	}
	serving := t.SHA
	if m := t.ModelRef(); m != nil {
		serving = m.Version
	}
	prev := t.Previous
	if prev == "" {
		f.mu.Lock()
		prev = f.baseline[t.Artifact]
		f.mu.Unlock()
	}
	f.mu.Lock()
	manifest := f.manifests[t.Artifact]
	f.mu.Unlock()
	return driver.Result{Serving: serving, Previous: prev, Output: fmt.Sprintf("deployed %s at %d%%\n", t.Artifact, t.Percent), Manifest: manifest}, nil
}

func (f *fakeDriver) Rollback(ctx context.Context, t driver.Target, log driver.Logger) (driver.Result, error) {
	f.record("rollback", t)
	return driver.Result{Serving: t.Previous, Output: "restored " + t.Previous + "\n"}, nil
}

// Calls returns the calls matching action and artifact ("" matches any).
func (f *fakeDriver) Calls(action, artifact string) []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []call
	for _, c := range f.calls {
		if (action == "" || c.Action == action) && (artifact == "" || c.Artifact == artifact) {
			out = append(out, c)
		}
	}
	return out
}

// gateFunc is a health gate made of a function.
type gateFunc func(ctx context.Context, t driver.Target) error

func (g gateFunc) Healthy(ctx context.Context, t driver.Target) error { return g(ctx, t) }

// recorder is a Notifier that keeps every event.
type recorder struct {
	mu      sync.Mutex
	events  []string // "<id>:<event>"
	details []string // each event's detail, as the Slack thread gets it
}

func (r *recorder) Changed(ctx context.Context, d *Deployment, event, detail string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, fmt.Sprintf("%d:%s", d.ID, event))
	r.details = append(r.details, detail)
}

// detail returns the detail of the first event of deployment id.
func (r *recorder) detail(id int64, event string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	i := slices.Index(r.events, fmt.Sprintf("%d:%s", id, event))
	if i < 0 {
		return ""
	}
	return r.details[i]
}

func (r *recorder) has(id int64, event string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Contains(r.events, fmt.Sprintf("%d:%s", id, event))
}

// waitEvent waits until the notifier was told event about deployment id
// (it is told after the commit and the comment edit).
func (e *env) waitEvent(id int64, events ...string) {
	e.t.Helper()
	for _, ev := range events {
		testwait.For(e.t, fmt.Sprintf("event %s of deployment %d", ev, id), func() bool { return e.notes.has(id, ev) },
			func() string { return fmt.Sprint(e.notes.events) })
	}
}

// env is one engine under test with its emulated GitHub, store and queue.
type env struct {
	t      testing.TB
	gh     *ghfake.Server
	store  *store.Store
	queue  *store.Queue
	engine *Engine
	drv    *fakeDriver
	notes  *recorder
	health func(t driver.Target) error
	opts   Options
}

type option func(*env)

func withTTL(d time.Duration) option { return func(e *env) { e.opts.ApprovalTTL = d } }

// newEnv starts an engine on a fresh SQLite store.
func newEnv(t testing.TB, opts ...option) *env {
	return newEnvOn(t, storetest.Open(t, store.SQLite), opts...)
}

func newEnvOn(t testing.TB, s *store.Store, opts ...option) *env {
	t.Helper()
	gh := ghfake.NewTest(t)
	gh.AddRepo(repo, "main", installation)
	e := &env{t: t, gh: gh, store: s, drv: newFakeDriver(), notes: &recorder{}}
	e.opts = Options{
		Store:  s,
		GitHub: cachedClients(gh),
		Drivers: func(name string) (driver.Driver, error) {
			if name == "missing" {
				return nil, errors.New(`no driver "missing" in the server config`)
			}
			return e.drv, nil
		},
		Health: func(name string) (driver.HealthChecker, bool) {
			return gateFunc(func(ctx context.Context, t driver.Target) error {
				if e.health != nil {
					return e.health(t)
				}
				return nil
			}), true
		},
		Notifier: e.notes,
	}
	for _, o := range opts {
		o(e)
	}
	e.start()
	return e
}

// start builds a new engine and queue on the env's store (again after stop).
func (e *env) start() {
	e.queue = store.NewQueue(e.store, store.QueueConfig{Workers: 8, PollInterval: 20 * time.Millisecond})
	e.opts.Queue = e.queue
	e.engine = NewEngine(e.opts)
	e.engine.pollEvery = 20 * time.Millisecond
	e.engine.Register(e.queue.Workers())
	if err := e.queue.Start(context.Background()); err != nil {
		e.t.Fatal(err)
	}
	q := e.queue
	e.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		q.Stop(ctx)
	})
}

// cachedClients keeps one client per installation, as the bot does, so the
// installation token is fetched once.
func cachedClients(gh *ghfake.Server) func(int64) (*github.Client, error) {
	var mu sync.Mutex
	clients := map[int64]*github.Client{}
	return func(id int64) (*github.Client, error) {
		mu.Lock()
		defer mu.Unlock()
		if c := clients[id]; c != nil {
			return c, nil
		}
		c, err := gh.InstallationClient(id)
		if err == nil {
			clients[id] = c
		}
		return c, err
	}
}

// openPR opens a PR on branch with one commit and returns it.
func (e *env) openPR(branch string) *ghfake.PR {
	content := branch
	e.gh.Commit(repo, branch, map[string]*string{"app/" + branch + ".txt": &content}, "change "+branch)
	return e.gh.OpenPR(repo, branch, "main", "Change "+branch, "octocat")
}

// request is a deployment of web (app) and fraud (model) for pr.
func request(pr *ghfake.PR, envName string, steps ...int) Request {
	return Request{
		Repository: repo, InstallationID: installation, PR: pr.Number, PRTitle: pr.Title, HeadSHA: pr.HeadSHA, HeadRef: pr.Head,
		BaseRef: "main", Environment: envName, Production: envName == "production", Requester: "octocat",
		SourceKey: fmt.Sprintf("comment:%s:%d:%s", envName, pr.Number, pr.HeadSHA), Steps: steps, Decision: "allowed by policy",
		Artifacts: []ArtifactPlan{
			{Name: "web", Kind: "app", Driver: "web-exec", Summary: "web @ " + pr.HeadSHA[:7]},
			{Name: "fraud", Kind: "model", Driver: "mlflow", Spec: driver.EncodeSpec(&driver.ModelRef{Registry: "main", Name: "fraud", Version: fmt.Sprint(10 + pr.Number)}), Summary: "fraud v" + fmt.Sprint(10+pr.Number)},
		},
	}
}

// start starts r and fails the test on error.
func (e *env) startOK(r Request) *Deployment {
	e.t.Helper()
	d, err := e.engine.Start(context.Background(), r)
	if err != nil {
		e.t.Fatalf("start: %v", err)
	}
	return d
}

// wait polls until deployment id is in one of states and returns it.
func (e *env) wait(id int64, states ...string) *Deployment {
	e.t.Helper()
	var d *Deployment
	testwait.For(e.t, fmt.Sprintf("deployment %d to become %v", id, states), func() bool {
		var err error
		d, err = e.engine.Get(context.Background(), id)
		return err == nil && slices.Contains(states, d.State)
	}, func() string { return fmt.Sprintf("state %s, error %q", d.State, d.Error) })
	return d
}

// botComments returns the bot's comments on pr.
func (e *env) botComments(pr int) []ghfake.Comment {
	var out []ghfake.Comment
	for _, c := range e.gh.Comments(repo, pr) {
		if c.Login == e.gh.AppSlug()+"[bot]" {
			out = append(out, c)
		}
	}
	return out
}

// commentOf returns the body of deployment d's status comment, waiting
// until it contains want.
func (e *env) commentOf(d *Deployment, want string) string {
	e.t.Helper()
	var body string
	testwait.For(e.t, fmt.Sprintf("the comment of deployment %d to say %q", d.ID, want), func() bool {
		for _, c := range e.gh.Comments(repo, d.PR) {
			if c.ID == d.CommentID || d.CommentID == 0 {
				body = c.Body
			}
		}
		return strings.Contains(body, want)
	}, func() string { return body })
	return body
}
