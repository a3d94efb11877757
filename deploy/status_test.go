package deploy

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/conveyor-dev/conveyor/internal/store"
)

func TestStatusReport(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a, b := e.openPR("a"), e.openPR("b")
	e.wait(e.startOK(request(a, "staging")).ID, StateSucceeded)
	r := request(b, "production")
	r.Quorum = Quorum{Groups: []Group{{Count: 2, From: []string{"acme/sre"}}}}
	pending := e.startOK(r)
	if err := e.engine.Lock(ctx, repo, "qa", b.Number, "bob", "load test"); err != nil {
		t.Fatal(err)
	}
	st, err := e.engine.Status(ctx, repo)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Environments) != 2 || st.Environments[0].Name != "production" || st.Environments[1].Name != "staging" {
		t.Fatalf("environments: %+v", st.Environments)
	}
	web := st.Environments[1].Artifacts[1]
	if web.Name != "web" || web.Serving != a.HeadSHA || web.State != StateSucceeded || web.By != "octocat" || web.PR != a.Number {
		t.Errorf("staging web: %+v", web)
	}
	prodWeb := st.Environments[0].Artifacts[1]
	if prodWeb.Serving != "" || prodWeb.State != StateAwaitingApproval {
		t.Errorf("production web (nothing served yet, one pending): %+v", prodWeb)
	}
	if len(st.PendingApprovals) != 1 || st.PendingApprovals[0].ID != pending.ID || len(st.Locks) != 2 {
		t.Errorf("pending %d, locks %+v", len(st.PendingApprovals), st.Locks)
	}
	md := st.Markdown()
	for _, want := range []string{"| staging | web | " + a.HeadSHA[:7], "qa: PR #2 by @bob", "/lock: load test", "0/2 approvals"} {
		if !strings.Contains(md, want) {
			t.Errorf("status lacks %q:\n%s", want, md)
		}
	}
}

func TestRollbackReturnsToThePreviousSuccess(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	_, err := e.engine.Rollback(ctx, Request{Repository: repo, Environment: "production", Requester: "alice"})
	if err == nil || !strings.Contains(err.Error(), "nothing has been deployed to production") {
		t.Fatalf("rollback of nothing: %v", err)
	}
	a, b := e.openPR("a"), e.openPR("b")
	e.wait(e.startOK(request(a, "production")).ID, StateSucceeded)
	_, err = e.engine.Rollback(ctx, Request{Repository: repo, PR: a.Number, Environment: "production", Requester: "alice"})
	var nothing *NothingToReturnToError
	if !errors.As(err, &nothing) || !strings.Contains(err.Error(), "its driver did not report what served before it") || strings.Contains(err.Error(), "try again") {
		t.Fatalf("rollback with one success: %v", err)
	}
	e.wait(e.startOK(request(b, "production")).ID, StateSucceeded)

	rb, err := e.engine.Rollback(ctx, Request{Repository: repo, InstallationID: installation, PR: b.Number, Environment: "production",
		Requester: "alice", SourceKey: "comment:rollback", Artifacts: []ArtifactPlan{{Name: "fraud"}}})
	if err != nil {
		t.Fatal(err)
	}
	rb = e.wait(rb.ID, StateSucceeded)
	calls := e.drv.Calls("rollback", "fraud")
	if len(calls) != 1 || calls[0].Previous != "11" || calls[0].SHA != a.HeadSHA {
		t.Fatalf("fraud rollback calls: %+v, want back to version 11 of %s", calls, a.HeadSHA[:7])
	}
	if len(rb.Artifacts) != 1 || rb.Artifacts[0].Serving != "11" || rb.Mode != "rollback" {
		t.Errorf("rollback deployment: %+v", rb)
	}
	e.commentOf(rb, "Rolling back production")
	last, _ := e.engine.LastSucceeded(ctx, repo, "production")
	if last["fraud"] != a.HeadSHA || last["web"] != b.HeadSHA {
		t.Errorf("after rolling fraud back: %v", last)
	}
}

// TestRollbackAfterFirstDeployReturnsToBaseline: the drivers reported what
// served before Conveyor's first deployment (a model version, an app SHA);
// /rollback returns there.
func TestRollbackAfterFirstDeployReturnsToBaseline(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	oldSHA := strings.Repeat("c", 40)
	e.drv.mu.Lock()
	e.drv.baseline = map[string]string{"fraud": "9", "web": oldSHA}
	e.drv.mu.Unlock()
	a := e.openPR("a")
	e.wait(e.startOK(request(a, "production")).ID, StateSucceeded)
	rb, err := e.engine.Rollback(ctx, Request{Repository: repo, InstallationID: installation, PR: a.Number, Environment: "production",
		Requester: "alice", SourceKey: "comment:rollback"})
	if err != nil {
		t.Fatal(err)
	}
	rb = e.wait(rb.ID, StateSucceeded)
	fraud, web := e.drv.Calls("rollback", "fraud"), e.drv.Calls("rollback", "web")
	if len(fraud) != 1 || fraud[0].Previous != "9" {
		t.Fatalf("model rollback calls: %+v, want back to version 9", fraud)
	}
	if len(web) != 1 || web[0].Previous != oldSHA || web[0].SHA != oldSHA {
		t.Fatalf("app rollback calls: %+v, want back to %s", web, oldSHA[:7])
	}
	for _, art := range rb.Artifacts {
		if !strings.Contains(art.Summary, "what served before Conveyor's first deployment here") {
			t.Errorf("%s summary = %q", art.Name, art.Summary)
		}
	}
	last, _ := e.engine.LastSucceeded(ctx, repo, "production")
	if last["web"] != oldSHA {
		t.Errorf("after the rollback: %v", last)
	}
}

func TestStartRejectsBadRequests(t *testing.T) {
	e := newEnv(t)
	pr := e.openPR("feature")
	cases := map[string]func(r *Request){
		"is not owner/name":       func(r *Request) { r.Repository = "shop" },
		"no environment given":    func(r *Request) { r.Environment = "" },
		"must rise from 1 to 100": func(r *Request) { r.Steps = []int{50, 10} },
		"and end at 100":          func(r *Request) { r.Steps = []int{10, 50} },
		"is listed twice":         func(r *Request) { r.Artifacts[1].Name = "web" },
		"has no driver":           func(r *Request) { r.Artifacts[0].Driver = "" },
		"no artifacts to deploy":  func(r *Request) { r.Artifacts = nil },
		"ask for at least 1":      func(r *Request) { r.Quorum = Quorum{Groups: []Group{{Count: 0}}} },
		"no head SHA given":       func(r *Request) { r.HeadSHA = "" },
	}
	for want, mutate := range cases {
		r := request(pr, "staging")
		mutate(&r)
		if _, err := e.engine.Start(context.Background(), r); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("want an error saying %q, got %v", want, err)
		}
	}
	if n := len(e.gh.Deployments(repo)); n != 0 {
		t.Errorf("bad requests created %d GitHub deployments", n)
	}
}

func TestIllegalTransitionsAreErrors(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	d := e.startOK(request(e.openPR("feature"), "staging"))
	e.wait(d.ID, StateSucceeded)
	for _, to := range []string{StateQueued, StateInProgress, StateFailed, StateCancelled, StateRolledBack} {
		err := e.engine.inTx(ctx, d.ID, func(tx *sql.Tx, r *store.DeploymentRow) error {
			return e.engine.transition(ctx, tx, r, to, "test", "", store.DeploymentUpdate{})
		})
		if !errors.Is(err, ErrIllegalTransition) || !strings.Contains(err.Error(), "is succeeded and cannot become "+to) {
			t.Errorf("succeeded -> %s: %v", to, err)
		}
	}
	if got, _ := e.engine.Get(ctx, d.ID); got.State != StateSucceeded {
		t.Errorf("an illegal transition was applied: %s", got.State)
	}
	for from, tos := range transitions {
		for _, to := range tos {
			if Finished(from) {
				t.Errorf("%s has transitions but counts as finished", from)
			}
			_ = to
		}
	}
}

// FinishedStates (what the store prunes Slack outboxes after) are exactly
// the states nothing moves on from: a failed deployment can still be
// rolled back.
func TestFinishedStatesHaveNoWayOut(t *testing.T) {
	got := FinishedStates()
	if want := []string{StateSucceeded, StateRolledBack, StateCancelled, StateRejected, StateExpired}; !slices.Equal(got, want) {
		t.Fatalf("FinishedStates() = %v, want %v", got, want)
	}
	for _, st := range got {
		if len(transitions[st]) > 0 {
			t.Errorf("%s is finished but may move to %v", st, transitions[st])
		}
	}
}
