package store_test

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/conveyor-dev/conveyor/internal/store"
	"github.com/conveyor-dev/conveyor/internal/store/storetest"
)

func newDeployment(repo, env, key string, pr int) *store.DeploymentRow {
	return &store.DeploymentRow{
		Repository: repo, InstallationID: 11, PR: pr, SHA: "abc123", Environment: env, Mode: "deploy", State: "queued",
		Steps: []int{10, 50, 100}, Pause: 90 * time.Second, Requester: "octocat", SourceKey: key, Quorum: `{"groups":[]}`,
		Artifacts: []store.ArtifactRow{
			{Name: "web", Kind: "app", Driver: "exec", SHA: "abc123"},
			{Name: "fraud", Kind: "model", Driver: "mlflow", Spec: `{"model":{"name":"fraud","version":"14"}}`, SHA: "abc123"},
		},
	}
}

func TestDeploymentRoundTrip(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		d := newDeployment("acme/shop", "staging", "comment:1", 7)
		if err := store.InsertDeployment(ctx, s.DB, d); err != nil {
			t.Fatal(err)
		}
		got, err := store.LoadDeployment(ctx, s.DB, d.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Repository != "acme/shop" || got.PR != 7 || got.Pause != 90*time.Second || len(got.Steps) != 3 || got.Steps[1] != 50 {
			t.Fatalf("round trip lost fields: %+v", got)
		}
		if len(got.Artifacts) != 2 || got.Artifacts[0].Name != "fraud" || got.Artifacts[0].State != "pending" || got.Artifacts[1].Spec != "{}" {
			t.Fatalf("artifacts: %+v", got.Artifacts)
		}
		id, err := store.DeploymentBySource(ctx, s.DB, "acme/shop", "comment:1")
		if err != nil || id != d.ID {
			t.Fatalf("by source = %d, %v; want %d", id, err, d.ID)
		}
		if id, _ := store.DeploymentBySource(ctx, s.DB, "acme/other", "comment:1"); id != 0 {
			t.Fatalf("source keys are per repository, got %d", id)
		}
		dup := newDeployment("acme/shop", "production", "comment:1", 7)
		if err := store.InsertDeployment(ctx, s.DB, dup); err == nil {
			t.Fatal("a second deployment with the same source key was stored")
		}
		if _, err := store.LoadDeployment(ctx, s.DB, 999999); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("missing deployment: %v, want ErrNotFound", err)
		}
	})
}

func TestUpdateDeploymentIsCompareAndSet(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		d := newDeployment("acme/shop", "staging", "", 7)
		if err := store.InsertDeployment(ctx, s.DB, d); err != nil {
			t.Fatal(err)
		}
		st, step, msg := "in_progress", 1, "boom"
		if err := store.UpdateDeployment(ctx, s.DB, d.ID, "queued", store.DeploymentUpdate{State: &st, Step: &step, Error: &msg}); err != nil {
			t.Fatal(err)
		}
		done := "succeeded"
		err := store.UpdateDeployment(ctx, s.DB, d.ID, "queued", store.DeploymentUpdate{State: &done})
		if !errors.Is(err, store.ErrStateChanged) {
			t.Fatalf("stale update: %v, want ErrStateChanged", err)
		}
		got, _ := store.LoadDeployment(ctx, s.DB, d.ID)
		if got.State != "in_progress" || got.Step != 1 || got.Error != "boom" {
			t.Fatalf("got %s step %d error %q", got.State, got.Step, got.Error)
		}
		list, err := store.ListDeployments(ctx, s.DB, store.DeploymentFilter{Repository: "acme/shop", States: []string{"in_progress", "queued"}})
		if err != nil || len(list) != 1 {
			t.Fatalf("list = %d, %v", len(list), err)
		}
		list, _ = store.ListDeployments(ctx, s.DB, store.DeploymentFilter{Repository: "acme/shop", States: []string{"succeeded"}})
		if len(list) != 0 {
			t.Fatalf("state filter ignored: %d", len(list))
		}
	})
}

func TestStepsApprovalsAndClaims(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		d := newDeployment("acme/shop", "production", "", 7)
		if err := store.InsertDeployment(ctx, s.DB, d); err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		for i := 0; i < 2; i++ { // recording twice keeps one
			if err := store.MarkStepDone(ctx, s.DB, d.ID, "web", 0, "abc123", now); err != nil {
				t.Fatal(err)
			}
		}
		done, err := store.StepsDone(ctx, s.DB, d.ID, 0)
		if err != nil || len(done) != 1 || done["web"] != "abc123" {
			t.Fatalf("steps done = %v, %v", done, err)
		}
		if done, _ := store.StepsDone(ctx, s.DB, d.ID, 1); len(done) != 0 {
			t.Fatalf("step 1 should be empty: %v", done)
		}
		a := store.ApprovalRow{Login: "alice", Via: "slack", SHA: "abc123", Teams: []string{"acme/sre"}, At: now}
		if ok, err := store.AddApproval(ctx, s.DB, d.ID, a); !ok || err != nil {
			t.Fatalf("first approval: %v %v", ok, err)
		}
		if ok, err := store.AddApproval(ctx, s.DB, d.ID, a); ok || err != nil {
			t.Fatalf("second approval by the same login counted: %v %v", ok, err)
		}
		got, _ := store.LoadDeployment(ctx, s.DB, d.ID)
		if len(got.Approvals) != 1 || got.Approvals[0].Teams[0] != "acme/sre" {
			t.Fatalf("approvals: %+v", got.Approvals)
		}
		running := "in_progress"
		if err := store.UpdateArtifact(ctx, s.DB, d.ID, "web", store.ArtifactUpdate{State: &running}); err != nil {
			t.Fatal(err)
		}
		// Two racing rollbacks: exactly one wins.
		var wins int
		var mu sync.Mutex
		var wg sync.WaitGroup
		for i := 0; i < 4; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ok, err := store.ClaimArtifact(ctx, s.DB, d.ID, "web", []string{"in_progress", "succeeded"}, "rolling_back")
				if err != nil {
					t.Error(err)
				}
				if ok {
					mu.Lock()
					wins++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if wins != 1 {
			t.Fatalf("%d claims won, want 1", wins)
		}
	})
}

func TestEnvironmentLocksAndHistory(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		var first *store.DeploymentRow
		for i, st := range []string{"succeeded", "succeeded", "in_progress"} {
			d := newDeployment("acme/shop", "production", "", 10+i)
			d.State = st
			d.SHA = []string{"sha1", "sha2", "sha3"}[i]
			for j := range d.Artifacts {
				d.Artifacts[j].State = map[string]string{"succeeded": "succeeded", "in_progress": "in_progress"}[st]
				d.Artifacts[j].SHA = d.SHA
			}
			if err := store.InsertDeployment(ctx, s.DB, d); err != nil {
				t.Fatal(err)
			}
			if first == nil {
				first = d
			}
			err := s.Tx(ctx, func(tx *sql.Tx) error {
				l, err := store.LockEnvironment(ctx, tx, "acme/shop", "production")
				if err != nil {
					return err
				}
				l.PR, l.Login, l.DeploymentID, l.Since = d.PR, "octocat", d.ID, time.Now()
				return store.PutLock(ctx, tx, *l)
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		locks, err := store.ListLocks(ctx, s.DB, "acme/shop")
		if err != nil || len(locks) != 1 || locks[0].PR != 12 || locks[0].DeploymentID == 0 || locks[0].HolderState != "in_progress" {
			t.Fatalf("locks = %+v, %v", locks, err)
		}
		hist, err := store.ListArtifactHistory(ctx, s.DB, store.HistoryFilter{Repository: "acme/shop", Environment: "production", SucceededOnly: true})
		if err != nil || len(hist) != 4 || hist[0].SHA != "sha2" || hist[2].SHA != "sha1" {
			t.Fatalf("history = %+v, %v", hist, err)
		}
		hist, _ = store.ListArtifactHistory(ctx, s.DB, store.HistoryFilter{Repository: "acme/shop", SucceededOnly: true, BeforeID: first.ID + 1})
		if len(hist) != 2 || hist[0].DeploymentID != first.ID {
			t.Fatalf("history before %d = %+v", first.ID+1, hist)
		}
	})
}
