package policies

import (
	"context"
	"strings"
	"testing"

	"github.com/conveyor-dev/conveyor/internal/serverconfig"
)

func TestTeamUsage(t *testing.T) {
	running := []Artifact{
		{Name: "churn", Owners: []string{"@acme/ml"}, Resources: Resources{CPU: 2, MemoryGiB: 8, GPU: 1, Replicas: 2}},
		{Name: "fraud", Owners: []string{"@acme/ml", "acme/ml", "@octocat"}, Resources: Resources{CPU: 4, GPU: 1}},
	}
	u := TeamUsage("production", running)
	got := u["acme/ml"]["production"]
	if got.CPU != 8 || got.MemoryGiB != 16 || got.GPU != 3 {
		t.Fatalf("usage = %+v; want cpu 8, memory 16, gpu 3", got)
	}
	if _, ok := u["octocat"]; ok || len(u) != 1 {
		t.Fatalf("a user owner got a quota entry: %v", u)
	}
}

// What runs now counts against the quota together with the candidate.
func TestQuotaCountsWhatRunsNow(t *testing.T) {
	cfg, err := serverconfig.Parse([]byte("teams: {acme/ml: {quota: {production: {gpu: 4}}}}"))
	if err != nil {
		t.Fatal(err)
	}
	ev, err := New(context.Background(), Options{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	cand := Artifact{Name: "fraud", Kind: "model", Owners: []string{"@acme/ml"}, Resources: Resources{GPU: 1, Replicas: 2}}
	in := Input{Action: "check", Repository: "acme/shop", Environment: Environment{Name: "production"},
		Artifacts: []Artifact{cand}, Now: "2026-11-26T10:00:00Z"}
	if d, _, _ := ev.Eval(context.Background(), in); !d.Allow {
		t.Fatalf("2 GPU of 4 denied: %v", d.Deny)
	}
	in.Usage = TeamUsage("production", []Artifact{{Name: "churn", Owners: []string{"@acme/ml"}, Resources: Resources{GPU: 1, Replicas: 3}}})
	d, _, _ := ev.Eval(context.Background(), in)
	if d.Allow || len(d.Deny) == 0 || !strings.Contains(d.Deny[0], "(3 running + 2 requested)") {
		t.Fatalf("3 running + 2 asked of 4: %+v", d)
	}
}
