package checks

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-github/v66/github"

	"github.com/conveyor-dev/conveyor/internal/ghfake"
)

func jsonName(body []byte) string {
	var v struct {
		Name string `json:"name"`
	}
	_ = json.Unmarshal(body, &v)
	return v.Name
}

// installationCalls are the calls made with an installation token (minting
// the token itself is app-authenticated and not counted).
func installationCalls(gh *ghfake.Server) []ghfake.Call {
	var out []ghfake.Call
	for _, c := range gh.Calls() {
		if c.InstallationID != 0 {
			out = append(out, c)
		}
	}
	return out
}

// TestAPIEconomy: a synchronize on a PR touching an app and a model costs one
// PR-files call, one base-config read, one pointer read, one PR-commits call
// (for the app check) and one create per check run; a burst of CI completions
// reads nothing and writes each check run at most twice.
func TestAPIEconomy(t *testing.T) {
	e := newGHEnv(t, 2, 300*time.Millisecond)
	pr := e.openPR("feature", map[string]*string{
		"services/web/app.py": strp("print('returns')\n"),
		"models/fraud.yaml":   strp("registry: main\nmodel: fraud-detector\nversion: \"14\"\n"),
	})
	sha := pr.HeadSHA
	build := e.postCI(sha, "build", "in_progress", "")
	test := e.postCI(sha, "test", "in_progress", "")
	lint := e.postCI(sha, "lint", "in_progress", "")
	e.gh.ResetCalls()

	e.send("pull_request", e.gh.PullRequestEvent("synchronize", pr))
	runs := e.waitSettled(sha)
	if w := runs[CheckName("web")]; w.Status != StatusInProgress || !strings.Contains(w.Title, "waiting for CI: build, test") {
		t.Fatalf("web = %s %q, want in progress waiting for build, test", w.Status, w.Title)
	}
	var got []string
	for _, c := range installationCalls(e.gh) {
		got = append(got, c.Method+" "+c.Path+" "+c.Query)
	}
	want := map[string]int{
		"GET /repos/acme/shop/pulls/1/files":                 1,
		"GET /repos/acme/shop/contents/.github/conveyor.yml": 1,
		"GET /repos/acme/shop/contents/models/fraud.yaml":    1,
		"GET /repos/acme/shop/pulls/1/commits":               1,
		"POST /repos/acme/shop/check-runs":                   3,
	}
	counts := map[string]int{}
	for _, c := range installationCalls(e.gh) {
		counts[c.Method+" "+c.Path]++
	}
	if len(counts) != len(want) {
		t.Fatalf("calls = %v\nwant exactly %v", got, want)
	}
	for k, n := range want {
		if counts[k] != n {
			t.Fatalf("%s called %d times, want %d; all calls:\n%s", k, counts[k], n, strings.Join(got, "\n"))
		}
	}

	// The burst: CI finishes; 10 check_run.completed events for the SHA.
	before := len(installationCalls(e.gh))
	for id, name := range map[int64]string{build: "build", test: "test", lint: "lint"} {
		if _, _, err := e.ci.Checks.UpdateCheckRun(t.Context(), "acme", "shop", id, githubCompleted(name, "success")); err != nil {
			t.Fatal(err)
		}
	}
	events := []int64{build, test, lint, build, test, lint, build, test, build, test}
	for _, id := range events {
		e.send("check_run", e.gh.CheckRunEvent("completed", testRepo, id, "", ""))
	}
	runs = e.waitSettled(sha)
	if runs[GateName].Conclusion != Success || runs[CheckName("web")].Conclusion != Success {
		t.Fatalf("after CI: gate %q %q web %q, want success; writes %v", runs[GateName].Conclusion, runs[GateName].Title, runs[CheckName("web")].Conclusion, e.writes(sha))
	}
	for _, c := range installationCalls(e.gh)[before:] {
		if c.Method == "GET" {
			t.Errorf("the burst read GitHub: %s %s (SHA-addressed facts are cached)", c.Method, c.Path)
		}
	}
	// Counted over the whole PR: the first evaluation plus the burst.
	writes := e.writes(sha)
	wantWrites := map[string]int{GateName: 2, CheckName("web"): 2, CheckName("fraud-model"): 1}
	if len(writes) != len(wantWrites) {
		t.Fatalf("writes = %v, want %v", writes, wantWrites)
	}
	for k, n := range wantWrites {
		if writes[k] != n {
			t.Fatalf("writes = %v, want %v", writes, wantWrites)
		}
	}
}

func githubCompleted(name, conclusion string) github.UpdateCheckRunOptions {
	return github.UpdateCheckRunOptions{Name: name, Status: github.String("completed"), Conclusion: github.String(conclusion)}
}
