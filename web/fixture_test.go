package web

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/conveyor-dev/conveyor/deploy"
	"github.com/conveyor-dev/conveyor/deploy/slackapproval"
	"github.com/conveyor-dev/conveyor/internal/serverconfig"
	"github.com/conveyor-dev/conveyor/internal/store"
	"github.com/conveyor-dev/conveyor/internal/store/storetest"
	"github.com/conveyor-dev/conveyor/policies"
)

// testAuth is the sign-in seam in memory: the viewer is the X-Test-Login
// header (default login), and readable lists what they may read.
type testAuth struct {
	mu       sync.Mutex
	login    string
	readable map[string]bool
	token    string
	asked    []string // repositories CanRead was asked about
	broken   bool     // CanRead fails, as when GitHub cannot be reached
	revoked  bool     // CanRead finds the sign-in no longer holds
}

func (a *testAuth) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /login", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "sign in with GitHub") })
}

func (a *testAuth) Viewer(r *http.Request) (string, bool) {
	if l := r.Header.Get("X-Test-Login"); l != "" {
		return l, true
	}
	return a.login, a.login != ""
}

func (a *testAuth) CanRead(r *http.Request, repo string) (bool, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.asked = append(a.asked, repo)
	if a.broken {
		return false, errors.New("GET /repos/" + repo + ": 502 Bad Gateway")
	}
	if a.revoked {
		return false, ErrSignInAgain
	}
	return a.readable[repo], nil
}

func (a *testAuth) CSRFToken(r *http.Request) string { return a.token }

func (a *testAuth) CheckCSRF(r *http.Request) error {
	if r.PostFormValue(CSRFField) != a.token {
		return errors.New("CSRF token mismatch")
	}
	return nil
}

// actors gives every login write permission and the teams listed.
type actors map[string][]string

func (a actors) ActorFacts(ctx context.Context, installationID int64, repo, login string, teams []string) (policies.Actor, error) {
	return policies.Actor{Login: login, Permission: "write", Teams: a[login]}, nil
}

const (
	shop   = "acme/shop"
	secret = "acme/secret"
	headS  = "4f2a9c1e0000000000000000000000000000beef"
)

// fixture is a dashboard over a seeded store: acme/shop (readable) with a
// model serving v13 in production, a web rollout at step 2 of 3 in staging,
// a production deployment of PR 7 awaiting approvals, a /lock and PR 7's
// check output; acme/secret (not readable) with its own deployment and
// audit events.
type fixture struct {
	t       *testing.T
	st      *store.Store
	auth    *testAuth
	srv     *Server
	h       http.Handler
	engine  *deploy.Engine
	now     time.Time
	pending int64 // the deployment awaiting approval
	model   int64 // the model's succeeded deployment
}

func newFixture(t *testing.T, d store.Dialect) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{t: t, st: storetest.Open(t, d), now: time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)}
	f.auth = &testAuth{login: "viewer", readable: map[string]bool{shop: true}, token: "tok-123"}
	// An intake-only queue: a quorum enqueues the rollout, nothing runs it.
	q := store.NewQueue(f.st, store.QueueConfig{})
	f.engine = deploy.NewEngine(deploy.Options{Store: f.st, Queue: q, Now: func() time.Time { return f.now }})
	f.engine.Register(q.Workers())
	if err := q.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Stop(context.Background()) })
	pol, err := policies.New(ctx, policies.Options{Config: serverconfig.Default()})
	if err != nil {
		t.Fatal(err)
	}
	gate := &slackapproval.Gate{Approvals: f.engine, Policy: pol, Actors: actors{"sam": {"acme/sre"}, "sue": {"acme/sre"}, "alice": {"acme/sre"}},
		Author: func(ctx context.Context, installationID int64, repo string, pr int) (string, error) {
			return "alice", nil
		},
		Now: func() time.Time { return f.now }}
	f.srv, err = New(Options{Store: f.st, Auth: f.auth, Approvals: gate, Now: func() time.Time { return f.now },
		Live: 20 * time.Millisecond, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	f.h = f.srv.Handler()
	f.seed()
	return f
}

func (f *fixture) insert(d *store.DeploymentRow) int64 {
	f.t.Helper()
	if err := store.InsertDeployment(context.Background(), f.st.DB, d); err != nil {
		f.t.Fatal(err)
	}
	return d.ID
}

func (f *fixture) seed() {
	t, ctx, db := f.t, context.Background(), f.st.DB
	t0 := f.now.Add(-48 * time.Hour)
	f.model = f.insert(&store.DeploymentRow{Repository: shop, PR: 4, SHA: "1111111111111111111111111111111111111111", Environment: "production",
		Mode: "deploy", State: "succeeded", Steps: []int{100}, Requester: "maria", CreatedAt: t0,
		Artifacts: []store.ArtifactRow{{Name: "fraud-model", Kind: "model", Summary: "fraud-detector v13", Serving: "13", Previous: "12", State: "succeeded"}}})
	staging := f.insert(&store.DeploymentRow{Repository: shop, PR: 7, SHA: headS, Environment: "staging", Mode: "deploy", State: "in_progress",
		Step: 1, Steps: []int{10, 50, 100}, Requester: "alice", CreatedAt: f.now.Add(-10 * time.Minute),
		Artifacts: []store.ArtifactRow{{Name: "web", Kind: "app", State: "in_progress"}}})
	if err := store.MarkStepDone(ctx, db, staging, "web", 0, headS, f.now.Add(-5*time.Minute)); err != nil {
		t.Fatal(err)
	}
	f.pending = f.insert(&store.DeploymentRow{Repository: shop, PR: 7, SHA: headS, Environment: "production", Production: true, Mode: "deploy",
		State: "awaiting_approval", Steps: []int{100}, Requester: "alice", CreatedAt: f.now.Add(-90 * time.Minute),
		Quorum:    `{"groups":[{"count":2,"from":["acme/sre"]}]}`,
		Decision:  "allow: production needs 2 approvals from @acme/sre",
		Artifacts: []store.ArtifactRow{{Name: "web", Kind: "app"}}})
	if _, err := store.AddApproval(ctx, db, f.pending, store.ApprovalRow{Login: "sam", Via: "slack", SHA: headS, Teams: []string{"acme/sre"}, At: f.now.Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO environment_locks (repository, environment, pr, login, reason, manual, since) VALUES ($1, 'qa', 9, 'carol', 'freeze for the audit', 1, $2)`,
		shop, f.now.Add(-3*time.Hour).UnixMilli()); err != nil {
		t.Fatal(err)
	}
	if err := store.SetCheckHead(ctx, db, store.CheckHead{Repository: shop, PR: 7, SHA: headS, Author: "alice", BaseRef: "main"}); err != nil {
		t.Fatal(err)
	}
	if err := store.SaveCheckOutput(ctx, db, store.CheckOutput{Repository: shop, PR: 7, SHA: headS, Artifact: "web", Name: "conveyor / web", Kind: "app",
		Status: "completed", Conclusion: "success", Title: "ready: staging now, production after approvals",
		Summary: "| stage | result | details |\n|---|---|---|\n| Validate | pass | config valid |\n\n<script>alert('pr text')</script>\n\n[click](javascript:alert(1))",
		Body:    "#### Quality\n\n- `build` passed on **4f2a9c1**\n",
		Stages: `[{"name":"Validate","result":"pass","summary":"config valid"},{"name":"Quality","result":"pass","summary":"CI passed: build, test"},` +
			`{"name":"Policy","result":"pass","summary":"allow: within quota, cost delta **$12/month**","details":["no freeze window applies"]},` +
			`{"name":"Readiness","result":"info","summary":"staging: may deploy now; production: needs 2 approvals"}]`}); err != nil {
		t.Fatal(err)
	}
	if err := store.SetArtifactOwners(ctx, db, store.ArtifactOwnersRow{Repository: shop, Artifact: "fraud-model", Kind: "model", Owners: []string{"acme/ml"}}); err != nil {
		t.Fatal(err)
	}
	if err := store.SetArtifactOwners(ctx, db, store.ArtifactOwnersRow{Repository: shop, Artifact: "web", Kind: "app", Owners: []string{"acme/web"}}); err != nil {
		t.Fatal(err)
	}
	for _, e := range []store.AuditEvent{
		{Kind: "decision", Repository: shop, PR: 7, Actor: "alice", Subject: "production", Action: "deploy", Outcome: "allow", At: f.now.Add(-90 * time.Minute)},
		{Kind: "approval", Repository: shop, PR: 7, Actor: "sam", Subject: "deployment 3", Action: "approve", Outcome: "awaiting_approval", At: f.now.Add(-time.Hour)},
		{Kind: "deployment", Repository: shop, PR: 4, Actor: "=HYPERLINK(\"x\")", Subject: "deployment 1", Action: "succeeded", Outcome: "succeeded", At: t0},
	} {
		if err := store.AppendAudit(ctx, db, e); err != nil {
			t.Fatal(err)
		}
	}
	// The repository the viewer cannot read.
	f.insert(&store.DeploymentRow{Repository: secret, PR: 1, SHA: "2222222222222222222222222222222222222222", Environment: "production",
		Mode: "deploy", State: "succeeded", Steps: []int{100}, Requester: "mallory", CreatedAt: t0,
		Artifacts: []store.ArtifactRow{{Name: "vault", Kind: "app", Serving: "SECRETV1", State: "succeeded"}}})
	f.insert(&store.DeploymentRow{Repository: secret, PR: 2, SHA: "3333333333333333333333333333333333333333", Environment: "production",
		Mode: "deploy", State: "awaiting_approval", Steps: []int{100}, Requester: "mallory", CreatedAt: f.now.Add(-time.Hour),
		Quorum: `{"groups":[{"count":1}]}`, Artifacts: []store.ArtifactRow{{Name: "vault", Kind: "app"}}})
	if _, err := db.ExecContext(ctx, `INSERT INTO environment_locks (repository, environment, pr, login, reason, manual, since) VALUES ($1, 'production', 2, 'mallory', 'SECRETLOCK', 1, 1)`, secret); err != nil {
		t.Fatal(err)
	}
	if err := store.AppendAudit(ctx, db, store.AuditEvent{Kind: "lock", Repository: secret, PR: 1, Actor: "mallory", Action: "secret-action", Outcome: "locked"}); err != nil {
		t.Fatal(err)
	}
	if err := store.SaveCheckOutput(ctx, db, store.CheckOutput{Repository: secret, PR: 1, SHA: "2222222222222222222222222222222222222222", Artifact: "vault", Name: "conveyor / vault", Summary: "SECRETCHECK"}); err != nil {
		t.Fatal(err)
	}
}

// get requests path as the viewer and returns the response and its body.
func (f *fixture) get(path string, hdr ...string) (*http.Response, string) {
	f.t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, req)
	return rec.Result(), rec.Body.String()
}

// post sends form as login.
func (f *fixture) post(path, login string, form url.Values) (*http.Response, string) {
	f.t.Helper()
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Test-Login", login)
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, req)
	return rec.Result(), rec.Body.String()
}

// mustContain fails for each want missing from body.
func mustContain(t *testing.T, what, body string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(body, w) {
			t.Errorf("%s lacks %q", what, w)
		}
	}
	if t.Failed() {
		t.Logf("%s:\n%s", what, body)
	}
}

// mustNotContain fails for each leak found in body.
func mustNotContain(t *testing.T, what, body string, leaks ...string) {
	t.Helper()
	for _, l := range leaks {
		if strings.Contains(body, l) {
			t.Errorf("%s shows %q", what, l)
		}
	}
}

// secrets are what only acme/secret holds.
var secrets = []string{"acme/secret", "vault", "SECRETV1", "SECRETLOCK", "SECRETCHECK", "mallory", "secret-action"}
