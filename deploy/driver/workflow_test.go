package driver

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/conveyor-dev/conveyor/internal/serverconfig"
)

func newWorkflowWorld(t *testing.T, timeout time.Duration, cfg serverconfig.Driver) (contractWorld, *fakeGitHub) {
	gh := newFakeGitHub(t)
	gh.serving = shaOld
	cfg.Type = "github-workflow"
	if cfg.Workflow == "" {
		cfg.Workflow = "deploy.yml"
	}
	cfg.Timeout.Duration = timeout
	cfg.PollInterval.Duration = 10 * time.Millisecond
	d, err := New("app-wf", cfg, gh.deps())
	if err != nil {
		t.Fatal(err)
	}
	return contractWorld{
		driver:  d,
		target:  appTarget(),
		setMode: gh.setMode,
		serving: func() string { gh.mu.Lock(); defer gh.mu.Unlock(); return gh.serving },
		observed: func() observation {
			gh.mu.Lock()
			defer gh.mu.Unlock()
			if gh.lastRun == nil {
				return observation{}
			}
			in := gh.lastRun.Inputs
			return observation{Env: in["environment"].(string), Subject: in["sha"].(string), Partial: in["percent"] != "100"}
		},
	}, gh
}

var workflowHarness = contractHarness{
	name:     "github-workflow",
	failText: "https://github.example/acme/shop/actions/runs/",
	setup: func(t *testing.T, timeout time.Duration) contractWorld {
		w, _ := newWorkflowWorld(t, timeout, serverconfig.Driver{})
		return w
	},
}

func TestWorkflowDispatchInputsAndRef(t *testing.T) {
	w, gh := newWorkflowWorld(t, time.Minute, serverconfig.Driver{Ref: "release"})
	tg := w.target
	tg.Percent = 50
	res, err := w.driver.Rollback(context.Background(), tg, nil)
	if err != nil {
		t.Fatal(err)
	}
	in := gh.lastRun.Inputs
	want := map[string]any{"environment": "production", "sha": shaOld, "artifact": "web", "percent": "50", "action": "rollback"}
	for k, v := range want {
		if in[k] != v {
			t.Errorf("input %s = %v, want %v", k, in[k], v)
		}
	}
	if gh.lastRun.Ref != "release" {
		t.Errorf("dispatched on %q, want the configured ref release", gh.lastRun.Ref)
	}
	if !strings.HasSuffix(res.URL, fmt.Sprintf("/actions/runs/%d", gh.lastRun.ID)) {
		t.Errorf("Result.URL = %q, want the run's html_url", res.URL)
	}
}

func TestWorkflowDefaultsToDefaultBranch(t *testing.T) {
	w, gh := newWorkflowWorld(t, time.Minute, serverconfig.Driver{})
	if _, err := w.driver.Deploy(context.Background(), w.target, nil); err != nil {
		t.Fatal(err)
	}
	if gh.lastRun.Ref != "main" {
		t.Errorf("dispatched on %q, want the default branch main", gh.lastRun.Ref)
	}
}

func TestWorkflowNotifyWakesTheWaiter(t *testing.T) {
	gh := newFakeGitHub(t)
	cfg := serverconfig.Driver{Type: "github-workflow", Workflow: "deploy.yml"}
	cfg.Timeout.Duration = time.Minute
	cfg.PollInterval.Duration = time.Hour // only Notify can move it along
	d, err := New("app-wf", cfg, gh.deps())
	if err != nil {
		t.Fatal(err)
	}
	progressed := make(chan string, 16)
	done := make(chan error, 1)
	go func() {
		_, err := d.Deploy(context.Background(), appTarget(), func(l string) { progressed <- l })
		done <- err
	}()
	// Each Notify wakes the deploy once: find the run, see it in progress,
	// see it complete. Notify repeatedly until it finishes.
	for {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			if gh.serving != shaNew {
				t.Errorf("serving %q, want %q", gh.serving, shaNew)
			}
			return
		case <-progressed:
			Notify("ACME/shop", 0)
		}
	}
}

func TestWorkflowDispatchErrorSaysWhatToCheck(t *testing.T) {
	_, err := New("app-wf", serverconfig.Driver{Type: "github-workflow"}, Deps{})
	if err == nil || !strings.Contains(err.Error(), "drivers.app-wf.workflow") {
		t.Errorf("New without workflow = %v; want it to name drivers.app-wf.workflow", err)
	}
	w, _ := newWorkflowWorld(t, time.Minute, serverconfig.Driver{Workflow: "missing.yml"})
	_, err = w.driver.Deploy(context.Background(), w.target, nil)
	for _, part := range []string{"dispatch workflow missing.yml on main", "404", "declares the inputs", `"app-wf"`, "web"} {
		if err == nil || !strings.Contains(err.Error(), part) {
			t.Errorf("err = %v; want it to mention %q", err, part)
		}
	}
}

// The PR's branch name and dbt selection never reach the dispatch: it runs
// on the configured ref (or the default branch) with the five inputs the
// server fills from names the config validated, the commit SHA and numbers.
func TestWorkflowDispatchCarriesNoPRText(t *testing.T) {
	w, gh := newWorkflowWorld(t, time.Minute, serverconfig.Driver{})
	tg := w.target
	tg.Ref = "--upload-pack=evil"
	tg.Spec = EncodeSpec(&DBTRef{Select: []string{"--profiles-dir=evil"}})
	if _, err := w.driver.Deploy(context.Background(), tg, nil); err != nil {
		t.Fatal(err)
	}
	if gh.lastRun.Ref != "main" {
		t.Errorf("dispatched on %q, want the default branch", gh.lastRun.Ref)
	}
	if len(gh.lastRun.Inputs) != 5 {
		t.Errorf("inputs = %v, want exactly environment, sha, artifact, percent, action", gh.lastRun.Inputs)
	}
	for k, v := range gh.lastRun.Inputs {
		if s := fmt.Sprint(v); strings.HasPrefix(s, "-") || strings.Contains(s, "evil") {
			t.Errorf("input %s = %q carries PR text", k, s)
		}
	}
}
