package checks

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-github/v66/github"

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

// A pull request event the router already decoded records the same head and
// request as its raw payload does.
func TestHandlerDecodedPullRequestMatchesRaw(t *testing.T) {
	ctx := context.Background()
	heads := map[string]*store.CheckHead{}
	for _, path := range []string{"raw", "decoded"} {
		e := newGHEnv(t, 0, time.Hour)
		pr := e.openPR("feature", map[string]*string{"services/web/app.py": strp("print(1)\n")})
		b, err := json.Marshal(e.gh.PullRequestEvent("synchronize", pr))
		if err != nil {
			t.Fatal(err)
		}
		h := e.suite.Handler()
		if path == "raw" {
			err = h.Handle(ctx, "pull_request", "d1", b)
		} else {
			ev, perr := github.ParseWebHook("pull_request", b)
			if perr != nil {
				t.Fatal(perr)
			}
			err = h.HandleDecoded(ctx, "pull_request", "d1", ev, b)
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		hd, err := store.GetCheckHead(ctx, e.st.DB, testRepo, pr.Number)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if r, err := store.GetCheckRequest(ctx, e.st.DB, testRepo, pr.HeadSHA); err != nil || !r.Full {
			t.Fatalf("%s: request %+v, %v; want a full evaluation", path, r, err)
		}
		if hd.SHA != pr.HeadSHA || hd.BaseSHA == "" {
			t.Fatalf("%s: head %+v, want SHA %s and a base SHA", path, hd, pr.HeadSHA)
		}
		// The emulator's commits differ by run; the rest must match.
		hd.UpdatedAt, hd.SHA, hd.BaseSHA = time.Time{}, "", ""
		heads[path] = hd
	}
	if *heads["raw"] != *heads["decoded"] || heads["raw"].InstallationID == 0 || heads["raw"].BaseRef == "" || heads["raw"].Author == "" {
		t.Fatalf("raw %+v, decoded %+v: want the same, complete head", heads["raw"], heads["decoded"])
	}
}
