package deploy

import (
	"context"
	"fmt"
	"testing"
	"time"
)

func TestQuorumMissingInWords(t *testing.T) {
	q := Quorum{Groups: []Group{{Count: 2, From: []string{"acme/sre"}}, {Count: 1, From: []string{"acme/finance"}}}}
	cases := []struct {
		approvals []Approval
		want      string
	}{
		{nil, "2 more approvals from @acme/sre and 1 more approval from @acme/finance"},
		{[]Approval{{Login: "alice", Teams: []string{"acme/sre"}}}, "1 more approval from @acme/sre and 1 more approval from @acme/finance"},
		// An approver outside every group counts for none.
		{[]Approval{{Login: "mallory", Teams: []string{"acme/web"}}}, "2 more approvals from @acme/sre and 1 more approval from @acme/finance"},
		{[]Approval{{Login: "alice", Teams: []string{"acme/sre"}}, {Login: "bob", Teams: []string{"acme/sre"}}, {Login: "carol", Teams: []string{"acme/finance"}}}, ""},
	}
	for _, c := range cases {
		if got := q.Missing(c.approvals); got != c.want {
			t.Errorf("Missing(%v) = %q, want %q", c.approvals, got, c.want)
		}
	}
	if got := (Quorum{Groups: []Group{{Count: 1}}}).Missing(nil); got != "1 more approval" {
		t.Errorf("a group without from: %q", got)
	}
}

// TestWaitingSaysWhatHoldsAnEnvironment: what Readiness shows from the
// engine, for the PR waiting for approvals and for another PR kept out.
func TestWaitingSaysWhatHoldsAnEnvironment(t *testing.T) {
	e := newEnv(t, withTTL(time.Hour))
	ctx := context.Background()
	a, b := e.openPR("a"), e.openPR("b")
	r := request(a, "production")
	r.Quorum = Quorum{Groups: []Group{{Count: 2, From: []string{"acme/ml"}}}}
	d := e.startOK(r)
	if want := d.CreatedAt.Add(time.Hour); !d.ExpiresAt.Equal(want) {
		t.Errorf("ExpiresAt = %v, want %v (created + approval TTL)", d.ExpiresAt, want)
	}
	if _, err := e.engine.Approve(ctx, d.ID, Approval{Login: "alice", Via: "slack", SHA: a.HeadSHA, Teams: []string{"acme/ml"}}); err != nil {
		t.Fatal(err)
	}
	approvals, held, err := e.engine.Waiting(ctx, repo, a.Number, a.HeadSHA, "production")
	if want := fmt.Sprintf("1 more approval from @acme/ml for deployment %d", d.ID); err != nil || approvals != want || held != "" {
		t.Errorf("Waiting(PR a) = %q, %q, %v; want %q and nothing held", approvals, held, err, want)
	}
	// Another SHA of the same PR waits for nothing: the approvals bind to the SHA.
	if approvals, _, _ := e.engine.Waiting(ctx, repo, a.Number, b.HeadSHA, "production"); approvals != "" {
		t.Errorf("Waiting(other SHA) = %q, want none", approvals)
	}
	approvals, held, err = e.engine.Waiting(ctx, repo, b.Number, b.HeadSHA, "production")
	if want := fmt.Sprintf("deployment %d of PR #%d to finish (awaiting approval, by @octocat)", d.ID, a.Number); err != nil || approvals != "" || held != want {
		t.Errorf("Waiting(PR b) = %q, %q, %v; want held %q", approvals, held, err, want)
	}
	if err := e.engine.Lock(ctx, repo, "staging", a.Number, "alice", "migrating the schema"); err != nil {
		t.Fatal(err)
	}
	_, held, _ = e.engine.Waiting(ctx, repo, b.Number, b.HeadSHA, "staging")
	if want := fmt.Sprintf("the lock of @alice for PR #%d to be released (migrating the schema)", a.Number); held != want {
		t.Errorf("held by a /lock = %q, want %q", held, want)
	}
	if _, held, _ := e.engine.Waiting(ctx, repo, a.Number, a.HeadSHA, "staging"); held != "" {
		t.Errorf("the lock's own PR is held by %q", held)
	}
}
