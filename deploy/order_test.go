package deploy

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/conveyor-dev/conveyor/internal/store"
	"github.com/conveyor-dev/conveyor/internal/store/storetest"
	"github.com/conveyor-dev/conveyor/internal/testwait"
)

// slowApproval is a notifier that takes its time over an approval, as a
// slow GitHub comment edit makes the engine do, before telling next.
type slowApproval struct{ next Notifier }

func (n slowApproval) Changed(ctx context.Context, d *Deployment, event, detail string) {
	if event == "approved" {
		time.Sleep(300 * time.Millisecond) // the rollout step's job starts meanwhile
	}
	n.next.Changed(ctx, d, event, detail)
}

// The notifier hears a deployment's changes in the order they were
// committed, though the quorum is still being told about when its first
// rollout step could start.
func TestNotifierHearsChangesInCommitOrder(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		e := newEnvOn(t, s, func(e *env) { e.opts.Notifier = slowApproval{next: e.notes} })
		pr := e.openPR("feature")
		r := request(pr, "production", 50, 100)
		r.Quorum = Quorum{Groups: []Group{{Count: 1, From: []string{"acme/sre"}}}}
		d := e.startOK(r)
		e.waitEvent(d.ID, "created")
		if _, err := e.engine.Approve(context.Background(), d.ID, Approval{Login: "alice", Via: "slack", SHA: pr.HeadSHA, Teams: []string{"acme/sre"}}); err != nil {
			t.Fatal(err)
		}
		e.wait(d.ID, StateSucceeded)
		e.waitEvent(d.ID, "succeeded")
		var got []string
		testwait.For(t, "every event of the deployment", func() bool {
			got = e.eventsOf(d.ID)
			return len(got) >= 6
		}, func() string { return fmt.Sprint(got) })
		want := []string{"created", "approved", "queued", "step:started", "step:queued; 50% is healthy", "succeeded"}
		if !slices.Equal(got, want) {
			t.Fatalf("events in the order told:\n got %q\nwant %q", got, want)
		}
	})
}

// eventsOf is what the notifier was told about deployment id, in order, each
// step event with its detail.
func (e *env) eventsOf(id int64) []string {
	e.notes.mu.Lock()
	defer e.notes.mu.Unlock()
	var out []string
	for i, ev := range e.notes.events {
		name, ok := cutID(ev, id)
		if !ok {
			continue
		}
		if name == "step" {
			name += ":" + e.notes.details[i]
		}
		out = append(out, name)
	}
	return out
}

func cutID(ev string, id int64) (string, bool) {
	prefix := fmt.Sprintf("%d:", id)
	if len(ev) < len(prefix) || ev[:len(prefix)] != prefix {
		return "", false
	}
	return ev[len(prefix):], true
}
