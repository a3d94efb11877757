package checks

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/conveyor-dev/conveyor/policies"
)

// denyIn is a policy that denies the environments it names and defers to
// the example bundle elsewhere.
type denyIn struct {
	next policies.Decider
	envs map[string]string // environment -> reason
	err  error
}

func (d denyIn) Eval(ctx context.Context, in policies.Input) (policies.Decision, policies.Meta, error) {
	if d.err != nil {
		return policies.Decision{}, policies.Meta{}, d.err
	}
	if reason, ok := d.envs[in.Environment.Name]; ok {
		return policies.Decision{Deny: []string{reason}}, policies.Meta{}, nil
	}
	return d.next.Eval(ctx, in)
}

// TestReadinessAgreesWithPolicy: an environment the Policy stage denies is
// never "may deploy now" in Readiness, and a policy that cannot be asked
// promises nothing.
func TestReadinessAgreesWithPolicy(t *testing.T) {
	ml := newMLflow(t)
	s := New(Options{Server: serverConfig(t), Policy: denyIn{next: examplePolicy(t),
		envs: map[string]string{"staging": "team acme/web is over its staging cpu quota"}}})
	res, err := s.Evaluate(context.Background(), exampleFacts(t, "good", ml))
	if err != nil {
		t.Fatal(err)
	}
	web := artifactByName(res, "web")
	pol, ready := stage(web, StagePolicy), stage(web, StageReadiness)
	if pol.Result != Fail || !strings.Contains(pol.Summary, "over its staging cpu quota") {
		t.Fatalf("Policy = %+v, want the staging denial", pol)
	}
	details := strings.Join(ready.Details, "\n")
	if strings.Contains(ready.Summary, "may go to staging") || strings.Contains(details, "staging: may deploy now") {
		t.Errorf("Readiness contradicts Policy: %q\n%s", ready.Summary, details)
	}
	if want := "staging: needs the policy to allow it (deny: team acme/web is over its staging cpu quota)"; !strings.Contains(details, want) {
		t.Errorf("Readiness details lack %q:\n%s", want, details)
	}

	s = New(Options{Server: serverConfig(t), Policy: denyIn{err: errors.New("bundle failed to compile")}})
	res, err = s.Evaluate(context.Background(), exampleFacts(t, "good", ml))
	if err != nil {
		t.Fatal(err)
	}
	web = artifactByName(res, "web")
	if pol, ready := stage(web, StagePolicy), stage(web, StageReadiness); pol.Result != Error || strings.Contains(ready.Summary, "may go") ||
		!strings.Contains(ready.Summary, "policy cannot be evaluated") {
		t.Errorf("with a failing policy: Policy %+v, Readiness %+v", pol, ready)
	}
}

// TestReadinessFollowsDeployments: as the head succeeds in staging, then in
// production, Readiness stops asking for staging first and then says where
// it serves.
func TestReadinessFollowsDeployments(t *testing.T) {
	ml := newMLflow(t)
	s := New(Options{Server: serverConfig(t), Policy: examplePolicy(t)})
	f := exampleFacts(t, "good", ml)
	head := f.C.HeadSHA
	readiness := func() Stage {
		t.Helper()
		res, err := s.Evaluate(context.Background(), f)
		if err != nil {
			t.Fatal(err)
		}
		return stage(artifactByName(res, "web"), StageReadiness)
	}
	if r := readiness(); !strings.Contains(r.Summary, "may go to staging now") || !strings.Contains(r.Summary, "production needs staging first at "+head[:7]) {
		t.Fatalf("before any deploy: %q", r.Summary)
	}
	f.ServingBy = map[string]map[string]string{"staging": {"web": head}}
	r := readiness()
	if strings.Contains(r.Summary, "staging first") || !strings.Contains(r.Summary, "serving in staging") ||
		!strings.Contains(r.Summary, "production needs 2 approvals from acme/sre or acme/ml-leads") {
		t.Errorf("after staging succeeded: %q", r.Summary)
	}
	f.ServingBy["production"] = map[string]string{"web": head}
	r = readiness()
	if r.Summary != "serving in staging, production" || strings.Contains(strings.Join(r.Details, "\n"), "needs") {
		t.Errorf("after production succeeded: %q %q", r.Summary, r.Details)
	}
}

// fakeDeployments is the promotion engine as Readiness reads it: what
// serves where, and what holds an environment.
type fakeDeployments struct {
	mu      sync.Mutex
	serving map[string]map[string]string // env -> artifact -> SHA
	waiting map[string][2]string         // env -> approvals, held
}

func (f *fakeDeployments) LastSucceeded(_ context.Context, _, env string) (map[string]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]string{}
	for k, v := range f.serving[env] {
		out[k] = v
	}
	return out, nil
}

func (f *fakeDeployments) Waiting(_ context.Context, _ string, _ int, _, env string) (string, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	w := f.waiting[env]
	return w[0], w[1], nil
}

func (f *fakeDeployments) set(fn func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn()
}

// TestRefreshUpdatesReadiness: a deployment finishing, an approval and a
// lock each ask for a new evaluation (Refresh, RefreshRepo), and the check
// run on GitHub is updated with what Readiness says now.
func TestRefreshUpdatesReadiness(t *testing.T) {
	deps := &fakeDeployments{serving: map[string]map[string]string{}, waiting: map[string][2]string{}}
	e := newGHEnv(t, 2, 20*time.Millisecond, func(o *Options) { o.Deployments = deps })
	ctx := context.Background()
	pr := e.openPR("feature", map[string]*string{"services/web/app.py": strp("print('v2')\n")})
	sha := pr.HeadSHA
	e.send("pull_request", e.gh.PullRequestEvent("opened", pr))
	// While CI runs nothing may deploy: Readiness says what Quality waits for.
	web := e.waitForSummary(sha, "web", "staging: needs the Quality stage to finish")
	if strings.Contains(web.Summary, "may go to") {
		t.Fatalf("Readiness promises a deploy while Quality waits:\n%s", web.Summary)
	}
	e.postCI(sha, "build", "completed", "success")
	e.postCI(sha, "test", "completed", "success")
	for _, cr := range e.gh.CheckRuns(testRepo, sha) {
		e.send("check_run", e.gh.CheckRunEvent("completed", testRepo, cr.ID, "", ""))
	}
	web = e.waitForSummary(sha, "web", "production: needs staging first at "+sha[:7])
	if !strings.Contains(web.Summary, "may go to staging now") {
		t.Fatalf("after CI passed:\n%s", web.Summary)
	}

	// Staging succeeded and a production deployment waits for approvals.
	deps.set(func() {
		deps.serving["staging"] = map[string]string{"web": sha}
		deps.waiting["production"] = [2]string{"1 more approval from @acme/sre for deployment 4", ""}
	})
	if err := e.suite.Refresh(ctx, testRepo, pr.Number); err != nil {
		t.Fatal(err)
	}
	web = e.waitForSummary(sha, "web", "production: needs 1 more approval from @acme/sre for deployment 4")
	if strings.Contains(web.Summary, "staging first") {
		t.Errorf("after staging succeeded Readiness still asks for it:\n%s%s", web.Summary, web.Text)
	}

	// Production succeeded.
	deps.set(func() {
		deps.serving["production"] = map[string]string{"web": sha}
		deps.waiting["production"] = [2]string{}
	})
	if err := e.suite.Refresh(ctx, testRepo, pr.Number); err != nil {
		t.Fatal(err)
	}
	web = e.waitForSummary(sha, "web", "serving in staging, production")
	if strings.Contains(web.Summary+web.Text, "needs staging") {
		t.Errorf("after production succeeded:\n%s%s", web.Summary, web.Text)
	}

	// Another PR locks staging: every open PR of the repository is evaluated again.
	deps.set(func() {
		deps.waiting["staging"] = [2]string{"", "the lock of @alice for PR #9 to be released (freeze)"}
	})
	deps.set(func() { delete(deps.serving, "staging") })
	if err := e.suite.RefreshRepo(ctx, testRepo); err != nil {
		t.Fatal(err)
	}
	e.waitForSummary(sha, "web", "staging: needs the lock of @alice for PR #9 to be released (freeze)")

	// A closed PR is evaluated no more.
	e.send("pull_request", e.gh.PullRequestEvent("closed", pr))
	if err := e.suite.Refresh(ctx, testRepo, pr.Number); err != nil {
		t.Fatal(err)
	}
	if req, err := storeRequest(e, sha); err != nil || req.Full {
		t.Errorf("a closed PR was asked to be evaluated: %+v, %v", req, err)
	}
}

// TestReadinessWaitsForFailingStages: an artifact whose Validate stage
// fails may go nowhere, and Readiness says so first.
func TestReadinessWaitsForFailingStages(t *testing.T) {
	s := New(Options{Server: serverConfig(t), Policy: examplePolicy(t)})
	res, err := s.Evaluate(context.Background(), exampleFacts(t, "broken-config", newMLflow(t)))
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, a := range res.Artifacts {
		if stage(a, StageValidate).Result != Fail {
			continue
		}
		checked++
		r := stage(a, StageReadiness)
		if strings.Contains(r.Summary, "may go to") || !strings.Contains(r.Summary, "staging needs the Validate stage to pass") {
			t.Errorf("%s: Validate fails but Readiness says %q", a.Name, r.Summary)
		}
	}
	if checked == 0 {
		t.Fatal("no artifact of broken-config failed Validate")
	}
}

// TestFreezeEndReevaluates: inside a freeze window of the base config,
// Readiness waits for its end, and an evaluation is scheduled for the
// moment it ends, after which Readiness no longer mentions it.
func TestFreezeEndReevaluates(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	var mu sync.Mutex
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, berlin) // a Saturday
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	e := newGHEnv(t, 2, 20*time.Millisecond, func(o *Options) { o.Now = clock })
	cfg := strings.Replace(e.base[configPath], "  staging: {}", `  staging: {freeze: ["Fri 15:00-Mon 08:00 Europe/Berlin"]}`, 1)
	if cfg == e.base[configPath] {
		t.Fatal("the example config has no `staging: {}` line to add a freeze to")
	}
	e.gh.Commit(testRepo, "main", map[string]*string{configPath: &cfg}, "freeze staging at weekends")
	pr := e.openPR("feature", map[string]*string{"services/web/app.py": strp("print('v3')\n")})
	sha := pr.HeadSHA
	e.postCI(sha, "build", "completed", "success")
	e.postCI(sha, "test", "completed", "success")
	for _, cr := range e.gh.CheckRuns(testRepo, sha) {
		e.send("check_run", e.gh.CheckRunEvent("completed", testRepo, cr.ID, "", ""))
	}
	e.send("pull_request", e.gh.PullRequestEvent("opened", pr))
	e.waitForSummary(sha, "web", "staging: needs the end of the freeze Fri 15:00-Mon 08:00 Europe/Berlin")

	var at time.Time
	var args string
	err := e.st.DB.QueryRow(`SELECT json(args), scheduled_at FROM river_job WHERE kind = 'checks_retry' AND state = 'scheduled'`).Scan(&args, &at)
	if err != nil {
		t.Fatalf("no re-evaluation scheduled for the end of the freeze: %v", err)
	}
	if want := time.Date(2026, 12, 7, 8, 0, 0, 0, berlin); !at.Equal(want) {
		t.Errorf("re-evaluation scheduled at %v, want Monday 08:00 in Berlin (%v)", at, want)
	}
	if !strings.Contains(args, `"reason":"freeze"`) || !strings.Contains(args, sha) {
		t.Errorf("scheduled job args %s", args)
	}

	// Monday 08:00: the scheduled job requests the evaluation (run here at once).
	mu.Lock()
	now = at.Add(time.Minute)
	mu.Unlock()
	w := &retryWorker{s: e.suite}
	if err := w.Work(context.Background(), &river.Job[RetryArgs]{Args: RetryArgs{Repo: testRepo, SHA: sha, Reason: "freeze"}}); err != nil {
		t.Fatal(err)
	}
	web := e.waitForSummary(sha, "web", "may go to staging now")
	if strings.Contains(web.Summary+web.Text, "freeze") {
		t.Errorf("after the freeze ended Readiness still mentions it:\n%s%s", web.Summary, web.Text)
	}
}
