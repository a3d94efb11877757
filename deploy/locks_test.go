package deploy

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/conveyor-dev/conveyor/deploy/driver"
	"github.com/conveyor-dev/conveyor/internal/store"
	"github.com/conveyor-dev/conveyor/internal/store/storetest"
)

func TestTwoPRsDeployingProductionAtOnce(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(string(dialect), func(t *testing.T) {
			e := newEnvOn(t, storetest.Open(t, dialect))
			e.drv.block = func(driver.Target) bool { return true }
			a, b := e.openPR("a"), e.openPR("b")
			// Both start at the same moment: exactly one wins the environment.
			var wg sync.WaitGroup
			results := make([]error, 2)
			ids := make([]int64, 2)
			for i, pr := range []int{a.Number, b.Number} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					p := a
					if pr == b.Number {
						p = b
					}
					d, err := e.engine.Start(context.Background(), request(p, "production"))
					results[i] = err
					if d != nil {
						ids[i] = d.ID
					}
				}()
			}
			wg.Wait()
			var won int64
			var locked *LockedError
			for i, err := range results {
				switch {
				case err == nil:
					won = ids[i]
				case errors.As(err, &locked):
				default:
					t.Fatalf("start: %v", err)
				}
			}
			if won == 0 || locked == nil {
				t.Fatalf("want one deployment and one *LockedError, got %v", results)
			}
			winner, _ := e.engine.Get(context.Background(), won)
			if locked.HolderPR != winner.PR || locked.HolderLogin != "octocat" || locked.DeploymentID != won || locked.Environment != "production" {
				t.Errorf("LockedError %+v does not name the holder (deployment %d of PR #%d)", locked, won, winner.PR)
			}
			if msg := locked.Error(); !strings.Contains(msg, "production is busy") || !strings.Contains(msg, "/cancel") {
				t.Errorf("message: %s", msg)
			}
			// Staging is another environment: free.
			e.startOK(request(a, "staging"))
			close(e.drv.release)
			e.wait(won, StateSucceeded)
			// Once the winner finished, the other PR may deploy.
			loser := a
			if winner.PR == a.Number {
				loser = b
			}
			e.wait(e.startOK(request(loser, "production")).ID, StateSucceeded)
		})
	}
}

func TestManualLocks(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a, b := e.openPR("a"), e.openPR("b")
	if err := e.engine.Lock(ctx, repo, "staging", a.Number, "alice", "testing the migration"); err != nil {
		t.Fatal(err)
	}
	_, err := e.engine.Start(ctx, request(b, "staging"))
	var locked *LockedError
	if !errors.As(err, &locked) || locked.HolderPR != a.Number || locked.HolderLogin != "alice" || locked.Reason != "testing the migration" {
		t.Fatalf("deploy into another PR's lock: %v", err)
	}
	if !strings.Contains(err.Error(), "ask them to /unlock staging") {
		t.Errorf("message: %v", err)
	}
	if err := e.engine.Lock(ctx, repo, "staging", b.Number, "bob", "mine"); !errors.As(err, &locked) {
		t.Errorf("locking a locked environment: %v", err)
	}
	// The lock's own PR deploys; the /lock survives its deployment.
	e.wait(e.startOK(request(a, "staging")).ID, StateSucceeded)
	st, _ := e.engine.Status(ctx, repo)
	if len(st.Locks) != 1 || !st.Locks[0].Manual || st.Locks[0].DeploymentID != 0 {
		t.Fatalf("locks after the holder's deployment: %+v", st.Locks)
	}
	if err := e.engine.Unlock(ctx, repo, "staging", "alice"); err != nil {
		t.Fatal(err)
	}
	if err := e.engine.Unlock(ctx, repo, "staging", "alice"); err == nil || !strings.Contains(err.Error(), "nothing to unlock") {
		t.Errorf("unlock twice: %v", err)
	}
	e.wait(e.startOK(request(b, "staging")).ID, StateSucceeded)
	evs, _ := e.store.ListAudit(ctx, store.AuditFilter{Kind: "lock", Repository: repo})
	if len(evs) != 2 || evs[0].Action != "unlock" || evs[1].Actor != "alice" || evs[1].Subject != "staging" {
		t.Errorf("lock audit: %+v", evs)
	}
}

func TestReleasePRFreesLocksAndCancelsPending(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a, b := e.openPR("a"), e.openPR("b")
	if err := e.engine.Lock(ctx, repo, "production", a.Number, "alice", ""); err != nil {
		t.Fatal(err)
	}
	r := request(a, "staging")
	r.Quorum = Quorum{Groups: []Group{{Count: 1}}}
	pending := e.startOK(r)
	e.gh.ClosePR(repo, a.Number, true)
	if err := e.engine.ReleasePR(ctx, repo, a.Number); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.engine.Get(ctx, pending.ID); got.State != StateCancelled || !strings.Contains(got.Error, "was closed") {
		t.Errorf("pending deployment of a closed PR: %s %q", got.State, got.Error)
	}
	st, _ := e.engine.Status(ctx, repo)
	if len(st.Locks) != 0 {
		t.Errorf("locks after ReleasePR: %+v", st.Locks)
	}
	e.wait(e.startOK(request(b, "production")).ID, StateSucceeded)
	e.wait(e.startOK(request(b, "staging")).ID, StateSucceeded)
}
