package store_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/conveyor-dev/conveyor/internal/store"
	"github.com/conveyor-dev/conveyor/internal/store/storetest"
)

// groupedServingCells is how ServingCells read the history before
// serving_cells kept it: grouping every deployment of every cell. It is the
// oracle the maintained table must agree with.
func groupedServingCells(t *testing.T, q store.Querier, repos []string) []store.ServingCell {
	t.Helper()
	args := make([]any, len(repos))
	ph := make([]string, len(repos))
	for i, r := range repos {
		args[i], ph[i] = r, fmt.Sprintf("$%d", i+1)
	}
	rows, err := q.QueryContext(context.Background(), `WITH cells AS (
		SELECT d.repository AS repository, d.environment AS environment, a.name AS name, MAX(d.id) AS latest,
			MAX(CASE WHEN d.state = 'succeeded' AND a.state = 'succeeded' THEN d.id END) AS served
		FROM deployment_artifacts a JOIN deployments d ON d.id = a.deployment_id
		WHERE d.repository IN (`+strings.Join(ph, ",")+`)
		GROUP BY d.repository, d.environment, a.name)
	SELECT c.repository, c.environment, c.name, l.kind, l.state, ld.state, ld.updated_at, ld.id,
		COALESCE(s.serving, ''), COALESCE(NULLIF(s.sha, ''), sd.sha, ''), COALESCE(sd.id, 0), COALESCE(sd.pr, 0), COALESCE(sd.requester, ''), COALESCE(sd.updated_at, 0),
		COALESCE(o.owners, '[]')
	FROM cells c
	JOIN deployments ld ON ld.id = c.latest
	JOIN deployment_artifacts l ON l.deployment_id = c.latest AND l.name = c.name
	LEFT JOIN deployments sd ON sd.id = c.served
	LEFT JOIN deployment_artifacts s ON s.deployment_id = c.served AND s.name = c.name
	LEFT JOIN artifact_owners o ON o.repository = c.repository AND o.artifact = c.name
	ORDER BY c.repository, c.name, c.environment`, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []store.ServingCell
	for rows.Next() {
		var c store.ServingCell
		var latestAt, since int64
		var owners string
		if err := rows.Scan(&c.Repository, &c.Environment, &c.Artifact, &c.Kind, &c.LatestArtifactState, &c.LatestState, &latestAt, &c.LatestID,
			&c.Serving, &c.SHA, &c.ServedID, &c.ServedPR, &c.ServedBy, &since, &owners); err != nil {
			t.Fatal(err)
		}
		c.LatestAt = time.UnixMilli(latestAt)
		if since != 0 {
			c.ServedSince = time.UnixMilli(since)
		}
		_ = json.Unmarshal([]byte(owners), &c.Owners)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// backfill runs the migration's INSERT that fills serving_cells from the
// history.
func backfill(t *testing.T, s *store.Store) {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("migrations", string(s.Dialect), "0016_serving_cells.sql"))
	if err != nil {
		t.Fatal(err)
	}
	i := strings.Index(string(src), "INSERT INTO serving_cells")
	if i < 0 {
		t.Fatal("the migration has no backfill")
	}
	if _, err := s.DB.Exec(`DELETE FROM serving_cells`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DB.Exec(strings.TrimSuffix(strings.TrimSpace(string(src[i:])), ";")); err != nil {
		t.Fatal(err)
	}
}

func TestServingCellsTableAgreesWithTheHistory(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		repos := []string{"acme/shop", "acme/other"}
		t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
		tick := 0
		at := func() time.Time { tick++; return t0.Add(time.Duration(tick) * time.Minute) }
		str := func(v string) *string { return &v }
		check := func(step string) {
			t.Helper()
			got, err := store.ServingCells(ctx, s.DB, store.ServingFilter{Repos: repos})
			if err != nil {
				t.Fatal(err)
			}
			if want := groupedServingCells(t, s.DB, repos); !reflect.DeepEqual(got, want) {
				t.Fatalf("after %s:\n got %+v\nwant %+v", step, got, want)
			}
		}
		insert := func(q store.Querier, repo, env, state string, arts ...store.ArtifactRow) int64 {
			t.Helper()
			d := &store.DeploymentRow{Repository: repo, PR: 3, SHA: "sha" + fmt.Sprint(tick), Environment: env, Mode: "deploy", State: state,
				Steps: []int{100}, Requester: "alice", CreatedAt: at(), Artifacts: arts}
			if err := store.InsertDeployment(ctx, q, d); err != nil {
				t.Fatal(err)
			}
			return d.ID
		}
		art := func(name, state, serving string) store.ArtifactRow {
			return store.ArtifactRow{Name: name, Kind: "app", Serving: serving, State: state}
		}
		// finish moves a running deployment and its artifacts to state, as
		// the engine does: artifacts first, then the deployment.
		finish := func(q store.Querier, id int64, state string, names ...string) {
			t.Helper()
			for _, n := range names {
				if err := store.UpdateArtifact(ctx, q, id, n, store.ArtifactUpdate{State: &state}); err != nil {
					t.Fatal(err)
				}
			}
			if err := store.UpdateDeployment(ctx, q, id, "in_progress", store.DeploymentUpdate{State: &state, At: at()}); err != nil {
				t.Fatal(err)
			}
		}

		check("nothing deployed")
		v1 := insert(s.DB, "acme/shop", "production", "succeeded", art("web", "succeeded", "v1"), art("worker", "succeeded", "w1"))
		insert(s.DB, "acme/other", "production", "succeeded", art("web", "succeeded", "o1"))
		check("two succeeded deployments")

		// A deployment that fails: the latest changes, what serves does not.
		v2 := insert(s.DB, "acme/shop", "production", "in_progress", art("web", "running", "v2"), art("worker", "pending", "w2"))
		check("a deployment in progress")
		finish(s.DB, v2, "failed", "web", "worker")
		check("it failed")

		// One that succeeds, inside the caller's transaction.
		var v3 int64
		if err := s.Tx(ctx, func(tx *sql.Tx) error {
			v3 = insert(tx, "acme/shop", "production", "in_progress", art("web", "running", "v3"))
			finish(tx, v3, "succeeded", "web")
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		check("a succeeded deployment in a transaction")

		// The deployment succeeded but one artifact did not: that one keeps
		// serving the older version.
		v4 := insert(s.DB, "acme/shop", "production", "in_progress", art("web", "running", "v4"), art("worker", "running", "w4"))
		if err := store.UpdateArtifact(ctx, s.DB, v4, "web", store.ArtifactUpdate{State: str("succeeded")}); err != nil {
			t.Fatal(err)
		}
		if err := store.UpdateArtifact(ctx, s.DB, v4, "worker", store.ArtifactUpdate{State: str("failed"), Output: str("boom")}); err != nil {
			t.Fatal(err)
		}
		if err := store.UpdateDeployment(ctx, s.DB, v4, "in_progress", store.DeploymentUpdate{State: str("succeeded"), At: at()}); err != nil {
			t.Fatal(err)
		}
		check("a deployment with one failed artifact")

		// v4 is rolled back: its web is claimed, rolled back, and the
		// deployment marked so; v3 serves again.
		won, err := store.ClaimArtifact(ctx, s.DB, v4, "web", []string{"succeeded"}, "rolling_back")
		if err != nil || !won {
			t.Fatalf("claim = %v, %v", won, err)
		}
		check("a claimed rollback")
		if won, err := store.ClaimArtifact(ctx, s.DB, v4, "web", []string{"succeeded"}, "rolling_back"); err != nil || won {
			t.Fatalf("second claim = %v, %v; want lost", won, err)
		}
		if err := store.UpdateArtifact(ctx, s.DB, v4, "web", store.ArtifactUpdate{State: str("rolled_back")}); err != nil {
			t.Fatal(err)
		}
		if err := store.UpdateDeployment(ctx, s.DB, v4, "succeeded", store.DeploymentUpdate{State: str("rolled_back"), At: at()}); err != nil {
			t.Fatal(err)
		}
		check("a rolled back deployment")
		cells, _ := store.ServingCells(ctx, s.DB, store.ServingFilter{Repos: []string{"acme/shop"}, Environment: "production"})
		if len(cells) != 2 || cells[0].Artifact != "web" || cells[0].ServedID != v3 || cells[0].Serving != "v3" ||
			cells[1].ServedID != v1 || cells[1].Serving != "w1" || cells[1].LatestID != v4 {
			t.Fatalf("after the rollback: %+v; want web v3 and worker w1 serving", cells)
		}

		// A state write that loses its compare-and-set changes nothing.
		if err := store.UpdateDeployment(ctx, s.DB, v3, "in_progress", store.DeploymentUpdate{State: str("failed")}); err == nil {
			t.Fatal("moving a succeeded deployment from in_progress succeeded")
		}
		check("a lost compare-and-set")

		// A newer deployment in progress, in another environment too, and a
		// step written without a state.
		v5 := insert(s.DB, "acme/shop", "production", "in_progress", art("web", "running", "v5"), art("worker", "pending", "w5"))
		insert(s.DB, "acme/shop", "staging", "awaiting_approval", art("web", "pending", "s1"))
		step := 1
		if err := store.UpdateDeployment(ctx, s.DB, v5, "in_progress", store.DeploymentUpdate{Step: &step, At: at()}); err != nil {
			t.Fatal(err)
		}
		if err := store.SetArtifactOwners(ctx, s.DB, store.ArtifactOwnersRow{Repository: "acme/shop", Artifact: "web", Kind: "app", Owners: []string{"acme/web"}}); err != nil {
			t.Fatal(err)
		}
		check("a newer deployment in progress")

		// Every artifact of v3 rolled back by hand: nothing older of web
		// succeeded but v1.
		if err := store.UpdateArtifact(ctx, s.DB, v3, "web", store.ArtifactUpdate{State: str("rolled_back")}); err != nil {
			t.Fatal(err)
		}
		check("the served version's artifact left succeeded")
		if err := store.UpdateArtifact(ctx, s.DB, v1, "web", store.ArtifactUpdate{State: str("failed")}); err != nil {
			t.Fatal(err)
		}
		check("nothing of web serves any more")

		// The migration's backfill reads the same history the same way.
		backfill(t, s)
		check("the migration's backfill")
	})
}
