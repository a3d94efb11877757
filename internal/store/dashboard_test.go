package store_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/conveyor-dev/conveyor/internal/store"
	"github.com/conveyor-dev/conveyor/internal/store/storetest"
)

// seedDeployment stores a finished deployment of one artifact.
func seedDeployment(t *testing.T, s *store.Store, repo, env, artifact, kind, state, artState, serving string, pr int, at time.Time) int64 {
	t.Helper()
	d := &store.DeploymentRow{Repository: repo, PR: pr, SHA: serving + "sha", Environment: env, Mode: "deploy", State: state,
		Steps: []int{100}, Requester: "alice", CreatedAt: at,
		Artifacts: []store.ArtifactRow{{Name: artifact, Kind: kind, Serving: serving, State: artState}}}
	if err := store.InsertDeployment(context.Background(), s.DB, d); err != nil {
		t.Fatal(err)
	}
	return d.ID
}

func TestServingCellsShowWhatServesAndOnlyReadableRepos(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
		v13 := seedDeployment(t, s, "acme/shop", "production", "fraud-model", "model", "succeeded", "succeeded", "13", 4, t0)
		seedDeployment(t, s, "acme/shop", "production", "fraud-model", "model", "failed", "failed", "14", 7, t0.Add(time.Hour))
		seedDeployment(t, s, "acme/shop", "staging", "web", "app", "succeeded", "succeeded", "abc", 7, t0)
		seedDeployment(t, s, "acme/secret", "production", "vault", "app", "succeeded", "succeeded", "zzz", 1, t0)
		if err := store.SetArtifactOwners(ctx, s.DB, store.ArtifactOwnersRow{Repository: "acme/shop", Artifact: "fraud-model", Kind: "model", Owners: []string{"acme/ml"}}); err != nil {
			t.Fatal(err)
		}
		cells, err := store.ServingCells(ctx, s.DB, store.ServingFilter{Repos: []string{"acme/shop"}})
		if err != nil {
			t.Fatal(err)
		}
		if len(cells) != 2 {
			t.Fatalf("cells = %+v, want fraud-model/production and web/staging", cells)
		}
		fm := cells[0]
		if fm.Artifact != "fraud-model" || fm.Serving != "13" || fm.ServedID != v13 || fm.ServedPR != 4 || fm.LatestState != "failed" ||
			!fm.ServedSince.Equal(t0) || !slices.Equal(fm.Owners, []string{"acme/ml"}) {
			t.Errorf("fraud-model = %+v, want v13 serving from PR 4 while the latest (failed) is v14", fm)
		}
		for _, c := range cells {
			if c.Repository == "acme/secret" {
				t.Errorf("a repository the viewer cannot read was returned: %+v", c)
			}
		}
		// Filters: team, kind, environment.
		for _, tc := range []struct {
			f    store.ServingFilter
			want []string
		}{
			{store.ServingFilter{Team: "@acme/ml"}, []string{"fraud-model"}},
			{store.ServingFilter{Team: "acme/m"}, nil}, // a team is matched whole
			{store.ServingFilter{Kind: "app"}, []string{"web"}},
			{store.ServingFilter{Environment: "staging"}, []string{"web"}},
		} {
			tc.f.Repos = []string{"acme/shop"}
			got, err := store.ServingCells(ctx, s.DB, tc.f)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, c := range got {
				names = append(names, c.Artifact)
			}
			if !slices.Equal(names, tc.want) {
				t.Errorf("filter %+v: %v, want %v", tc.f, names, tc.want)
			}
		}
		if got, _ := store.ServingCells(ctx, s.DB, store.ServingFilter{}); got != nil {
			t.Errorf("no readable repository: %v, want nothing", got)
		}
		// What changed since a mark: the new deployment, not the unreadable repository's.
		mark, err := store.HistoryVersion(ctx, s.DB)
		if err != nil {
			t.Fatal(err)
		}
		newer := seedDeployment(t, s, "acme/shop", "staging", "web", "app", "succeeded", "succeeded", "def", 8, t0.Add(48*time.Hour))
		seedDeployment(t, s, "acme/secret", "production", "vault", "app", "succeeded", "succeeded", "zz2", 2, t0.Add(48*time.Hour))
		changes, err := store.ServingChanges(ctx, s.DB, []string{"acme/shop"}, mark.MaxAt+1, mark.MaxID)
		if err != nil || len(changes) != 1 || changes[0].ID != newer || changes[0].Serving != "def" || changes[0].SHA != "defsha" {
			t.Errorf("changes since the mark = %+v, %v; want the new web deployment only", changes, err)
		}
		if m2, _ := store.HistoryVersion(ctx, s.DB); m2 == mark {
			t.Errorf("the history mark did not move: %+v", m2)
		}
		repos, err := store.KnownRepositories(ctx, s.DB)
		if err != nil || !slices.Equal(repos, []string{"acme/secret", "acme/shop"}) {
			t.Errorf("known repositories = %v, %v", repos, err)
		}
	})
}

func TestSearchAuditFiltersWithinReadableRepos(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
		for i, e := range []store.AuditEvent{
			{Kind: "approval", Repository: "acme/shop", PR: 7, Actor: "bob", Action: "approve", Outcome: "awaiting_approval"},
			{Kind: "deployment", Repository: "acme/shop", PR: 7, Actor: "conveyor", Action: "succeeded", Outcome: "succeeded"},
			{Kind: "deployment", Repository: "acme/shop", PR: 8, Actor: "alice", Action: "failed", Outcome: "failed"},
			{Kind: "lock", Repository: "acme/secret", PR: 7, Actor: "bob", Action: "lock", Outcome: "locked"},
		} {
			e.At = t0.Add(time.Duration(i) * time.Hour)
			if err := store.AppendAudit(ctx, s.DB, e); err != nil {
				t.Fatal(err)
			}
		}
		search := func(a store.AuditSearch) []string {
			t.Helper()
			evs, err := store.SearchAudit(ctx, s.DB, a)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, e := range evs {
				out = append(out, e.Repository+":"+e.Action)
			}
			return out
		}
		shop := []string{"acme/shop"}
		if got := search(store.AuditSearch{Repos: shop, Actor: "bob"}); !slices.Equal(got, []string{"acme/shop:approve"}) {
			t.Errorf("actor bob = %v; the unreadable repository's event must not appear", got)
		}
		if got := search(store.AuditSearch{Repos: shop, PR: 7}); !slices.Equal(got, []string{"acme/shop:succeeded", "acme/shop:approve"}) {
			t.Errorf("PR 7 = %v", got)
		}
		if got := search(store.AuditSearch{Repos: shop, Since: t0.Add(time.Hour), Until: t0.Add(2 * time.Hour)}); !slices.Equal(got, []string{"acme/shop:succeeded"}) {
			t.Errorf("time window = %v", got)
		}
		if got := search(store.AuditSearch{Repos: shop, Outcome: "failed"}); !slices.Equal(got, []string{"acme/shop:failed"}) {
			t.Errorf("outcome = %v", got)
		}
		if got := search(store.AuditSearch{Repos: shop, Repository: "acme/secret"}); got != nil {
			t.Errorf("asking for an unreadable repository by name = %v, want nothing", got)
		}
		if got := search(store.AuditSearch{}); got != nil {
			t.Errorf("no readable repository = %v, want nothing", got)
		}
	})
}

func TestCheckOutputsAndFingerprint(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		o := store.CheckOutput{Repository: "acme/shop", PR: 7, SHA: "aaa", Artifact: "web", Name: "conveyor / web", Kind: "app",
			Status: "completed", Conclusion: "success", Title: "ready", Summary: "| stage |", Stages: `[{"name":"Validate","result":"pass"}]`}
		if err := store.SaveCheckOutput(ctx, s.DB, o); err != nil {
			t.Fatal(err)
		}
		o.Title = "ready for staging"
		if err := store.SaveCheckOutput(ctx, s.DB, o); err != nil {
			t.Fatal(err)
		}
		gate := store.CheckOutput{Repository: "acme/shop", PR: 7, SHA: "aaa", Name: "conveyor", Status: "completed", Conclusion: "success"}
		if err := store.SaveCheckOutput(ctx, s.DB, gate); err != nil {
			t.Fatal(err)
		}
		outs, err := store.CheckOutputs(ctx, s.DB, "acme/shop", 7, "aaa")
		if err != nil || len(outs) != 2 || outs[0].Name != "conveyor" || outs[1].Title != "ready for staging" || outs[1].Stages != o.Stages {
			t.Fatalf("outputs = %+v, %v; want the gate, then web's latest", outs, err)
		}
		if outs, _ := store.CheckOutputs(ctx, s.DB, "acme/shop", 8, "aaa"); len(outs) != 0 {
			t.Errorf("another PR's outputs = %+v", outs)
		}
		// A new head: its first output makes the old head's go.
		if err := store.SetCheckHead(ctx, s.DB, store.CheckHead{Repository: "acme/shop", PR: 7, SHA: "bbb"}); err != nil {
			t.Fatal(err)
		}
		late := gate
		late.Title = "a late write for the old head"
		if err := store.SaveCheckOutput(ctx, s.DB, late); err != nil {
			t.Fatal(err)
		}
		if outs, _ := store.CheckOutputs(ctx, s.DB, "acme/shop", 7, "aaa"); len(outs) != 2 {
			t.Errorf("before the new head wrote, the old head's outputs = %d, want kept", len(outs))
		}
		gate.SHA = "bbb"
		if err := store.SaveCheckOutput(ctx, s.DB, gate); err != nil {
			t.Fatal(err)
		}
		if outs, _ := store.CheckOutputs(ctx, s.DB, "acme/shop", 7, "aaa"); len(outs) != 0 {
			t.Errorf("the old head's outputs = %+v, want gone", outs)
		}
		if outs, _ := store.CheckOutputs(ctx, s.DB, "acme/shop", 7, "bbb"); len(outs) != 1 {
			t.Errorf("the head's outputs = %+v, want its gate", outs)
		}

		repos := []string{"acme/shop"}
		fp0, err := store.Fingerprint(ctx, s.DB, repos, 7)
		if err != nil {
			t.Fatal(err)
		}
		id := seedDeployment(t, s, "acme/shop", "production", "web", "app", "awaiting_approval", "pending", "", 7, time.Now())
		fp1, _ := store.Fingerprint(ctx, s.DB, repos, 7)
		if fp1 == fp0 {
			t.Errorf("a new deployment left the fingerprint at %s", fp0)
		}
		if _, err := store.AddApproval(ctx, s.DB, id, store.ApprovalRow{Login: "bob", SHA: "sha", At: time.Now()}); err != nil {
			t.Fatal(err)
		}
		fp2, _ := store.Fingerprint(ctx, s.DB, repos, 7)
		if fp2 == fp1 {
			t.Errorf("an approval left the fingerprint at %s", fp1)
		}
		if other, _ := store.Fingerprint(ctx, s.DB, repos, 8); other == fp2 {
			t.Errorf("PR 8's fingerprint follows PR 7's deployments")
		}
	})
}
