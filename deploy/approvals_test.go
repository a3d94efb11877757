package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/conveyor-dev/conveyor/internal/store"
	"github.com/conveyor-dev/conveyor/internal/store/storetest"
)

func TestQuorumCountsEachApproverOnce(t *testing.T) {
	q := Quorum{Groups: []Group{{Count: 2, From: []string{"acme/sre"}}, {Count: 1, From: []string{"acme/finance", "cfo"}}}}
	sre := func(login string, more ...string) Approval {
		return Approval{Login: login, Teams: append([]string{"acme/SRE"}, more...)}
	}
	cases := []struct {
		name      string
		approvals []Approval
		counted   int
	}{
		{"none", nil, 0},
		{"one sre", []Approval{sre("alice")}, 1},
		{"someone outside every group", []Approval{{Login: "mallory", Teams: []string{"acme/web"}}}, 0},
		{"a member of both groups fills one seat", []Approval{sre("bob", "acme/finance")}, 1},
		{"matching finds the seat for everyone", []Approval{sre("bob", "acme/finance"), sre("alice"), sre("carol")}, 3},
		{"a login in From", []Approval{sre("alice"), sre("carol"), {Login: "CFO"}}, 3},
		{"three sre but no finance", []Approval{sre("alice"), sre("carol"), sre("dan")}, 2},
	}
	for _, c := range cases {
		if got := q.Counted(c.approvals); got != c.counted {
			t.Errorf("%s: counted %d, want %d", c.name, got, c.counted)
		}
		if q.Met(c.approvals) != (c.counted == 3) {
			t.Errorf("%s: Met = %v", c.name, q.Met(c.approvals))
		}
	}
	if (Quorum{}).Needed() != 0 || !(Quorum{}).Met(nil) {
		t.Error("an empty quorum must need nothing")
	}
}

func TestApprovalQuorumByGroupsStartsTheRollout(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	pr := e.openPR("feature")
	r := request(pr, "production")
	r.Quorum = Quorum{Groups: []Group{{Count: 2, From: []string{"acme/sre"}}, {Count: 1, From: []string{"acme/finance"}}}}
	d := e.startOK(r)
	if d.State != StateAwaitingApproval {
		t.Fatalf("state %s, want awaiting_approval", d.State)
	}
	e.commentOf(d, "Approvals: 0/3")
	approve := func(login string, teams ...string) (*Deployment, error) {
		return e.engine.Approve(ctx, d.ID, Approval{Login: login, Via: "slack", SHA: pr.HeadSHA, Teams: teams})
	}
	if _, err := approve("alice", "acme/sre"); err != nil {
		t.Fatal(err)
	}
	got, err := approve("alice", "acme/sre")
	if err != nil || len(got.Approvals) != 1 || got.State != StateAwaitingApproval {
		t.Fatalf("a second approval by alice: %v, %d approvals, %s", err, len(got.Approvals), got.State)
	}
	_, err = e.engine.Approve(ctx, d.ID, Approval{Login: "bob", Via: "github", SHA: strings.Repeat("f", 40), Teams: []string{"acme/sre"}})
	if !errors.Is(err, ErrWrongSHA) || !strings.Contains(err.Error(), "ffffff") {
		t.Fatalf("approval for another SHA: %v, want ErrWrongSHA naming it", err)
	}
	if _, err := approve("bob", "acme/sre"); err != nil {
		t.Fatal(err)
	}
	if n := len(e.drv.Calls("", "")); n != 0 {
		t.Fatalf("drivers ran %d times before the quorum", n)
	}
	got, err = approve("carol", "acme/finance")
	if err != nil || got.State == StateAwaitingApproval {
		t.Fatalf("quorum reached: %v, state %s", err, got.State)
	}
	e.wait(d.ID, StateSucceeded)
	e.commentOf(d, "Approvals: 3/3")
	evs, _ := e.store.ListAudit(ctx, store.AuditFilter{Kind: "approval", Repository: repo})
	if len(evs) != 3 {
		t.Errorf("%d approval audit events, want 3 (one per login)", len(evs))
	}
	if _, err := approve("dave", "acme/sre"); !errors.Is(err, ErrNotAwaitingApproval) {
		t.Errorf("approving a finished deployment: %v", err)
	}
	e.waitEvent(d.ID, "approved", "queued")
}

func TestRejectFreesTheEnvironment(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	pr := e.openPR("feature")
	r := request(pr, "production")
	r.Quorum = Quorum{Groups: []Group{{Count: 1}}}
	d := e.startOK(r)
	got, err := e.engine.Reject(ctx, d.ID, "alice", "slack", "not during the sale")
	if err != nil || got.State != StateRejected || !strings.Contains(got.Error, "rejected by @alice: not during the sale") {
		t.Fatalf("reject: %v, %+v", err, got)
	}
	evs, _ := e.store.ListAudit(ctx, store.AuditFilter{Kind: "deployment", Repository: repo})
	var detail map[string]any
	json.Unmarshal([]byte(evs[0].Detail), &detail)
	if evs[0].Action != StateRejected || evs[0].Actor != "alice" || !strings.Contains(detail["detail"].(string), "not during the sale") {
		t.Errorf("audit: %+v", evs[0])
	}
	if _, err := e.engine.Approve(ctx, d.ID, Approval{Login: "bob", SHA: pr.HeadSHA}); !errors.Is(err, ErrNotAwaitingApproval) {
		t.Errorf("approve after reject: %v", err)
	}
	if _, err := e.engine.Reject(ctx, d.ID, "bob", "github", ""); !errors.Is(err, ErrNotAwaitingApproval) {
		t.Errorf("reject twice: %v", err)
	}
	other := e.openPR("other")
	e.wait(e.startOK(request(other, "production")).ID, StateSucceeded)
	e.commentOf(d, "Rejected")
}

func TestApprovalsExpire(t *testing.T) {
	e := newEnv(t, withTTL(30*time.Millisecond))
	pr := e.openPR("feature")
	r := request(pr, "production")
	r.Quorum = Quorum{Groups: []Group{{Count: 1}}}
	d := e.startOK(r)
	d = e.wait(d.ID, StateExpired)
	if !strings.Contains(d.Error, "comment /deploy again") {
		t.Errorf("error = %q", d.Error)
	}
	e.commentOf(d, "Expired without enough approvals")
	e.waitEvent(d.ID, "expired")
	if _, err := e.engine.Approve(context.Background(), d.ID, Approval{Login: "late", SHA: pr.HeadSHA}); !errors.Is(err, ErrNotAwaitingApproval) {
		t.Errorf("approve after expiry: %v", err)
	}
}

func TestPushVoidsApprovalsThroughTheHandler(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	pr := e.openPR("feature")
	r := request(pr, "production")
	r.Quorum = Quorum{Groups: []Group{{Count: 2}}}
	d := e.startOK(r)
	if _, err := e.engine.Approve(ctx, d.ID, Approval{Login: "alice", Via: "slack", SHA: pr.HeadSHA}); err != nil {
		t.Fatal(err)
	}
	content := "more"
	newSHA := e.gh.Commit(repo, "feature", map[string]*string{"app/more.txt": &content}, "more")
	payload, _ := json.Marshal(e.gh.PullRequestEvent("synchronize", e.gh.PR(repo, pr.Number)))
	h := e.engine.Handler()
	if err := h.Handle(ctx, "pull_request", "d-1", payload); err != nil {
		t.Fatal(err)
	}
	got, _ := e.engine.Get(ctx, d.ID)
	if got.State != StateCancelled || !strings.Contains(got.Error, "new commits pushed ("+newSHA[:7]+")") {
		t.Fatalf("after a push: %s %q", got.State, got.Error)
	}
	if !e.notes.has(d.ID, "voided") {
		t.Errorf("notifier events: %v", e.notes.events)
	}
	// The new head may deploy at once; a redelivery changes nothing.
	r2 := request(e.gh.PR(repo, pr.Number), "production")
	r2.Quorum = r.Quorum
	d2 := e.startOK(r2)
	if err := h.Handle(ctx, "pull_request", "d-1", payload); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.engine.Get(ctx, d2.ID); got.State != StateAwaitingApproval {
		t.Errorf("a deployment of the new head was voided: %s", got.State)
	}
	if err := h.Handle(ctx, "pull_request", "d-2", []byte(`{"action":"closed"}`)); err == nil || !strings.Contains(err.Error(), "no repository") {
		t.Errorf("a payload without a repository: %v", err)
	}
}

// A deployment's expiry is fixed when it is created: a restart with another
// approvals.expire_after shows (and keeps) the moment its expiry job was
// scheduled for, not creation plus the new TTL.
func TestExpiryIsFixedAtCreation(t *testing.T) {
	for _, dialect := range []store.Dialect{store.SQLite, store.Postgres} {
		t.Run(string(dialect), func(t *testing.T) {
			e := newEnvOn(t, storetest.Open(t, dialect), withTTL(time.Hour))
			pr := e.openPR("feature")
			r := request(pr, "production")
			r.Quorum = Quorum{Groups: []Group{{Count: 1}}}
			d := e.startOK(r)
			want := d.CreatedAt.Add(time.Hour)
			if !d.ExpiresAt.Equal(want) {
				t.Fatalf("ExpiresAt = %v, want %v", d.ExpiresAt, want)
			}
			var scheduled time.Time
			if err := e.store.DB.QueryRow(`SELECT scheduled_at FROM river_job WHERE kind = $1`, expireArgs{}.Kind()).Scan(&scheduled); err != nil {
				t.Fatal(err)
			}
			if scheduled.Sub(want).Abs() > time.Millisecond {
				t.Fatalf("the expiry job is scheduled for %v, the deployment says %v", scheduled, want)
			}
			// The same store under a server restarted with a 2h TTL.
			restarted := NewEngine(Options{Store: e.store, Queue: e.queue, ApprovalTTL: 2 * time.Hour})
			got, err := restarted.Get(context.Background(), d.ID)
			if err != nil || !got.ExpiresAt.Equal(want) {
				t.Fatalf("after the restart: ExpiresAt = %v (%v), want %v", got.ExpiresAt, err, want)
			}
		})
	}
}
