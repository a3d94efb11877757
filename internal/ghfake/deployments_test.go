package ghfake

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-github/v66/github"
)

func TestDeploymentsAndAutoInactive(t *testing.T) {
	s, gh := fixture(t)
	sha1 := s.Commit("acme/web", "main", map[string]*string{"a": str("1")}, "v1")
	deploy := func(ref, env string) *github.Deployment {
		d, _, err := gh.Repositories.CreateDeployment(ctx, "acme", "web", &github.DeploymentRequest{
			Ref: str(ref), Environment: str(env), Payload: map[string]any{"percent": 10}, AutoMerge: github.Bool(false),
			RequiredContexts: &[]string{},
		})
		if err != nil {
			t.Fatalf("deploy %s to %s: %v", ref, env, err)
		}
		return d
	}
	status := func(d *github.Deployment, state string) {
		if _, _, err := gh.Repositories.CreateDeploymentStatus(ctx, "acme", "web", d.GetID(),
			&github.DeploymentStatusRequest{State: str(state), EnvironmentURL: str("https://web.example")}); err != nil {
			t.Fatalf("status %s: %v", state, err)
		}
	}
	d1 := deploy("main", "production")
	if d1.GetSHA() != sha1 || d1.GetCreator().GetLogin() != "conveyor[bot]" || string(d1.Payload) != `{"percent":10}` {
		t.Fatalf("deployment = %+v payload=%s", d1, d1.Payload)
	}
	status(d1, "in_progress")
	status(d1, "success")
	stg := deploy("main", "staging")
	status(stg, "success")

	s.Commit("acme/web", "main", map[string]*string{"a": str("2")}, "v2")
	d2 := deploy("main", "production")
	status(d2, "success")

	sts := s.DeploymentStatuses("acme/web", d1.GetID())
	if len(sts) != 3 || sts[2].State != "inactive" {
		t.Fatalf("old production deployment statuses = %+v; want success then inactive", sts)
	}
	if st := s.DeploymentStatuses("acme/web", stg.GetID()); len(st) != 1 || st[0].State != "success" {
		t.Fatalf("staging must stay active: %+v", st)
	}
	listed, _, err := gh.Repositories.ListDeploymentStatuses(ctx, "acme", "web", d1.GetID(), nil)
	if err != nil || len(listed) != 3 || listed[0].GetState() != "inactive" {
		t.Fatalf("API statuses newest first = %v, %v", listed, err)
	}

	prod, _, err := gh.Repositories.ListDeployments(ctx, "acme", "web", &github.DeploymentsListOptions{Environment: "production"})
	if err != nil || len(prod) != 2 || prod[0].GetID() != d2.GetID() {
		t.Fatalf("production deployments = %v, %v", prod, err)
	}
	bySHA, _, err := gh.Repositories.ListDeployments(ctx, "acme", "web", &github.DeploymentsListOptions{SHA: sha1})
	if err != nil || len(bySHA) != 2 {
		t.Fatalf("by sha = %d, %v", len(bySHA), err)
	}

	// Explicit auto_inactive=false leaves the previous deployment alone.
	d3 := deploy("main", "production")
	if _, _, err := gh.Repositories.CreateDeploymentStatus(ctx, "acme", "web", d3.GetID(),
		&github.DeploymentStatusRequest{State: str("success"), AutoInactive: github.Bool(false)}); err != nil {
		t.Fatal(err)
	}
	if st := s.DeploymentStatuses("acme/web", d2.GetID()); st[len(st)-1].State != "success" {
		t.Fatalf("auto_inactive=false still retired d2: %+v", st)
	}

	if _, _, err := gh.Repositories.CreateDeployment(ctx, "acme", "web", &github.DeploymentRequest{Ref: str("nope")}); statusOf(err) != 409 {
		t.Fatalf("unknown ref: %v, want 409", err)
	}
	if _, _, err := gh.Repositories.CreateDeploymentStatus(ctx, "acme", "web", d1.GetID(),
		&github.DeploymentStatusRequest{State: str("done")}); statusOf(err) != 422 {
		t.Fatalf("bad state: %v, want 422", err)
	}
	if v := s.TakeContractViolations(); len(v) != 1 || !strings.Contains(v[0], "/state") {
		t.Fatalf("contract violations = %q, want the bad state", v)
	}
	var payload map[string]int
	if err := json.Unmarshal(s.Deployments("acme/web")[0].Payload, &payload); err != nil || payload["percent"] != 10 {
		t.Fatalf("stored payload = %v, %v", payload, err)
	}
}
