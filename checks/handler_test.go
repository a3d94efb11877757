package checks

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/conveyor-dev/conveyor/internal/store"
)

func TestHandlerRejectsBadPayloads(t *testing.T) {
	e := newGHEnv(t, 0, time.Hour)
	h := e.suite.Handler()
	err := h.Handle(context.Background(), "pull_request", "d1", []byte("{not json"))
	if err == nil || !strings.Contains(err.Error(), "pull_request d1: payload") {
		t.Errorf("bad JSON: err = %v", err)
	}
	err = h.Handle(context.Background(), "status", "d2", []byte(`{"sha":"abc","context":"ci","state":"success"}`))
	if err == nil || !strings.Contains(err.Error(), "repository.full_name") {
		t.Errorf("no repository: err = %v", err)
	}
	if err := New(Options{}).Handler().Handle(context.Background(), "status", "d3", []byte(`{}`)); err == nil ||
		!strings.Contains(err.Error(), "needs Options.Store and Options.Queue") {
		t.Errorf("no store: err = %v", err)
	}
	if got := strings.Join(h.Handles(), ","); !strings.Contains(got, "pull_request.synchronize") || !strings.Contains(got, "check_suite.rerequested") {
		t.Errorf("Handles = %s", got)
	}
}

func TestHandlerRecordsCIButNotItsOwnChecks(t *testing.T) {
	e := newGHEnv(t, 0, time.Hour)
	ctx := context.Background()
	pr := e.openPR("feature", map[string]*string{"services/web/app.py": strp("print(1)\n")})
	sha := pr.HeadSHA
	e.send("status", e.gh.StatusEvent(testRepo, sha, "build", "pending"))
	e.send("status", e.gh.StatusEvent(testRepo, sha, "test", "failure"))
	own := e.postCI(sha, "conveyor / web", "completed", "failure")
	e.send("check_run", e.gh.CheckRunEvent("completed", testRepo, own, "", ""))
	ci, err := store.CIResults(ctx, e.st.DB, testRepo, sha)
	if err != nil {
		t.Fatal(err)
	}
	if len(ci) != 2 || ci["build"].Status != StatusInProgress || ci["test"].Conclusion != "failure" {
		t.Fatalf("CI = %+v, want build pending and test failed, and not Conveyor's own check", ci)
	}
	// Nothing was evaluated yet, so CI completions request nothing.
	if _, err := store.GetCheckRequest(ctx, e.st.DB, testRepo, sha); err == nil {
		t.Fatal("a CI completion before any evaluation enqueued one")
	}
	e.send("pull_request", e.gh.PullRequestEvent("opened", pr))
	if _, err := e.suite.work(ctx, EvaluateArgs{Installation: testInst, Repo: testRepo, PR: pr.Number, SHA: sha}); err != nil {
		t.Fatal(err)
	}
	if w := e.checkRuns(sha)[CheckName("web")]; w.Conclusion != Failure || !strings.Contains(w.Title, "CI failed: test (failure)") {
		t.Fatalf("web = %q %q, want a failure naming test", w.Conclusion, w.Title)
	}
	// Re-run on the gate asks for a full evaluation.
	gate := e.checkRuns(sha)[GateName]
	e.send("check_run", e.gh.CheckRunEvent("rerequested", testRepo, gate.ID, "", ""))
	if r, err := store.GetCheckRequest(ctx, e.st.DB, testRepo, sha); err != nil || !r.Full {
		t.Fatalf("after Re-run: request %+v, %v; want a full evaluation", r, err)
	}
}
