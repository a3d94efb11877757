package deploy

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-github/v66/github"

	"github.com/conveyor-dev/conveyor/deploy/driver"
	"github.com/conveyor-dev/conveyor/internal/serverconfig"
	"github.com/conveyor-dev/conveyor/internal/testwait"
)

// deployWorkflow declares the five inputs the github-workflow driver sends.
const deployWorkflow = `name: deploy
on:
  workflow_dispatch:
    inputs:
      environment: {required: true}
      sha: {required: true}
      artifact: {required: true}
      percent: {required: true}
      action: {required: true}
jobs:
  deploy:
    runs-on: ubuntu-latest
    environment: ${{ inputs.environment }}
    steps:
      - run: ./deploy.sh
`

// recordDeployment records on GitHub a deployment of sha to environment
// that Conveyor did not make, as a team's own workflow job with an
// environment leaves one, and gives it the statuses listed.
func (e *env) recordDeployment(sha, environment string, payload map[string]any, states ...string) int64 {
	e.t.Helper()
	gh, err := e.gh.InstallationClient(installation)
	if err != nil {
		e.t.Fatal(err)
	}
	owner, name, _ := strings.Cut(repo, "/")
	ctx := context.Background()
	req := &github.DeploymentRequest{Ref: github.String(sha), Environment: github.String(environment), RequiredContexts: &[]string{}}
	if payload != nil {
		req.Payload = payload
	}
	d, _, err := gh.Repositories.CreateDeployment(ctx, owner, name, req)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, st := range states {
		if _, _, err := gh.Repositories.CreateDeploymentStatus(ctx, owner, name, d.GetID(), &github.DeploymentStatusRequest{State: github.String(st)}); err != nil {
			e.t.Fatal(err)
		}
	}
	return d.GetID()
}

// completeRuns finishes every workflow run the driver dispatches, with
// success, until the test ends: the deploy workflow "runs".
func (e *env) completeRuns() {
	done := make(chan struct{})
	e.t.Cleanup(func() { close(done) })
	go func() {
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			for _, run := range e.gh.WorkflowRuns(repo) {
				if run.Status != "completed" {
					e.gh.CompleteWorkflowRun(repo, run.ID, "success") // the webhook has no receiver here
				}
			}
		}
	}()
}

// only keeps the request's app web, shipped by driver drv.
func only(r Request, drv string) Request {
	for _, a := range r.Artifacts {
		if a.Name == "web" {
			a.Driver = drv
			r.Artifacts = []ArtifactPlan{a}
			return r
		}
	}
	panic("the request has no web")
}

func rollbackRequest(pr int) Request {
	return Request{Repository: repo, InstallationID: installation, PR: pr, Environment: "production",
		Requester: "alice", SourceKey: "comment:rollback"}
}

// TestWorkflowAppRollsBackToWhatServedBeforeConveyor: a team deployed web
// with its own workflow (GitHub recorded the deployment); Conveyor's first
// deploy through the same workflow finds that commit in GitHub's
// Deployments, and /rollback dispatches the workflow with it.
func TestWorkflowAppRollsBackToWhatServedBeforeConveyor(t *testing.T) {
	var drv driver.Driver
	e := newEnv(t, func(e *env) {
		cfg := serverconfig.Driver{Type: "github-workflow", Workflow: "deploy.yml"}
		cfg.PollInterval.Duration = 10 * time.Millisecond
		var err error
		if drv, err = driver.New("web-wf", cfg, driver.Deps{GitHub: cachedClients(e.gh)}); err != nil {
			t.Fatal(err)
		}
		e.opts.Drivers = func(string) (driver.Driver, error) { return drv, nil }
	})
	wf := deployWorkflow
	e.gh.Commit(repo, "main", map[string]*string{".github/workflows/deploy.yml": &wf}, "deploy workflow")
	v1 := "v1"
	before := e.gh.Commit(repo, "main", map[string]*string{"app/VERSION": &v1}, "v1")
	e.recordDeployment(before, "production", nil, "in_progress", "success")
	// Newer, but not what serves web: another app's, a failed one, and
	// one on another environment.
	e.recordDeployment(before, "production", map[string]any{"artifact": "api"}, "success")
	e.recordDeployment(e.gh.Commit(repo, "main", nil, "v1.1"), "production", nil, "failure")
	e.recordDeployment(e.gh.BranchSHA(repo, "main"), "staging", nil, "success")
	e.completeRuns()

	pr := e.openPR("feature")
	d := e.wait(e.startOK(only(request(pr, "production"), "web-wf")).ID, StateSucceeded, StateFailed)
	if d.State != StateSucceeded {
		t.Fatalf("the first deploy ended %s: %s", d.State, d.Error)
	}
	if a := d.Artifacts[0]; a.Previous != before || !strings.Contains(a.Output, "what served before: "+before[:7]+", the commit of GitHub Deployment") {
		t.Fatalf("web previous = %q (want %s), output:\n%s", a.Previous, before[:7], a.Output)
	}
	rb, err := e.engine.Rollback(context.Background(), rollbackRequest(pr.Number))
	if err != nil {
		t.Fatal(err)
	}
	if rb = e.wait(rb.ID, StateSucceeded, StateFailed); rb.State != StateSucceeded {
		t.Fatalf("the rollback ended %s: %s", rb.State, rb.Error)
	}
	if !strings.Contains(rb.Artifacts[0].Summary, "what served before Conveyor's first deployment here") {
		t.Errorf("rollback summary = %q", rb.Artifacts[0].Summary)
	}
	ds := e.gh.WorkflowDispatches(repo)
	if len(ds) != 2 {
		t.Fatalf("dispatches = %+v, want the deploy and the rollback", ds)
	}
	if in := ds[0].Inputs; in["sha"] != pr.HeadSHA || in["action"] != "deploy" {
		t.Errorf("deploy inputs = %v", in)
	}
	if in := ds[1].Inputs; in["sha"] != before || in["action"] != "rollback" || in["environment"] != "production" || in["artifact"] != "web" {
		t.Errorf("rollback inputs = %v, want sha %s and action rollback", in, before)
	}
}

// TestWorkflowAppWithNothingRecordedSaysSo: with no deployment GitHub
// recorded outside Conveyor, the deploy says what served before is unknown,
// and /rollback says there is nothing to return to and what to do instead.
func TestWorkflowAppWithNothingRecordedSaysSo(t *testing.T) {
	e := newEnv(t, func(e *env) {
		cfg := serverconfig.Driver{Type: "github-workflow", Workflow: "deploy.yml"}
		cfg.PollInterval.Duration = 10 * time.Millisecond
		drv, err := driver.New("web-wf", cfg, driver.Deps{GitHub: cachedClients(e.gh)})
		if err != nil {
			t.Fatal(err)
		}
		e.opts.Drivers = func(string) (driver.Driver, error) { return drv, nil }
	})
	wf := deployWorkflow
	e.gh.Commit(repo, "main", map[string]*string{".github/workflows/deploy.yml": &wf}, "deploy workflow")
	e.completeRuns()
	pr := e.openPR("feature")
	d := e.wait(e.startOK(only(request(pr, "production"), "web-wf")).ID, StateSucceeded, StateFailed)
	if a := d.Artifacts[0]; d.State != StateSucceeded || a.Previous != "" ||
		!strings.Contains(a.Output, "what served before: unknown; GitHub records no successful deployment of web to production outside Conveyor") {
		t.Fatalf("deploy %s, previous %q, output:\n%s", d.State, a.Previous, a.Output)
	}
	_, err := e.engine.Rollback(context.Background(), rollbackRequest(pr.Number))
	var nothing *NothingToReturnToError
	if !errors.As(err, &nothing) || !strings.Contains(err.Error(), "deploy a known good SHA with /deploy production instead") || strings.Contains(err.Error(), "try again") {
		t.Fatalf("rollback = %v", err)
	}
}

// fakeDBTBuild "builds" by recording the checkout's VERSION file.
const fakeDBTBuild = "#!/bin/sh\ncat VERSION >> \"$DBT_RECORD\"\necho \"Completed successfully\"\n"

// TestDBTRollsBackToWhatServedBeforeConveyor: the data team's last dbt
// deployment is recorded on GitHub; Conveyor's first dbt deploy reports it,
// and /rollback rebuilds the project from that commit.
func TestDBTRollsBackToWhatServedBeforeConveyor(t *testing.T) {
	dir := t.TempDir()
	record := filepath.Join(dir, "built")
	script := filepath.Join(dir, "dbt")
	if err := os.WriteFile(script, []byte(fakeDBTBuild), 0o755); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, func(e *env) {
		cfg := serverconfig.Driver{Type: "dbt", Command: []string{script, "build"}, Env: map[string]string{"DBT_RECORD": record}}
		drv, err := driver.New("dbt", cfg, driver.Deps{GitHub: cachedClients(e.gh), WorkDir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		e.opts.Drivers = func(string) (driver.Driver, error) { return drv, nil }
	})
	project, v1, v2 := "name: analytics\n", "v1\n", "v2\n"
	model := "select 1 as id\n"
	before := e.gh.Commit(repo, "main", map[string]*string{"analytics/dbt_project.yml": &project, "analytics/models/orders.sql": &model, "analytics/VERSION": &v1}, "analytics v1")
	e.recordDeployment(before, "production", map[string]any{"artifact": "analytics"}, "success")
	e.gh.Commit(repo, "feature", map[string]*string{"analytics/VERSION": &v2}, "analytics v2")
	pr := e.gh.OpenPR(repo, "feature", "main", "analytics v2", "octocat")

	r := request(pr, "production")
	r.Artifacts = []ArtifactPlan{{Name: "analytics", Kind: "dbt", Driver: "dbt", Spec: driver.EncodeSpec(&driver.DBTRef{Project: "analytics"}), Summary: "analytics @ " + pr.HeadSHA[:7]}}
	d := e.wait(e.startOK(r).ID, StateSucceeded, StateFailed)
	if d.State != StateSucceeded {
		t.Fatalf("the first dbt deploy ended %s: %s", d.State, d.Error)
	}
	if a := d.Artifacts[0]; a.Previous != before || !strings.Contains(a.Output, "what served before: "+before[:7]) {
		t.Fatalf("previous = %q (want %s), output:\n%s", a.Previous, before[:7], a.Output)
	}
	rb, err := e.engine.Rollback(context.Background(), rollbackRequest(pr.Number))
	if err != nil {
		t.Fatal(err)
	}
	if rb = e.wait(rb.ID, StateSucceeded, StateFailed); rb.State != StateSucceeded {
		t.Fatalf("the rollback ended %s: %s", rb.State, rb.Error)
	}
	var built string
	testwait.For(t, "dbt to build twice", func() bool {
		b, _ := os.ReadFile(record)
		built = string(b)
		return strings.Count(built, "\n") >= 2
	}, func() string { return built })
	if built != "v2\nv1\n" {
		t.Errorf("dbt built %q, want v2 (the deploy) then v1 (the rollback to what served before)", built)
	}
}
