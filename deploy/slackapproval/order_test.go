package slackapproval_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/conveyor-dev/conveyor/deploy"
	"github.com/conveyor-dev/conveyor/deploy/slackapproval"
	"github.com/conveyor-dev/conveyor/internal/store"
	"github.com/conveyor-dev/conveyor/internal/store/storetest"
	"github.com/conveyor-dev/conveyor/internal/testwait"
)

// eachStore runs fn on a world on every store dialect.
func eachStore(t *testing.T, fn func(t *testing.T, w *world)) {
	for _, d := range storetest.Dialects {
		t.Run(string(d), func(t *testing.T) { fn(t, newWorldOn(t, d, time.Hour)) })
	}
}

// threadOf waits until the thread of ts holds n replies and returns their texts.
func (w *world) threadOf(ts string, n int) []string {
	w.t.Helper()
	var lines []string
	testwait.For(w.t, fmt.Sprintf("%d replies in the thread", n), func() bool {
		lines = lines[:0]
		for _, r := range w.slack.Thread(prodChannel, ts) {
			lines = append(lines, r.Text)
		}
		return len(lines) >= n
	}, func() string { return strings.Join(lines, " | ") })
	return lines
}

// settled waits until every recorded change of deployment id is shown.
func (w *world) settled(id int64) {
	w.t.Helper()
	testwait.For(w.t, "the outbox to be shown", func() bool {
		pending, _, err := store.PendingSlackChanges(context.Background(), w.st.DB, id)
		return err == nil && len(pending) == 0
	})
}

// burst records n step changes of d one after another, as the engine does.
func (w *world) burst(d *deploy.Deployment, from, n int) []string {
	var want []string
	for i := from; i < from+n; i++ {
		d.Step = i % len(d.Steps)
		detail := fmt.Sprintf("change %02d", i)
		w.svc.Notifier().Changed(context.Background(), d, "step", detail)
		want = append(want, fmt.Sprintf("Rollout step %d (%d%%): %s", d.Step+1, d.Steps[d.Step], detail))
	}
	return want
}

// A burst of changes is shown in the order it was recorded, each once, though
// eight workers and a slow Slack would run one job per change in any order.
func TestThreadReadsInTheOrderOfTheChanges(t *testing.T) {
	eachStore(t, func(t *testing.T, w *world) {
		d := w.start("production")
		m := w.message(d)
		w.slack.SetLatency(5 * time.Millisecond)
		want := w.burst(w.get(d.ID), 0, 30)
		got := w.threadOf(m.TS, len(want))
		if !slices.Equal(got, want) {
			t.Fatalf("thread out of order or doubled:\n got %q\nwant %q", got, want)
		}
		w.settled(d.ID)
		if got := w.threadOf(m.TS, len(want)); !slices.Equal(got, want) {
			t.Fatalf("thread once every change is shown:\n got %q\nwant %q", got, want)
		}
	})
}

// A rollout through Slack reads like it happened: quorum, each step, success.
func TestRolloutThreadReadsInOrder(t *testing.T) {
	eachStore(t, func(t *testing.T, w *world) {
		d := w.start("production")
		m := w.message(d)
		w.slack.SetLatency(5 * time.Millisecond)
		w.click(m.TS, slackapproval.ActionApprove, uSam)
		w.click(m.TS, slackapproval.ActionApprove, uBob)
		var lines []string
		testwait.For(t, "the thread to end with the success", func() bool {
			lines = lines[:0]
			for _, r := range w.slack.Thread(prodChannel, m.TS) {
				lines = append(lines, r.Text)
			}
			return slices.ContainsFunc(lines, func(s string) bool { return strings.Contains(s, "Rollout succeeded") })
		}, func() string { return strings.Join(lines, " | ") })
		if got := w.get(d.ID); got.State != deploy.StateSucceeded {
			t.Fatalf("deployment %s, want succeeded", got.State)
		}
		// Each line belongs to a stage; stages never go back.
		stages := []string{"Quorum reached", "Rollout step 1 (50%)", "Rollout step 2 (100%)", "Rollout succeeded"}
		at := 0
		for _, l := range lines {
			i := slices.IndexFunc(stages, func(s string) bool { return strings.Contains(l, s) })
			if i < 0 {
				t.Fatalf("unexpected thread line %q in %q", l, lines)
			}
			if i < at {
				t.Fatalf("thread out of order: %q after %q:\n%q", l, stages[at], lines)
			}
			at = i
		}
		if at != len(stages)-1 || !strings.Contains(lines[0], stages[0]) || !strings.Contains(lines[len(lines)-1], stages[len(stages)-1]) {
			t.Fatalf("thread = %q, want it to open with the quorum and end with the success", lines)
		}
		if first := slices.IndexFunc(lines, func(s string) bool { return strings.Contains(s, stages[2]) }); first < 0 {
			t.Fatalf("thread lacks the last step: %q", lines)
		}
		seen := map[string]bool{}
		for _, l := range lines {
			if seen[l] {
				t.Errorf("line posted twice: %q", l)
			}
			seen[l] = true
		}
	})
}

// A Slack failure in the middle of a burst is retried from the change it hit:
// what was posted before it is not posted again, what follows waits for it.
func TestThreadOrderSurvivesSlackFailures(t *testing.T) {
	faults := map[string]func(w *world){
		"503":         func(w *world) { w.slack.FailNext("chat.postMessage", 1, http.StatusServiceUnavailable) },
		"ratelimited": func(w *world) { w.slack.RateLimitNext("chat.postMessage", 1, time.Second) },
		"internal":    func(w *world) { w.slack.ErrorNext("chat.postMessage", "internal_error", 2) },
	}
	for name, fault := range faults {
		t.Run(name, func(t *testing.T) {
			eachStore(t, func(t *testing.T, w *world) {
				d := w.start("production")
				m := w.message(d)
				want := w.burst(w.get(d.ID), 0, 2)
				w.threadOf(m.TS, 2)
				// The third reply from now fails; four more queue behind it.
				w.slack.PassNext("chat.postMessage", 2)
				fault(w)
				w.slack.ResetCalls()
				want = append(want, w.burst(w.get(d.ID), 2, 6)...)
				w.threadOf(m.TS, len(want))
				w.settled(d.ID)
				if got := w.threadOf(m.TS, len(want)); !slices.Equal(got, want) {
					t.Fatalf("thread after a %s:\n got %q\nwant %q", name, got, want)
				}
				failed := 0
				for _, c := range w.slack.Calls() {
					if c.Method == "chat.postMessage" && (c.Status != http.StatusOK || c.Error != "") {
						failed++
					}
				}
				if failed == 0 {
					t.Fatalf("the injected %s never happened: %+v", name, w.slack.Calls())
				}
				if len(w.commentsWith("Slack")) != 0 {
					t.Errorf("a failed thread reply is no reason to tell the PR: %q", w.commentsWith("Slack"))
				}
			})
		})
	}
}

// A failed update of the approval message is retried before the thread goes
// on, and a refused reply is dropped without holding up the next ones.
func TestRefusedReplyIsSkippedAndFailedUpdateRetried(t *testing.T) {
	eachStore(t, func(t *testing.T, w *world) {
		d := w.start("production")
		m := w.message(d)
		w.slack.FailNext("chat.update", 1, http.StatusBadGateway)
		w.slack.ErrorNext("chat.postMessage", "restricted_action", 1)
		want := w.burst(w.get(d.ID), 0, 4)
		w.threadOf(m.TS, len(want)-1)
		w.settled(d.ID)
		if got := w.threadOf(m.TS, len(want)-1); !slices.Equal(got, want[1:]) {
			t.Fatalf("thread = %q, want all but the refused first reply: %q", got, want[1:])
		}
		if e := w.slack.Message(prodChannel, m.TS).Edits; e == 0 {
			t.Errorf("the approval message was never updated after the failed update")
		}
	})
}

// A slack_notify job queued by a version before the outbox is moved into it
// and shown like any change.
func TestOldNotifyJobIsShown(t *testing.T) {
	w := newWorld(t, time.Hour)
	d := w.start("production")
	m := w.message(d)
	// An insert-only client on the same database, as an old replica would be.
	old := store.NewQueue(w.st, store.QueueConfig{})
	w.svc.Register(old.Workers())
	if err := old.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	args := slackapproval.NotifyArgs{DeploymentID: d.ID, Event: "step", Detail: "from before the upgrade", Step: 1, Percent: 100}
	if _, err := old.Insert(context.Background(), args, nil); err != nil {
		t.Fatal(err)
	}
	if got := w.threadOf(m.TS, 1); got[0] != "Rollout step 2 (100%): from before the upgrade" {
		t.Fatalf("thread = %q", got)
	}
}

// Changes of a deployment that no longer exists are dropped with the job,
// and nothing is posted for them.
func TestChangesOfAGoneDeploymentAreDropped(t *testing.T) {
	eachStore(t, func(t *testing.T, w *world) {
		gone := &deploy.Deployment{ID: 424242, Steps: []int{100}}
		w.svc.Notifier().Changed(context.Background(), gone, "step", "nobody reads this")
		testwait.For(t, "the flush job to be cancelled", func() bool {
			var n int
			err := w.st.DB.QueryRow(`SELECT COUNT(*) FROM river_job WHERE kind = 'slack_flush' AND state = 'cancelled'`).Scan(&n)
			return err == nil && n == 1
		})
		if _, last, err := store.PendingSlackChanges(context.Background(), w.st.DB, gone.ID); err != nil || last != 0 {
			t.Errorf("the gone deployment's outbox is kept (last change %d, %v)", last, err)
		}
		for _, c := range w.slack.Calls() {
			if strings.HasPrefix(c.Method, "chat.") {
				t.Errorf("Slack was called for a gone deployment: %s %v", c.Method, c.Params)
			}
		}
	})
}

// Changes recorded while Slack is down queue behind the approval request:
// once Slack is back the request is posted, then updated with them, and
// the PR hears about the outage once.
func TestChangesWaitForTheApprovalRequestThroughAnOutage(t *testing.T) {
	eachStore(t, func(t *testing.T, w *world) {
		w.slack.FailNext("chat.postMessage", 3, http.StatusServiceUnavailable)
		d := w.start("production")
		if _, err := w.engine.Approve(context.Background(), d.ID, deploy.Approval{Login: "sam", Via: "github", SHA: w.pr.HeadSHA, Teams: []string{"acme/sre"}}); err != nil {
			t.Fatal(err)
		}
		m := w.message(d)
		w.messageSays(m.TS, "1 of 2 approvals given", "approved by @sam via github")
		w.settled(d.ID)
		if n := len(w.slack.Messages(prodChannel)); n != 1 {
			t.Errorf("%d approval messages, want 1", n)
		}
		if got := w.commentsWith("Slack is unreachable"); len(got) != 1 {
			t.Errorf("PR comments about the outage: %d, want 1", len(got))
		}
	})
}
