package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/conveyor-dev/conveyor/deploy"
	"github.com/conveyor-dev/conveyor/examples"
	"github.com/conveyor-dev/conveyor/internal/ghfake"
	"github.com/conveyor-dev/conveyor/internal/store"
)

// govWorld is the real server (checks, commands, deploy) on the example
// monorepo, for pull requests that edit .github/conveyor.yml to weaken their
// own gate: every scenario of the issue, end to end.
type govWorld struct {
	t    *testing.T
	ctx  context.Context
	d    *demo
	base string // the example config
}

func newGovWorld(t *testing.T) *govWorld {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	dir := t.TempDir()
	var log bytes.Buffer
	d := &demo{out: &log, dir: dir, secret: "gov-secret", failing: filepath.Join(dir, "unused"), prs: map[int]*ghfake.PR{}}
	if err := d.start(ctx, &demoOptions{}, "../../examples/monorepo"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.stop)
	b, err := os.ReadFile("../../examples/monorepo/.github/conveyor.yml")
	if err != nil {
		t.Fatal(err)
	}
	return &govWorld{t: t, ctx: ctx, d: d, base: string(b)}
}

// edited is the example config with each old -> new replacement applied.
func (w *govWorld) edited(edits ...[2]string) string {
	w.t.Helper()
	c := w.base
	for _, e := range edits {
		if !strings.Contains(c, e[0]) {
			w.t.Fatalf("the example config lacks %q", e[0])
		}
		c = strings.Replace(c, e[0], e[1], 1)
	}
	return c
}

// open opens a PR with files (the config among them) and reports build and
// test as passed when ci is set.
func (w *govWorld) open(branch string, files map[string]string, ci bool) *ghfake.PR {
	w.t.Helper()
	pr, err := w.d.openPR(w.ctx, branch, branch, "dev", &examples.Change{Files: files})
	if err != nil {
		w.t.Fatal(err)
	}
	if ci {
		for _, name := range []string{"build", "test"} {
			w.d.gh.SetStatus(demoRepo, pr.HeadSHA, name, "success")
			if _, _, err := w.d.gh.Send("status", w.d.gh.StatusEvent(demoRepo, pr.HeadSHA, name, "success")); err != nil {
				w.t.Fatal(err)
			}
		}
	}
	return pr
}

// runs waits until the named check runs exist on the PR's head and ready
// says they are settled, and returns the newest run of each name.
func (w *govWorld) runs(pr *ghfake.PR, ready func(map[string]ghfake.CheckRun) bool) map[string]ghfake.CheckRun {
	w.t.Helper()
	var byName map[string]ghfake.CheckRun
	err := wait(w.ctx, "the check suite", func() bool {
		byName = map[string]ghfake.CheckRun{}
		for _, r := range latestRuns(w.d.gh.CheckRuns(demoRepo, pr.HeadSHA)) {
			byName[r.Name] = r
		}
		return ready(byName)
	})
	if err != nil {
		w.t.Fatalf("%v; runs %v", err, byName)
	}
	return byName
}

func completed(names ...string) func(map[string]ghfake.CheckRun) bool {
	return func(runs map[string]ghfake.CheckRun) bool {
		for _, n := range names {
			if r, ok := runs[n]; !ok || r.Status != "completed" {
				return false
			}
		}
		return true
	}
}

// reply comments body as login and returns the bot's answer.
func (w *govWorld) reply(pr *ghfake.PR, login, body string) string {
	w.t.Helper()
	before := len(w.d.botComments(pr))
	if _, err := w.d.comment(pr, login, body); err != nil {
		w.t.Fatal(err)
	}
	if err := wait(w.ctx, "the reply to "+body, func() bool { return len(w.d.botComments(pr)) > before }); err != nil {
		w.t.Fatal(err)
	}
	c := w.d.botComments(pr)
	return c[len(c)-1].Body
}

func (w *govWorld) deployments(pr *ghfake.PR) int {
	rows, err := store.ListDeployments(w.ctx, w.d.srv.Store.DB, store.DeploymentFilter{Repository: demoRepo, PR: pr.Number})
	if err != nil {
		w.t.Fatal(err)
	}
	return len(rows)
}

func mustHave(t *testing.T, what, got string, wants ...string) {
	t.Helper()
	for _, want := range wants {
		if !strings.Contains(got, want) {
			t.Errorf("%s lacks %q:\n%s", what, want, got)
		}
	}
}

// The scenarios, through the real server: a PR's own config decides
// nothing about its gate, /plan or /deploy, and the gate shows the diff.
func TestHeadConfigDoesNotGovernEndToEnd(t *testing.T) {
	w := newGovWorld(t)

	t.Run("evaluation thresholds", func(t *testing.T) {
		pr := w.open("auc-min-zero", map[string]string{
			".github/conveyor.yml": w.edited([2]string{"evaluation: {metric: auc, min: 0.90, max_regression: 0.005}", "evaluation: {metric: auc, min: 0.0, max_regression: 1.0}"}),
			"models/fraud.yaml":    "registry: main\nmodel: fraud-detector\nversion: \"15\"\n",
		}, true)
		runs := w.runs(pr, completed("conveyor", "conveyor / fraud-model"))
		if m := runs["conveyor / fraud-model"]; m.Conclusion != "failure" || !strings.Contains(m.Title, "auc 0.89 is below the minimum 0.9") {
			t.Errorf("fraud-model = %s %q, want the base's minimum to fail auc 0.89", m.Conclusion, m.Title)
		}
		gate := runs["conveyor"]
		if gate.Conclusion != "failure" {
			t.Errorf("gate = %s", gate.Conclusion)
		}
		mustHave(t, "the gate", gate.Summary, "Governance changes take effect after merge",
			"| `artifacts.fraud-model.evaluation.min` | 0.9 | 0 |", "| `artifacts.fraud-model.evaluation.max_regression` | 0.005 | 1 |")
		// Production is refused on the base's thresholds (the head's would
		// have passed: min 0, max_regression 1). A quality finding is
		// overridable, so staging would only warn: that is the policy's
		// rule for any failing model, not something the head bought.
		mustHave(t, "/plan production", w.reply(pr, "dev", "/plan production"), "Policy: **deny**",
			"fraud-model: auc is 0.89 (minimum 0.9", "the model evaluation did not pass",
			"Governance changes take effect after merge", "`artifacts.fraud-model.evaluation.min`: 0.9 -> 0")
	})

	t.Run("ci", func(t *testing.T) {
		pr := w.open("no-ci", map[string]string{
			".github/conveyor.yml": w.edited([2]string{`ci: ["build", "test"]`, `ci: []`}),
			"services/web/VERSION": "2.1.0\n",
		}, false)
		runs := w.runs(pr, func(r map[string]ghfake.CheckRun) bool {
			web, ok := r["conveyor / web"]
			return ok && r["conveyor"].Summary != "" && strings.Contains(web.Title, "waiting for CI")
		})
		if web := runs["conveyor / web"]; web.Status == "completed" || !strings.Contains(web.Title, "build, test") {
			t.Errorf("web = %s %q, want waiting for build, test", web.Status, web.Title)
		}
		if runs["conveyor"].Status == "completed" {
			t.Errorf("gate = %s %s, want waiting", runs["conveyor"].Status, runs["conveyor"].Conclusion)
		}
		mustHave(t, "the gate", runs["conveyor"].Summary, "| `artifacts.web.ci` | [build, test] | (none) |")
		mustHave(t, "/deploy staging", w.reply(pr, "dev", "/deploy staging"), "the conveyor check is still running")
		if n := w.deployments(pr); n != 0 {
			t.Errorf("%d deployments without CI", n)
		}
	})

	t.Run("deploy.driver", func(t *testing.T) {
		pr := w.open("other-driver", map[string]string{
			".github/conveyor.yml": w.edited([2]string{"deploy: {driver: web-deploy}", "deploy: {driver: dbt}"}),
			"services/web/VERSION": "2.2.0\n",
		}, true)
		runs := w.runs(pr, completed("conveyor", "conveyor / web"))
		if runs["conveyor"].Conclusion != "success" {
			t.Fatalf("gate = %s %q", runs["conveyor"].Conclusion, runs["conveyor"].Summary)
		}
		mustHave(t, "the gate", runs["conveyor"].Summary, "| `artifacts.web.deploy.driver` | web-deploy | dbt |")
		if _, err := w.d.comment(pr, "dev", "/deploy staging"); err != nil {
			t.Fatal(err)
		}
		state, status, err := w.d.waitDeployment(w.ctx, pr, "staging", finalStates)
		if err != nil {
			t.Fatal(err)
		}
		dep := w.d.lastDeployment
		if state != deploy.StateSucceeded || len(dep.Artifacts) != 1 || dep.Artifacts[0].Driver != "web-deploy" {
			t.Fatalf("deployment %s with %+v, want web on the base's driver web-deploy\n%s", state, dep.Artifacts, status)
		}
	})

	t.Run("environments", func(t *testing.T) {
		pr := w.open("no-approvals", map[string]string{
			".github/conveyor.yml": w.edited(
				[2]string{"    requires: [staging]\n", ""},
				[2]string{`approvals: {count: 2, from: ["acme/sre", "acme/ml-leads"]}`, `approvals: {count: 0}`},
				[2]string{"staging: {}", `staging: {freeze: ["Mon 00:00-Mon 00:01 UTC"]}`}),
			"services/web/VERSION": "2.3.0\n",
		}, true)
		runs := w.runs(pr, completed("conveyor", "conveyor / web"))
		mustHave(t, "the gate", runs["conveyor"].Summary,
			"| `environments.production.requires` | [staging] | (none) |",
			"| `environments.production.approvals.count` | 2 | (none) |",
			"| `environments.staging.freeze` | (none) | [Mon 00:00-Mon 00:01 UTC] |")
		mustHave(t, "/plan production", w.reply(pr, "dev", "/plan production"),
			"production requires a successful deployment", "Approvals needed: 2")
	})

	t.Run("owners", func(t *testing.T) {
		// The base branch runs fraud-model on 16 GPUs, over acme/ml's quota.
		w.d.gh.Commit(demoRepo, "main", ptrs(map[string]string{".github/conveyor.yml": w.edited([2]string{"gpu: 1, replicas: 2", "gpu: 8, replicas: 2"})}), "more GPUs")
		w.base = w.edited([2]string{"gpu: 1, replicas: 2", "gpu: 8, replicas: 2"})
		pr := w.open("to-dev", map[string]string{
			".github/conveyor.yml": w.edited([2]string{`owners: ["@acme/ml"]
    evaluation: {metric: auc`, `owners: ["@dev"]
    evaluation: {metric: auc`}),
			"models/fraud.yaml": "registry: main\nmodel: fraud-detector\nversion: \"14\"\n",
		}, true)
		runs := w.runs(pr, completed("conveyor", "conveyor / fraud-model"))
		m := runs["conveyor / fraud-model"]
		if m.Conclusion != "failure" {
			t.Errorf("fraud-model = %s %q, want the acme/ml quota to deny", m.Conclusion, m.Title)
		}
		mustHave(t, "fraud-model", m.Summary, "team acme/ml would use 16 GPU")
		mustHave(t, "the gate", runs["conveyor"].Summary, "| `artifacts.fraud-model.owners` | [acme/ml] | [dev] |")
		mustHave(t, "/plan staging", w.reply(pr, "dev", "/plan staging"), "team acme/ml would use 16 GPU in staging")
	})

	t.Run("resources", func(t *testing.T) {
		// Still 16 GPUs on the base (set by the owners case); the PR claims none.
		pr := w.open("no-gpus", map[string]string{
			".github/conveyor.yml": w.edited([2]string{"gpu: 8, replicas: 2", "gpu: 0, replicas: 2"}),
			"models/fraud.yaml":    "registry: main\nmodel: fraud-detector\nversion: \"14\"\n",
		}, true)
		runs := w.runs(pr, completed("conveyor", "conveyor / fraud-model"))
		mustHave(t, "fraud-model", runs["conveyor / fraud-model"].Summary, "team acme/ml would use 16 GPU")
		mustHave(t, "the gate", runs["conveyor"].Summary, "| `artifacts.fraud-model.resources.gpu` | 8 | (none) |")
		mustHave(t, "/plan production", w.reply(pr, "dev", "/plan production"), "team acme/ml would use 16 GPU in production")
	})
}

// A deployment that takes an environment changes what every other open
// pull request of the repository may do there: their Readiness says so
// without any event of their own, and says so no more once it ended.
func TestOtherPullRequestsSeeADeploymentHoldTheEnvironment(t *testing.T) {
	t.Parallel()
	w := newGovWorld(t)
	a := w.open("holder", map[string]string{"services/web/VERSION": "2.1.0\n"}, true)
	b := w.open("bystander", map[string]string{"services/web/app.py": "print('b')\n"}, true)
	w.runs(a, completed("conveyor", "conveyor / web"))
	runs := w.runs(b, completed("conveyor", "conveyor / web"))
	held := fmt.Sprintf("of PR #%d to finish", a.Number)
	if strings.Contains(runs["conveyor / web"].Text, held) {
		t.Fatalf("held before any deployment:\n%s", runs["conveyor / web"].Text)
	}
	if err := w.d.commentAndDeploy(w.ctx, a, "dev", "/deploy staging", "staging"); err != nil {
		t.Fatal(err)
	}
	// Production needs two approvals: the deployment waits for them,
	// holding production.
	mustHave(t, "/deploy production", w.reply(a, "dev", "/deploy production"), "approval")
	runs = w.runs(b, func(r map[string]ghfake.CheckRun) bool {
		return strings.Contains(r["conveyor / web"].Summary+r["conveyor / web"].Text, held)
	})
	mustHave(t, "the bystander's web check", runs["conveyor / web"].Text, "production: needs", "awaiting approval, by @dev")
	// Cancelled: production is free again for the bystander.
	mustHave(t, "/cancel", w.reply(a, "dev", "/cancel"), "cancel")
	w.runs(b, func(r map[string]ghfake.CheckRun) bool {
		s := r["conveyor / web"].Text
		return s != "" && !strings.Contains(s, held)
	})
}
