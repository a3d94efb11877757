package checks

import (
	"context"
	"encoding/json"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-github/v66/github"

	"github.com/conveyor-dev/conveyor/internal/ghfake"
	"github.com/conveyor-dev/conveyor/internal/store"
	"github.com/conveyor-dev/conveyor/internal/testwait"
)

// ciWaitEnv is the monorepo with ci_manifest on the base branch (extra
// keys in the block as given) and a base run that uploaded its manifest.
// The suite's clock runs offset ahead of the wall clock, and a checks_retry
// is an hour away: whatever settles a check here is an event, not the poll.
func ciWaitEnv(t *testing.T, extra string, offset *atomic.Int64, opts ...func(*Options)) (e *ghEnv, baseSHA string, baseArtifact int64) {
	t.Helper()
	e = newGHEnv(t, 2, 20*time.Millisecond, append([]func(*Options){func(o *Options) {
		o.RetryDelay = time.Hour
		o.Now = func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	}}, opts...)...)
	cfg := strings.Replace(e.base[".github/conveyor.yml"], "    project: analytics/\n",
		"    project: analytics/\n    ci_manifest: {workflow: dbt.yml, artifact: dbt-manifest"+extra+"}\n", 1)
	baseSHA = e.gh.Commit(testRepo, "main", map[string]*string{".github/conveyor.yml": &cfg,
		".github/workflows/dbt.yml": strp("on: [push, pull_request]\n")}, "dbt manifests from CI")
	run, err := e.gh.AddWorkflowRun(testRepo, "dbt.yml", baseSHA, "push", "completed", "success")
	if err != nil {
		t.Fatal(err)
	}
	baseArtifact, err = e.gh.UploadArtifact(testRepo, run, "dbt-manifest", map[string]string{"manifest.json": ciManifestJSON("select 1")})
	if err != nil {
		t.Fatal(err)
	}
	return e, baseSHA, baseArtifact
}

// waitForCheck waits until artifact's check run on sha says want in its
// summary, and no evaluation of sha is pending or running.
func (e *ghEnv) waitForCheck(sha, artifact, want string) ghfake.CheckRun {
	e.t.Helper()
	var cr ghfake.CheckRun
	testwait.For(e.t, CheckName(artifact)+" to say "+want, func() bool {
		cr = e.checkRuns(sha)[CheckName(artifact)]
		return strings.Contains(cr.Summary, want) && e.evaluationsIdle(sha)
	}, func() string { return cr.Status + ": " + cr.Summary })
	return cr
}

// evaluationsIdle says no checks_evaluate job is enqueued or running and
// nothing is requested for sha (a checks_retry scheduled later may wait).
func (e *ghEnv) evaluationsIdle(sha string) bool {
	var jobs int
	if err := e.st.DB.QueryRowContext(context.Background(), `SELECT count(*) FROM river_job
		WHERE kind = 'checks_evaluate' AND state NOT IN ('completed', 'discarded', 'cancelled')`).Scan(&jobs); err != nil {
		e.t.Fatal(err)
	}
	req, err := storeRequest(e, sha)
	if err != nil {
		e.t.Fatal(err)
	}
	return jobs == 0 && !req.Full && len(req.CI) == 0
}

// deliverDecoded hands a webhook to the handler as the router does for
// the events it decodes with go-github (workflow_run among them).
func (e *ghEnv) deliverDecoded(event string, payload map[string]any) {
	e.t.Helper()
	b, err := json.Marshal(payload)
	if err != nil {
		e.t.Fatal(err)
	}
	decoded, err := github.ParseWebHook(event, b)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.suite.Handler().HandleDecoded(context.Background(), event, "d-"+event, decoded, b); err != nil {
		e.t.Fatalf("handle %s: %v", event, err)
	}
}

// Conveyor evaluates within a second of the pull request opening; GitHub
// creates the workflow run seconds later. The dbt check waits for the run
// to start, follows it through its workflow_run events, and settles from
// the completed event with exactly one evaluation (the look a minute later
// is an hour away here). A second delivery of the event, and the runs of
// other workflows on a settled SHA, evaluate nothing.
func TestDBTCIManifestWaitsForTheRunToStartAndSettlesFromTheEvent(t *testing.T) {
	var offset atomic.Int64
	e, _, _ := ciWaitEnv(t, "", &offset)
	var evals atomic.Int32
	e.suite.afterEvaluate = func() { evals.Add(1) }
	pr := e.openPR("dbt-ci", map[string]*string{"analytics/models/staging/stg_orders.sql": strp("select 2")})
	short := pr.HeadSHA[:7]
	e.send("pull_request", e.gh.PullRequestEvent("opened", pr))
	cr := e.waitForCheck(pr.HeadSHA, "analytics", "waiting for workflow dbt.yml to start on "+short)
	if cr.Status != StatusInProgress || cr.Conclusion != "" || !strings.Contains(cr.Summary, "up to 10m after the push") {
		t.Fatalf("before the run exists: %s/%s %s", cr.Status, cr.Conclusion, cr.Summary)
	}

	run, err := e.gh.AddWorkflowRun(testRepo, "dbt.yml", pr.HeadSHA, "pull_request", "queued", "")
	if err != nil {
		t.Fatal(err)
	}
	e.send("workflow_run", e.gh.WorkflowRunEvent("requested", testRepo, run))
	cr = e.waitForCheck(pr.HeadSHA, "analytics", "(queued) to upload dbt-manifest")
	if cr.Status != StatusInProgress {
		t.Fatalf("while the run is queued: %s %s", cr.Status, cr.Summary)
	}

	if _, err := e.gh.UploadArtifact(testRepo, run, "dbt-manifest", map[string]string{"manifest.json": ciManifestJSON("select 2")}); err != nil {
		t.Fatal(err)
	}
	if err := e.gh.SetWorkflowRunStatus(testRepo, run, "completed", "success"); err != nil {
		t.Fatal(err)
	}
	before := evals.Load()
	e.deliverDecoded("workflow_run", e.gh.WorkflowRunEvent("completed", testRepo, run))
	cr = e.waitForCheck(pr.HeadSHA, "analytics", "compared dbt's manifests with the base, dbt.yml run #1")
	if cr.Status != StatusCompleted || !strings.Contains(cr.Summary+cr.Text, "stg_orders") {
		t.Fatalf("after the run: %s/%s\n%s", cr.Status, cr.Conclusion, cr.Summary)
	}
	if n := evals.Load() - before; n != 1 {
		t.Errorf("workflow_run.completed caused %d evaluations, want 1", n)
	}

	// Redelivered, or another workflow's run on the settled SHA: nothing
	// is requested.
	e.deliverDecoded("workflow_run", e.gh.WorkflowRunEvent("completed", testRepo, run))
	if req, err := storeRequest(e, pr.HeadSHA); err != nil || req.Full || !e.evaluationsIdle(pr.HeadSHA) {
		t.Errorf("a completed run on a settled SHA requested an evaluation: %+v (%v)", req, err)
	}
}

// A run that never starts is waited for wait_for_start after Conveyor saw
// the head; an evaluation after that parses the project and warns on the
// config why the CI manifest was not used.
func TestDBTCIManifestStopsWaitingForARunThatNeverStarts(t *testing.T) {
	var offset atomic.Int64
	e, _, _ := ciWaitEnv(t, ", wait_for_start: 5m", &offset)
	pr := e.openPR("dbt-ci", map[string]*string{"analytics/models/staging/stg_orders.sql": strp("select 2")})
	short := pr.HeadSHA[:7]
	e.send("pull_request", e.gh.PullRequestEvent("opened", pr))
	e.waitForCheck(pr.HeadSHA, "analytics", "waiting for workflow dbt.yml to start on "+short+" (up to 5m after the push")

	offset.Store(int64(5*time.Minute + time.Second))
	e.send("check_suite", map[string]any{"action": "rerequested", "repository": map[string]any{"full_name": testRepo},
		"check_suite": map[string]any{"head_sha": pr.HeadSHA}})
	cr := e.waitForCheck(pr.HeadSHA, "analytics", "parse")
	if cr.Status != StatusCompleted {
		t.Fatalf("past the bound: %s %s", cr.Status, cr.Summary)
	}
	want := "dbt.yml has no run on " + short + " 5m after the push, so dbt's manifest for it is not known: the project is parsed instead"
	if !strings.Contains(cr.Text, want) {
		t.Errorf("no warning %q in\n%s", want, cr.Text)
	}
	var warned bool
	for _, a := range cr.Annotations {
		warned = warned || (a.Path == ".github/conveyor.yml" && a.AnnotationLevel == "warning" && strings.Contains(a.Message, want))
	}
	if !warned {
		t.Errorf("no warning annotation on .github/conveyor.yml")
	}
}

// With compare: production, the manifest the deploy to production kept is
// compared with, though the CI artifact of that commit has expired (GitHub
// answers 410 for its archive); with nothing kept, the expiry is a warning
// and the project is parsed.
func TestDBTCIManifestComparesWithTheManifestKeptAtDeploy(t *testing.T) {
	var offset atomic.Int64
	deps := &fakeDeployments{serving: map[string]map[string]string{}, waiting: map[string][2]string{}}
	e, prodSHA, prodArtifact := ciWaitEnv(t, ", compare: production", &offset, func(o *Options) { o.Deployments = deps })
	deps.set(func() { deps.serving["production"] = map[string]string{"analytics": prodSHA} })
	if err := e.gh.ExpireArtifact(testRepo, prodArtifact); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := store.SaveDBTManifest(ctx, e.st.DB, testRepo, "analytics", "production", prodSHA, []byte(ciManifestJSON("select 1"))); err != nil {
		t.Fatal(err)
	}
	pr := e.openPR("dbt-ci", map[string]*string{"analytics/models/staging/stg_orders.sql": strp("select 2")})
	run, err := e.gh.AddWorkflowRun(testRepo, "dbt.yml", pr.HeadSHA, "pull_request", "completed", "success")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.gh.UploadArtifact(testRepo, run, "dbt-manifest", map[string]string{"manifest.json": ciManifestJSON("select 2")}); err != nil {
		t.Fatal(err)
	}
	e.gh.ResetCalls()
	e.send("pull_request", e.gh.PullRequestEvent("opened", pr))
	cr := e.waitForCheck(pr.HeadSHA, "analytics", "compared dbt's manifests with what production runs, the manifest kept when it deployed "+prodSHA[:7])
	if cr.Status != StatusCompleted || !strings.Contains(cr.Summary+cr.Text, "stg_orders") {
		t.Fatalf("%s/%s\n%s\n%s", cr.Status, cr.Conclusion, cr.Summary, cr.Text)
	}
	for _, c := range e.gh.Calls() {
		if strings.Contains(c.Path, "head_sha="+prodSHA) || strings.Contains(c.Query, "head_sha="+prodSHA) {
			t.Errorf("GitHub was asked for production's run though its manifest is kept: %s %s?%s", c.Method, c.Path, c.Query)
		}
	}

	// Nothing kept: the expired artifact is said, and the project parsed.
	if _, err := e.st.DB.ExecContext(ctx, `DELETE FROM dbt_manifests`); err != nil {
		t.Fatal(err)
	}
	e.send("check_suite", map[string]any{"action": "rerequested", "repository": map[string]any{"full_name": testRepo},
		"check_suite": map[string]any{"head_sha": pr.HeadSHA}})
	cr = e.waitForCheck(pr.HeadSHA, "analytics", "parse")
	if want := "artifact dbt-manifest of dbt.yml run #1 on " + prodSHA[:7] + " has expired"; !strings.Contains(cr.Text, want) {
		t.Errorf("no %q in\n%s", want, cr.Text)
	}
}

// With compare: base, a check waiting for the base commit's run settles
// from that run's workflow_run event (an event about the base, not the
// PR's head), not from the look a minute later (an hour away here).
func TestDBTCIManifestSettlesWhenTheBaseRunCompletes(t *testing.T) {
	var offset atomic.Int64
	e, _, _ := ciWaitEnv(t, "", &offset)
	base := e.gh.Commit(testRepo, "main", map[string]*string{"analytics/README.md": strp("the base moved\n")}, "base moves on")
	baseRun, err := e.gh.AddWorkflowRun(testRepo, "dbt.yml", base, "push", "in_progress", "")
	if err != nil {
		t.Fatal(err)
	}
	pr := e.openPR("dbt-ci", map[string]*string{"analytics/models/staging/stg_orders.sql": strp("select 2")})
	if pr.BaseSHA != base {
		t.Fatalf("the PR's base is %s, want the new main %s", pr.BaseSHA, base)
	}
	headRun, err := e.gh.AddWorkflowRun(testRepo, "dbt.yml", pr.HeadSHA, "pull_request", "completed", "success")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.gh.UploadArtifact(testRepo, headRun, "dbt-manifest", map[string]string{"manifest.json": ciManifestJSON("select 2")}); err != nil {
		t.Fatal(err)
	}
	e.send("pull_request", e.gh.PullRequestEvent("opened", pr))
	cr := e.waitForCheck(pr.HeadSHA, "analytics", "(in_progress) to upload dbt-manifest")
	if cr.Status != StatusInProgress || !strings.Contains(cr.Summary, "on "+base[:7]) {
		t.Fatalf("while the base's run goes: %s %s", cr.Status, cr.Summary)
	}

	if _, err := e.gh.UploadArtifact(testRepo, baseRun, "dbt-manifest", map[string]string{"manifest.json": ciManifestJSON("select 1")}); err != nil {
		t.Fatal(err)
	}
	if err := e.gh.SetWorkflowRunStatus(testRepo, baseRun, "completed", "success"); err != nil {
		t.Fatal(err)
	}
	e.deliverDecoded("workflow_run", e.gh.WorkflowRunEvent("completed", testRepo, baseRun))
	cr = e.waitForCheck(pr.HeadSHA, "analytics", "compared dbt's manifests with the base")
	if cr.Status != StatusCompleted || !strings.Contains(cr.Summary+cr.Text, "stg_orders") {
		t.Fatalf("after the base's run: %s/%s\n%s", cr.Status, cr.Conclusion, cr.Summary)
	}
}
