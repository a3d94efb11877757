package checks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-github/v66/github"

	"github.com/conveyor-dev/conveyor/examples"
	"github.com/conveyor-dev/conveyor/internal/ghfake"
	"github.com/conveyor-dev/conveyor/internal/mlflowfake"
	"github.com/conveyor-dev/conveyor/internal/store"
	"github.com/conveyor-dev/conveyor/internal/store/storetest"
	"github.com/conveyor-dev/conveyor/internal/testwait"
)

const (
	testRepo = "acme/shop"
	testInst = 11
)

// ghEnv is the check suite wired to the GitHub and MLflow emulators, a
// SQLite store and a river queue.
type ghEnv struct {
	t     testing.TB
	gh    *ghfake.Server
	ml    *mlflowfake.Server
	st    *store.Store
	q     *store.Queue
	suite *Suite
	ci    *github.Client // another integration posting CI check runs
	base  map[string]string
}

// newGHEnv seeds acme/shop with the example monorepo. workers 0 makes an
// intake-only queue whose jobs the test runs itself with suite.work.
func newGHEnv(t testing.TB, workers int, debounce time.Duration, opts ...func(*Options)) *ghEnv {
	t.Helper()
	e := &ghEnv{t: t, gh: ghfake.NewTest(t), ml: newMLflow(t)}
	e.gh.AddRepo(testRepo, "main", testInst)
	base, err := examples.LoadRepo(filepath.Join(exampleDir, "monorepo"))
	if err != nil {
		t.Fatal(err)
	}
	e.base = base
	e.gh.Commit(testRepo, "main", ptrs(base), "monorepo")
	e.st = storetest.Open(t, store.SQLite)
	e.q = store.NewQueue(e.st, store.QueueConfig{Workers: workers, PollInterval: 10 * time.Millisecond})
	var mu sync.Mutex
	clients := map[int64]*github.Client{}
	o := Options{Server: serverConfig(t), Policy: examplePolicy(t), Store: e.st, Queue: e.q,
		Registries: registriesAt(e.ml.URL()), Debounce: debounce,
		GitHub: func(id int64) (*github.Client, error) {
			mu.Lock()
			defer mu.Unlock()
			if c, ok := clients[id]; ok {
				return c, nil
			}
			c, err := e.gh.InstallationClient(id)
			clients[id] = c
			return c, err
		}}
	for _, opt := range opts {
		opt(&o)
	}
	e.suite = New(o)
	e.suite.Register(e.q.Workers())
	if err := e.q.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		e.q.Stop(ctx)
	})
	ci, err := e.gh.InstallationClient(testInst)
	if err != nil {
		t.Fatal(err)
	}
	e.ci = ci
	return e
}

func ptrs(files map[string]string) map[string]*string {
	out := make(map[string]*string, len(files))
	for k, v := range files {
		out[k] = &v
	}
	return out
}

// openChange commits a scripted change on a branch and opens a PR.
func (e *ghEnv) openChange(branch, change string) *ghfake.PR {
	e.t.Helper()
	ch, err := examples.LoadChange(filepath.Join(exampleDir, "changes", change))
	if err != nil {
		e.t.Fatal(err)
	}
	files := ptrs(ch.Files)
	for _, d := range ch.Delete {
		files[d] = nil
	}
	return e.openPR(branch, files)
}

func (e *ghEnv) openPR(branch string, files map[string]*string) *ghfake.PR {
	e.t.Helper()
	e.gh.Commit(testRepo, branch, files, "change")
	return e.gh.OpenPR(testRepo, branch, "main", "a change", "octocat")
}

// send delivers a webhook payload to the suite's handler as the router would.
func (e *ghEnv) send(event string, payload map[string]any) {
	e.t.Helper()
	b, err := json.Marshal(payload)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.suite.Handler().Handle(context.Background(), event, fmt.Sprint(time.Now().UnixNano()), b); err != nil {
		e.t.Fatalf("handle %s: %v", event, err)
	}
}

// postCI creates another integration's check run on sha and returns its ID.
func (e *ghEnv) postCI(sha, name, status, conclusion string) int64 {
	e.t.Helper()
	opts := github.CreateCheckRunOptions{Name: name, HeadSHA: sha, Status: github.String(status)}
	if conclusion != "" {
		opts.Conclusion = github.String(conclusion)
	}
	cr, _, err := e.ci.Checks.CreateCheckRun(context.Background(), "acme", "shop", opts)
	if err != nil {
		e.t.Fatal(err)
	}
	return cr.GetID()
}

// checkRuns returns the latest of Conveyor's check runs on sha by name.
func (e *ghEnv) checkRuns(sha string) map[string]ghfake.CheckRun {
	out := map[string]ghfake.CheckRun{}
	for _, cr := range e.gh.CheckRuns(testRepo, sha) {
		if IsOwnCheck(cr.Name) {
			out[cr.Name] = cr
		}
	}
	return out
}

// waitSettled waits until no checks job is enqueued or running, nothing is
// requested for sha and its gate exists.
func (e *ghEnv) waitSettled(sha string) map[string]ghfake.CheckRun {
	e.t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		var jobs int
		// A re-evaluation scheduled for when a freeze window begins or
		// ends waits for the clock, not for work.
		if err := e.st.DB.QueryRowContext(ctx, `SELECT count(*) FROM river_job WHERE state NOT IN ('completed', 'discarded', 'cancelled')
			AND NOT (state = 'scheduled' AND kind = 'checks_retry' AND COALESCE(json_extract(args, '$.reason'), '') = 'freeze')`).Scan(&jobs); err != nil {
			e.t.Fatal(err)
		}
		req, err := store.GetCheckRequest(ctx, e.st.DB, testRepo, sha)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			e.t.Fatal(err)
		}
		runs := e.checkRuns(sha)
		if _, ok := runs[GateName]; ok && jobs == 0 && !req.Full && len(req.CI) == 0 {
			return runs
		}
		time.Sleep(10 * time.Millisecond)
	}
	if tt, ok := e.t.(*testing.T); ok {
		dumpJobs(tt, e)
		dumpResults(tt, e)
	}
	e.t.Fatalf("checks on %s did not settle; check runs: %+v", sha, e.checkRuns(sha))
	return nil
}

// waitForSummary waits until artifact's check run on sha has settled with
// a summary or details text containing want, and returns it.
func (e *ghEnv) waitForSummary(sha, artifact, want string) ghfake.CheckRun {
	e.t.Helper()
	var cr ghfake.CheckRun
	testwait.For(e.t, "check run "+CheckName(artifact)+" to say "+want, func() bool {
		cr = e.waitSettled(sha)[CheckName(artifact)]
		return strings.Contains(cr.Summary+cr.Text, want)
	}, func() string { return cr.Summary + cr.Text })
	return cr
}

func storeRequest(e *ghEnv, sha string) (store.CheckRequest, error) {
	req, err := store.GetCheckRequest(context.Background(), e.st.DB, testRepo, sha)
	if errors.Is(err, store.ErrNotFound) {
		return req, nil
	}
	return req, err
}
