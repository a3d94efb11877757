package checks

import (
	"strings"
	"testing"
	"time"

	"github.com/conveyor-dev/conveyor/checks/repoconfig"
	"github.com/conveyor-dev/conveyor/internal/ghfake"
	"github.com/conveyor-dev/conveyor/internal/testwait"
)

// A CI name in the base's ci: that never reports keeps the check waiting
// (CI is event-driven: nothing times it out), so the check says which
// reported name it probably means.
func TestMisspeltCINameIsPointedOut(t *testing.T) {
	f := exampleFacts(t, "good", newMLflow(t))
	f.BaseFiles = cloneFiles(f.BaseFiles)
	f.HeadFiles = cloneFiles(f.HeadFiles)
	for _, files := range []map[string]string{f.BaseFiles, f.HeadFiles} {
		editConfig(t, files, `ci: ["build", "test"]`, `ci: ["buidl", "test"]`)
	}
	res := evaluate(t, f)
	q := stage(artifactByName(res, "web"), StageQuality)
	want := `no check named "buidl" has reported on this commit, but "build" has: is ci: in the base branch's .github/conveyor.yml misspelt?`
	if q.Result != Wait || q.Summary != "waiting for CI: buidl" || len(q.Details) != 1 || q.Details[0] != want {
		t.Fatalf("quality = %+v", q)
	}
	// A listed name that reported and is still running gets no hint.
	f.CIResults["buidl"] = CIResult{Status: "in_progress"}
	res = evaluate(t, f)
	if q := stage(artifactByName(res, "web"), StageQuality); q.Result != Wait || len(q.Details) != 0 {
		t.Fatalf("a running check is no typo: %+v", q)
	}
}

// On a pull request the hint appears when the other check completes: an
// artifact still waiting for CI is evaluated again on any CI completion of
// its commit, not only on those of the names it lists.
func TestMisspeltCINameShowsWhenTheRealCheckCompletes(t *testing.T) {
	e := newGHEnv(t, 2, 20*time.Millisecond)
	cfg := strings.Replace(e.base[repoconfig.Path], `ci: ["build", "test"]`, `ci: ["buidl"]`, 1)
	e.gh.Commit(testRepo, "main", map[string]*string{repoconfig.Path: &cfg}, "a typo in ci")
	pr := e.openPR("typo", map[string]*string{"services/web/app.py": strp("print(3)\n")})
	e.send("pull_request", e.gh.PullRequestEvent("opened", pr))
	cr := e.waitForSummary(pr.HeadSHA, "web", "waiting for CI: buidl")
	if strings.Contains(cr.Summary+cr.Text, "misspelt") {
		t.Fatalf("hint before any CI reported:\n%s", cr.Summary)
	}
	id := e.postCI(pr.HeadSHA, "build", "completed", "success")
	e.send("check_run", e.gh.CheckRunEvent("completed", testRepo, id, "", ""))
	var got ghfake.CheckRun
	testwait.For(t, "the hint on the web check", func() bool {
		got = e.checkRuns(pr.HeadSHA)[CheckName("web")]
		return strings.Contains(got.Summary+got.Text, `no check named "buidl" has reported on this commit, but "build" has`)
	}, func() string { return got.Summary })
	if got.Status != StatusInProgress {
		t.Errorf("the check should still wait: %s", got.Status)
	}
}
