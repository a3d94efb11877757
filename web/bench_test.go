package web

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/conveyor-dev/conveyor/internal/store"
	"github.com/conveyor-dev/conveyor/internal/store/storetest"
)

// BenchmarkOverview is the overview page's server time (queries and
// rendering) over 200 artifacts x 5 environments and 10,000 deployments of
// history, with a few rollouts, approvals and locks in flight; the target is
// under 50 ms. Run it on a quiet machine:
//
//	go test ./web -run '^$' -bench BenchmarkOverview -benchtime 50x
//
// warm is a reload with nothing changed since the last one, changed one
// after a rollout moved a step (the changes are folded in), cold the first
// reading of the history (a new viewer's set of repositories).
func BenchmarkOverview(b *testing.B) {
	for _, d := range storetest.Dialects {
		b.Run(string(d), func(b *testing.B) {
			st := storetest.Open(b, d)
			seedHistory(b, st)
			auth := &testAuth{login: "viewer", readable: map[string]bool{}, token: "t"}
			for r := range 20 {
				auth.readable[fmt.Sprintf("acme/repo-%02d", r)] = true
			}
			srv, err := New(Options{Store: st, Auth: auth, Log: slog.New(slog.DiscardHandler)})
			if err != nil {
				b.Fatal(err)
			}
			h := srv.Handler()
			get := func() *httptest.ResponseRecorder {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
				return rec
			}
			if rec := get(); rec.Code != http.StatusOK || rec.Body.Len() < 100_000 {
				b.Fatalf("overview = %d, %d bytes", rec.Code, rec.Body.Len())
			}
			// warm: nothing changed since the last reading (the history's
			// reading is reused); cold: every request reads the history.
			b.Run("warm", func(b *testing.B) {
				for b.Loop() {
					get()
				}
			})
			// changed: a rollout moved a step since the last reading, so
			// the deployments that changed are read and folded in.
			b.Run("changed", func(b *testing.B) {
				ctx := context.Background()
				var id int64
				if err := st.DB.QueryRow(`SELECT MIN(id) FROM deployments WHERE state = 'in_progress'`).Scan(&id); err != nil {
					b.Fatal(err)
				}
				at := time.Now()
				for b.Loop() {
					b.StopTimer() // the rollout's write is not the page's time
					step := 1 + int(at.UnixNano()%2)
					at = at.Add(time.Second)
					if err := store.UpdateDeployment(ctx, st.DB, id, "in_progress", store.DeploymentUpdate{Step: &step, At: at}); err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
					get()
				}
			})
			b.Run("cold", func(b *testing.B) {
				for b.Loop() {
					srv.cells.mu.Lock()
					srv.cells.entries = nil
					srv.cells.mu.Unlock()
					get()
				}
			})
		})
	}
}

// seedHistory writes 20 repositories of 10 artifacts each, 10,000
// deployments of them across 5 environments (one artifact each, mostly
// succeeded), 10 rollouts in flight, 10 awaiting approval and 5 locks.
func seedHistory(b *testing.B, st *store.Store) {
	b.Helper()
	ctx := context.Background()
	envs := []string{"dev", "qa", "staging", "canary", "production"}
	kinds := []string{"app", "model", "dbt"}
	states := []string{"succeeded", "succeeded", "succeeded", "succeeded", "failed", "rolled_back"}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	err := st.Tx(ctx, func(tx *sql.Tx) error {
		for r := range 20 {
			repo := fmt.Sprintf("acme/repo-%02d", r)
			for a := range 10 {
				if err := store.SetArtifactOwners(ctx, tx, store.ArtifactOwnersRow{Repository: repo, Artifact: fmt.Sprintf("art-%02d", a),
					Kind: kinds[a%3], Owners: []string{fmt.Sprintf("acme/team-%d", a%4)}}); err != nil {
					return err
				}
			}
		}
		for i := range 10_000 {
			repo, art, env := fmt.Sprintf("acme/repo-%02d", i%20), fmt.Sprintf("art-%02d", (i/20)%10), envs[(i/200)%5]
			state := states[i%len(states)]
			sha := fmt.Sprintf("%040x", i)
			d := &store.DeploymentRow{Repository: repo, PR: 1 + i%500, SHA: sha, Environment: env, Mode: "deploy", State: state,
				Steps: []int{10, 50, 100}, Step: 2, Requester: "dev", CreatedAt: t0.Add(time.Duration(i) * time.Minute),
				Artifacts: []store.ArtifactRow{{Name: art, Kind: kinds[((i/20)%10)%3], SHA: sha, Serving: fmt.Sprintf("v%d", i), State: state}}}
			if i >= 9_980 {
				d.State, d.Artifacts[0].State, d.Step = "in_progress", "in_progress", 1
				if i >= 9_990 {
					d.State, d.Artifacts[0].State, d.Step, d.Quorum = "awaiting_approval", "pending", 0, `{"groups":[{"count":2,"from":["acme/sre"]}]}`
				}
			}
			if err := store.InsertDeployment(ctx, tx, d); err != nil {
				return err
			}
		}
		for r := range 5 {
			if _, err := tx.ExecContext(ctx, `INSERT INTO environment_locks (repository, environment, login, reason, manual, since) VALUES ($1, 'production', 'ops', 'freeze', 1, 1)`,
				fmt.Sprintf("acme/repo-%02d", r)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	if st.Dialect == store.Postgres {
		if _, err := st.DB.ExecContext(ctx, "ANALYZE"); err != nil {
			b.Fatal(err)
		}
	}
}
