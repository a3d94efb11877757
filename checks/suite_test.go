package checks

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/conveyor-dev/conveyor/examples"
	"github.com/conveyor-dev/conveyor/internal/ghfake"
	"github.com/conveyor-dev/conveyor/internal/mlflowfake"
	"github.com/conveyor-dev/conveyor/internal/store"
	"github.com/conveyor-dev/conveyor/internal/testwait"
)

// TestSuiteEndToEnd runs scripted PRs through webhook -> job -> GitHub facts
// -> evaluators -> check runs written to the emulator.
func TestSuiteEndToEnd(t *testing.T) {
	for i, name := range []string{"good", "auc-regression", "contract-break", "missing-tests", "broken-config"} {
		t.Run(name, func(t *testing.T) {
			e := newGHEnv(t, 2, 20*time.Millisecond)
			ch, err := examples.LoadChange(filepath.Join(exampleDir, "changes", name))
			if err != nil {
				t.Fatal(err)
			}
			pr := e.openChange(fmt.Sprintf("change-%d", i), name)
			e.postCI(pr.HeadSHA, "build", "completed", "success")
			e.postCI(pr.HeadSHA, "test", "completed", "success")
			for _, cr := range e.gh.CheckRuns(testRepo, pr.HeadSHA) {
				e.send("check_run", e.gh.CheckRunEvent("completed", testRepo, cr.ID, "", ""))
			}
			e.send("pull_request", e.gh.PullRequestEvent("opened", pr))
			runs := e.waitSettled(pr.HeadSHA)

			gate := runs[GateName]
			if gate.Conclusion != ch.Expect.Gate {
				t.Errorf("gate = %s %q, want %s\n%s", gate.Conclusion, gate.Title, ch.Expect.Gate, gate.Summary)
			}
			for art, want := range ch.Expect.Artifacts {
				cr, ok := runs[CheckName(art)]
				if !ok || cr.Conclusion != want {
					t.Errorf("%s = %q %q, want %s\n%s", CheckName(art), cr.Conclusion, cr.Title, want, cr.Summary)
				}
				if !strings.Contains(cr.Summary, "| stage | result | details |") {
					t.Errorf("%s summary lacks the stage table:\n%s", art, cr.Summary)
				}
			}
			for _, p := range ch.Expect.Problems {
				found := false
				for _, a := range gate.Annotations {
					found = found || (a.Path == p.File && a.StartLine == p.Line && strings.Contains(a.Message, p.Contains))
				}
				if !found {
					t.Errorf("gate has no annotation at %s:%d containing %q: %+v", p.File, p.Line, p.Contains, gate.Annotations)
				}
			}
			if got, err := e.suite.GateConclusion(context.Background(), testRepo, pr.HeadSHA); err != nil || got != ch.Expect.Gate {
				t.Errorf("GateConclusion = %q, %v; want %s", got, err, ch.Expect.Gate)
			}
			// What /deploy reads: the gate, the evidence per artifact, and
			// whether the red gate is red only on findings the policy's gates
			// judge.
			st, err := e.suite.GateStatus(context.Background(), testRepo, pr.HeadSHA)
			if err != nil || st.Conclusion != ch.Expect.Gate {
				t.Fatalf("GateStatus = %+v, %v; want gate %s", st, err, ch.Expect.Gate)
			}
			evs, overridable := st.Evidence, st.Overridable
			if want := name == "auc-regression" || name == "contract-break" || name == "missing-tests"; overridable != want {
				t.Errorf("overridable = %v, want %v", overridable, want)
			}
			switch name {
			case "auc-regression":
				if m := evs["fraud-model"].Metrics; m == nil || m.Passed || m.Metric != "auc" || m.Candidate != 0.89 {
					t.Errorf("fraud-model metrics evidence = %+v", m)
				}
			case "contract-break":
				if d := evs["analytics"].DBT; d == nil || len(d.ContractBreaks) == 0 {
					t.Errorf("analytics dbt evidence = %+v, want contract breaks", d)
				}
			case "missing-tests":
				if d := evs["analytics"].DBT; d == nil || len(d.Untested) == 0 {
					t.Errorf("analytics dbt evidence = %+v, want untested models", d)
				}
			case "good":
				if m := evs["fraud-model"].Metrics; m == nil || !m.Passed {
					t.Errorf("fraud-model metrics evidence = %+v, want passed", m)
				}
				if ci := evs["web"].CI; ci["build"] != "success" {
					t.Errorf("web CI evidence = %v", ci)
				}
			}
			switch name {
			case "good":
				if len(runs) != 4 {
					t.Errorf("check runs = %d, want the gate and web, fraud-model, analytics", len(runs))
				}
				if acts := runs[CheckName("web")].Actions; len(acts) != 2 || acts[0].Identifier != "deploy-staging" || acts[0].Label != "Deploy to staging" {
					t.Errorf("web actions = %+v", acts)
				}
				// The app developer's view lists the PR's commits, read from GitHub.
				if txt := runs[CheckName("web")].Summary; !strings.Contains(txt, "### Commits (1)") || !strings.Contains(txt, "`"+pr.HeadSHA[:7]+"`") {
					t.Errorf("web check summary lacks the PR's commit %s:\n%s", pr.HeadSHA[:7], txt)
				}
				// The dbt models a deploy of this SHA builds (and what is downstream).
				if sel := st.Selections["analytics"]; strings.Join(sel, ",") != "stg_orders" {
					t.Errorf("analytics selection = %v; want [stg_orders]", sel)
				}
				if sel := st.Selections["web"]; len(sel) > 0 {
					t.Errorf("web has a selection %v; only dbt artifacts select", sel)
				}
			case "auc-regression":
				if s := runs[CheckName("fraud-model")].Summary; !strings.Contains(s, "| auc | ≥ 0.9; at most 0.005 below production; higher is better | 0.89 | 0.93 | 0.93 | -0.04 (worse) |") {
					t.Errorf("model summary lacks the metric table:\n%s", s)
				}
			case "contract-break", "missing-tests":
				anns := runs[CheckName("analytics")].Annotations
				if len(anns) == 0 || !strings.HasPrefix(anns[0].Path, "analytics/") || anns[0].StartLine < 1 {
					t.Errorf("analytics annotations = %+v, want file:line in analytics/", anns)
				}
			}
		})
	}
}

func TestGateConclusionUnknownSHA(t *testing.T) {
	e := newGHEnv(t, 0, time.Second)
	if got, err := e.suite.GateConclusion(context.Background(), testRepo, "nope"); err != nil || got != "" {
		t.Errorf("GateConclusion(unknown) = %q, %v; want empty", got, err)
	}
	if _, err := New(Options{}).GateConclusion(context.Background(), testRepo, "x"); err == nil {
		t.Error("GateConclusion without a store did not fail")
	}
}

func TestRegistryUnreachableEndToEnd(t *testing.T) {
	e := newGHEnv(t, 2, 20*time.Millisecond, func(o *Options) { o.RetryDelay = 200 * time.Millisecond })
	pr := e.openPR("model", map[string]*string{"models/fraud.yaml": strp("registry: main\nmodel: fraud-detector\nversion: \"14\"\n")})
	e.ml.FailNext("/api/2.0/mlflow", 1000, 503)
	e.send("pull_request", e.gh.PullRequestEvent("opened", pr))
	// The check waits, says when it tries again, and never turns green or red.
	var m ghfake.CheckRun
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if m = e.checkRuns(pr.HeadSHA)[CheckName("fraud-model")]; strings.Contains(m.Summary, "trying again at") {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if m.Status != StatusInProgress || m.Conclusion != "" || !regexp.MustCompile(`registry "main" unreachable, trying again at \d\d:\d\d UTC`).MatchString(m.Summary) {
		t.Fatalf("registry down: model check %s/%s:\n%s", m.Status, m.Conclusion, m.Summary)
	}
	if strings.Contains(m.Summary, "Re-run") || strings.Contains(m.Summary, "run conveyor check") {
		t.Errorf("the PR check tells the author to do what it does itself:\n%s", m.Summary)
	}
	// The registry comes back: the scheduled re-evaluation completes the check
	// without any event from GitHub.
	e.ml.ClearFaults()
	runs := e.waitSettled(pr.HeadSHA)
	if m = runs[CheckName("fraud-model")]; m.Status != StatusCompleted || m.Conclusion != Success {
		t.Fatalf("after the registry came back: %s/%s\n%s", m.Status, m.Conclusion, m.Summary)
	}
}

func strp(s string) *string { return &s }

// TestStaleSHAIsIgnored: a job whose SHA is no longer the PR's head writes
// nothing.
func TestStaleSHAIsIgnored(t *testing.T) {
	e := newGHEnv(t, 0, time.Hour)
	ctx := context.Background()
	pr := e.openPR("feature", map[string]*string{"services/web/app.py": strp("print(1)\n")})
	e.send("pull_request", e.gh.PullRequestEvent("opened", pr))
	old := pr.HeadSHA
	e.gh.Commit(testRepo, "feature", map[string]*string{"services/web/app.py": strp("print(2)\n")}, "again")
	pr = e.gh.PR(testRepo, pr.Number)
	e.send("pull_request", e.gh.PullRequestEvent("synchronize", pr))

	if _, err := e.suite.work(ctx, EvaluateArgs{Installation: testInst, Repo: testRepo, PR: pr.Number, SHA: old}); err != nil {
		t.Fatal(err)
	}
	if runs := e.checkRuns(old); len(runs) != 0 {
		t.Fatalf("the stale SHA got check runs: %+v", runs)
	}
	if _, err := e.suite.work(ctx, EvaluateArgs{Installation: testInst, Repo: testRepo, PR: pr.Number, SHA: pr.HeadSHA}); err != nil {
		t.Fatal(err)
	}
	if runs := e.checkRuns(pr.HeadSHA); len(runs) != 2 {
		t.Fatalf("head check runs = %+v, want gate and web", runs)
	}
}

// TestOlderEvaluationNeverOverwritesNewer: evaluation A reads the facts,
// then evaluation B (newer request) runs and writes; A must not write.
func TestOlderEvaluationNeverOverwritesNewer(t *testing.T) {
	e := newGHEnv(t, 0, time.Hour)
	ctx := context.Background()
	pr := e.openPR("feature", map[string]*string{"services/web/app.py": strp("print(1)\n")})
	e.send("pull_request", e.gh.PullRequestEvent("opened", pr))
	args := EvaluateArgs{Installation: testInst, Repo: testRepo, PR: pr.Number, SHA: pr.HeadSHA}
	ranB := false
	e.suite.afterEvaluate = func() {
		if ranB {
			return
		}
		ranB = true
		// While A holds its (CI pending) result, CI completes and B runs.
		if err := store.RecordCI(ctx, e.st.DB, testRepo, pr.HeadSHA, store.CIResult{Name: "build", Status: "completed", Conclusion: "success"}); err != nil {
			t.Fatal(err)
		}
		if err := store.RecordCI(ctx, e.st.DB, testRepo, pr.HeadSHA, store.CIResult{Name: "test", Status: "completed", Conclusion: "success"}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := store.RequestCheck(ctx, e.st.DB, testRepo, pr.HeadSHA, true, nil, staleJob); err != nil {
			t.Fatal(err)
		}
		if settled, err := e.suite.work(ctx, args); err != nil || !settled {
			t.Fatalf("B: settled %v, %v", settled, err)
		}
	}
	settled, err := e.suite.work(ctx, args)
	if err != nil {
		t.Fatal(err)
	}
	if settled {
		t.Fatal("A, refused the write, reported the SHA settled")
	}
	// Run again, A finds nothing pending: B's result stands.
	if settled, err := e.suite.work(ctx, args); err != nil || !settled {
		t.Fatalf("A again: settled %v, %v", settled, err)
	}
	if !ranB {
		t.Fatal("hook did not run")
	}
	runs := e.checkRuns(pr.HeadSHA)
	if w := runs[CheckName("web")]; w.Conclusion != Success {
		t.Fatalf("web = %s %q: the older, CI-pending evaluation overwrote the newer one", w.Status, w.Title)
	}
	if writes := e.writes(pr.HeadSHA); writes[CheckName("web")] != 1 || writes[GateName] != 1 {
		t.Fatalf("writes = %v, want one each (only B wrote)", writes)
	}
}

// writes counts Conveyor's check run writes (create or update) by name.
func (e *ghEnv) writes(sha string) map[string]int {
	names := map[string]string{}
	for _, cr := range e.gh.CheckRuns(testRepo, sha) {
		names[fmt.Sprint(cr.ID)] = cr.Name
	}
	out := map[string]int{}
	for _, c := range e.gh.Calls() {
		if c.InstallationID == 0 || !strings.HasPrefix(c.Path, "/repos/"+testRepo+"/check-runs") {
			continue
		}
		var name string
		switch c.Method {
		case "POST":
			name = jsonName(c.Body)
		case "PATCH":
			name = names[c.Path[strings.LastIndex(c.Path, "/")+1:]]
		default:
			continue
		}
		if IsOwnCheck(name) {
			out[name]++
		}
	}
	return out
}

// TestLargeFilesGetAClearCheck: a 20 MB pointer file or config is a failing
// check that names the file, its size and the limit (GitHub's contents API
// refuses such files with 403 too_large), not an error on every attempt.
func TestLargeFilesGetAClearCheck(t *testing.T) {
	e := newGHEnv(t, 2, 20*time.Millisecond)
	big := "registry: main\nmodel: fraud-detector\nversion: \"14\"\n# " + strings.Repeat("x", 20<<20) + "\n"
	pr := e.openPR("big-pointer", map[string]*string{"models/fraud.yaml": &big})
	e.send("pull_request", e.gh.PullRequestEvent("opened", pr))
	runs := e.waitSettled(pr.HeadSHA)
	m := runs[CheckName("fraud-model")]
	if m.Status != StatusCompleted || m.Conclusion != "failure" || !strings.Contains(m.Summary, "pointer file models/fraud.yaml is 20 MiB; the limit is 1 MiB") {
		t.Fatalf("20 MiB pointer: %s/%s\n%s", m.Status, m.Conclusion, m.Summary)
	}
	if g := runs[GateName]; g.Conclusion != "failure" {
		t.Errorf("gate = %s, want failure", g.Conclusion)
	}

	cfg := e.base[".github/conveyor.yml"] + "\n# " + strings.Repeat("y", 2<<20) + "\n"
	pr = e.openPR("big-config", map[string]*string{".github/conveyor.yml": &cfg, "services/web/app.py": strp("print(3)\n")})
	e.send("pull_request", e.gh.PullRequestEvent("opened", pr))
	g := e.waitSettled(pr.HeadSHA)[GateName]
	if g.Conclusion != "failure" || !strings.Contains(g.Summary, ".github/conveyor.yml is 2 MiB; the limit is 1 MiB") {
		t.Fatalf("2 MiB config: gate %s\n%s", g.Conclusion, g.Summary)
	}
}

// testClock is a clock tests move forward; river still schedules by the
// real one.
type testClock struct{ offset atomic.Int64 }

func (c *testClock) Now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *testClock) Advance(d time.Duration) { c.offset.Add(int64(d)) }
func pendingRetries(t *testing.T, e *ghEnv) int {
	t.Helper()
	var n int
	if err := e.st.DB.QueryRow(`SELECT count(*) FROM river_job WHERE kind = 'checks_retry' AND state IN ('available', 'scheduled', 'retryable')
		AND COALESCE(json_extract(args, '$.reason'), '') = ''`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// A registry that stays down does not keep a check in progress for ever:
// past MaxWait from the first evaluation that waited, the check fails with
// what it waited for and since when, and stops scheduling re-evaluations;
// a Re-run starts a new wait, and once the registry is back a Re-run
// completes the check.
func TestRegistryWaitIsBounded(t *testing.T) {
	clock := &testClock{}
	e := newGHEnv(t, 2, 20*time.Millisecond, func(o *Options) {
		o.RetryDelay, o.MaxWait, o.Now = 200*time.Millisecond, time.Hour, clock.Now
	})
	pr := e.openPR("model", map[string]*string{"models/fraud.yaml": strp("registry: main\nmodel: fraud-detector\nversion: \"14\"\n")})
	e.ml.FailNext("/api/2.0/mlflow", 100000, 503)
	e.send("pull_request", e.gh.PullRequestEvent("opened", pr))
	model := CheckName("fraud-model")
	var m ghfake.CheckRun
	testwait.For(t, "the model check to wait on the registry", func() bool {
		m = e.checkRuns(pr.HeadSHA)[model]
		return strings.Contains(m.Summary, "trying again at")
	}, func() string { return m.Summary })

	// An hour later by the suite's clock, the next scheduled re-evaluation
	// gives up.
	clock.Advance(61 * time.Minute)
	testwait.For(t, "the model check to stop waiting", func() bool {
		m = e.checkRuns(pr.HeadSHA)[model]
		return m.Status == StatusCompleted
	}, func() string { return m.Status + " " + m.Summary })
	if m.Conclusion != Failure || !regexp.MustCompile(`registry "main" unreachable; still so 6\d min after the first try \(\d{4}-\d\d-\d\d \d\d:\d\d UTC\), so this check stopped trying: Re-run it once that is resolved`).MatchString(m.Summary) {
		t.Fatalf("after an hour: %s/%s\n%s", m.Status, m.Conclusion, m.Summary)
	}
	if strings.Contains(m.Summary, "trying again at") {
		t.Errorf("a check that stopped trying says it will try again:\n%s", m.Summary)
	}
	e.waitSettled(pr.HeadSHA)
	if n := pendingRetries(t, e); n != 0 {
		t.Fatalf("%d re-evaluations still scheduled after the check stopped trying", n)
	}
	if gate := e.checkRuns(pr.HeadSHA)[GateName]; gate.Conclusion != Failure {
		t.Errorf("gate = %s/%s, want failure while the model check failed", gate.Status, gate.Conclusion)
	}

	// Re-run while the registry is still down: waiting again, with a new
	// hour (the stored start was reset).
	e.send("check_run", e.gh.CheckRunEvent("rerequested", testRepo, m.ID, "", "octocat"))
	testwait.For(t, "the re-run check to wait again", func() bool {
		m = e.checkRuns(pr.HeadSHA)[model]
		return m.Status == StatusInProgress && strings.Contains(m.Summary, "trying again at")
	}, func() string { return m.Status + " " + m.Summary })

	// The registry is back; a Re-run completes the check.
	e.ml.ClearFaults()
	e.send("check_run", e.gh.CheckRunEvent("rerequested", testRepo, m.ID, "", "octocat"))
	testwait.For(t, "the model check to pass once the registry is back", func() bool {
		m = e.checkRuns(pr.HeadSHA)[model]
		return m.Status == StatusCompleted && m.Conclusion == Success
	}, func() string { return m.Status + " " + m.Summary })
	rs, err := store.CheckResults(context.Background(), e.st.DB, testRepo, pr.HeadSHA)
	if err != nil || rs[model].WaitingSince != 0 {
		t.Fatalf("a check that no longer waits keeps its wait's start: %+v, %v", rs[model], err)
	}
}

// A version still registering in the registry is looked at again by
// itself (the registry tells nobody when registration ends), and the check
// completes once the version is READY.
func TestRegisteringVersionIsLookedAtAgain(t *testing.T) {
	e := newGHEnv(t, 2, 20*time.Millisecond, func(o *Options) { o.RetryDelay = 200 * time.Millisecond })
	e.ml.AddVersion("fraud-detector", "16", mlflowfake.StatusPending, map[string]float64{"auc": 0.95})
	pr := e.openPR("model", map[string]*string{"models/fraud.yaml": strp("registry: main\nmodel: fraud-detector\nversion: \"16\"\n")})
	e.send("pull_request", e.gh.PullRequestEvent("opened", pr))
	model := CheckName("fraud-model")
	var m ghfake.CheckRun
	testwait.For(t, "the model check to wait for registration", func() bool {
		m = e.checkRuns(pr.HeadSHA)[model]
		return strings.Contains(m.Summary, "is still registering (PENDING_REGISTRATION), trying again at")
	}, func() string { return m.Summary })
	if m.Status != StatusInProgress || !strings.Contains(m.Summary, "waits for the version to be READY") {
		t.Fatalf("while registering: %s\n%s", m.Status, m.Summary)
	}
	e.ml.AddVersion("fraud-detector", "16", mlflowfake.StatusReady, map[string]float64{"auc": 0.95})
	testwait.For(t, "the model check to complete once the version is READY", func() bool {
		m = e.checkRuns(pr.HeadSHA)[model]
		return m.Status == StatusCompleted
	}, func() string { return m.Status + " " + m.Summary })
	if !strings.Contains(m.Summary, "fraud-detector v16 is READY") {
		t.Fatalf("after registration: %s/%s\n%s", m.Status, m.Conclusion, m.Summary)
	}
}
