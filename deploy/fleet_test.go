package deploy

import (
	"context"
	"fmt"
	"testing"

	"github.com/conveyor-dev/conveyor/internal/store"
	"github.com/conveyor-dev/conveyor/internal/store/storetest"
	"github.com/conveyor-dev/conveyor/policies"
)

// What a repository serves counts toward its teams' quotas when another
// repository asks: with the owners and resources its deployment recorded,
// also after a rollback (then the target's), and never for the asking
// repository itself (its own base config speaks for it).
func TestRunningElsewhereIsWhatOtherRepositoriesServe(t *testing.T) {
	for _, dialect := range []store.Dialect{store.SQLite, store.Postgres} {
		t.Run(string(dialect), func(t *testing.T) {
			e := newEnvOn(t, storetest.Open(t, dialect))
			ctx := context.Background()
			withML := func(r Request, gpu float64) Request {
				r.Artifacts[1].Owners = []string{"@acme/ml", "@octocat"}
				r.Artifacts[1].Resources = policies.Resources{CPU: 4, MemoryGiB: 16, GPU: gpu, Replicas: 2}
				return r
			}
			usage := func(asker string) map[string]map[string]policies.Usage {
				t.Helper()
				running, err := e.engine.RunningElsewhere(ctx, asker, "production")
				if err != nil {
					t.Fatal(err)
				}
				return policies.TeamUsage("production", running)
			}
			if u := usage("acme/other"); len(u) != 0 {
				t.Fatalf("nothing deployed, usage %v", u)
			}
			a, b := e.openPR("a"), e.openPR("b")
			e.wait(e.startOK(withML(request(a, "production"), 1)).ID, StateSucceeded)
			e.wait(e.startOK(withML(request(b, "production"), 3)).ID, StateSucceeded)
			if got, want := fmt.Sprint(usage("acme/other")), fmt.Sprint(map[string]map[string]policies.Usage{"acme/ml": {"production": {CPU: 8, MemoryGiB: 32, GPU: 6}}}); got != want {
				t.Fatalf("after b: usage %s, want %s", got, want)
			}
			if u := usage(repo); len(u) != 0 {
				t.Fatalf("the repository itself is counted from its own config, not here: %v", u)
			}
			// Rolled back to a's fraud: a's recorded resources serve again.
			rb, err := e.engine.Rollback(ctx, Request{Repository: repo, InstallationID: installation, PR: b.Number, Environment: "production",
				Requester: "alice", SourceKey: "comment:rollback", Artifacts: []ArtifactPlan{{Name: "fraud"}}})
			if err != nil {
				t.Fatal(err)
			}
			e.wait(rb.ID, StateSucceeded)
			if got := usage("acme/other")["acme/ml"]["production"]; got.GPU != 2 || got.CPU != 8 {
				t.Fatalf("after the rollback: %+v, want a's 1 GPU x 2 replicas", got)
			}
			// A deployment recorded before owners and resources were kept
			// counts for nobody.
			if _, err := e.store.DB.ExecContext(ctx, `UPDATE deployment_artifacts SET resources = '' WHERE name = 'fraud'`); err != nil {
				t.Fatal(err)
			}
			if u := usage("acme/other"); len(u) != 0 {
				t.Fatalf("rows without recorded resources: usage %v", u)
			}
		})
	}
}
