package policies

import (
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/conveyor-dev/conveyor/internal/serverconfig"
)

// serverConfigYAML is the design's server config, with an override team.
const serverConfigYAML = `
teams:
  acme/ml: {quota: {production: {cpu: 64, memory: 256Gi, gpu: 8}}}
pricing: {cpu_hour: 0.04, memory_gib_hour: 0.005, gpu_hour: 2.50, cost_gate_usd: 500, finance_team: acme/finance}
policies: {override_teams: [acme/ml-leads]}
`

func testConfig(t testing.TB) *serverconfig.Config {
	t.Helper()
	c, err := serverconfig.Parse([]byte(serverConfigYAML))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// productionDeploy is a realistic deploy of the design's three artifacts to
// production on a Wednesday, staging already green at the head SHA.
func productionDeploy() Input {
	return Input{
		Action:      "deploy",
		Actor:       Actor{Login: "sam", Permission: "write", Teams: []string{"acme/sre", "acme/web"}},
		Repository:  "acme/shop",
		PullRequest: &PullRequest{Number: 7, Author: "ana", HeadSHA: "4f2a9c1e0b7d", Base: "main"},
		Environment: Environment{Name: "production", Config: EnvironmentConfig{
			Requires:  []string{"staging"},
			Approvals: ApprovalConfig{Count: 2, From: []string{"@acme/sre", "@acme/ml-leads"}},
			Rollout:   Rollout{Steps: []int{10, 50, 100}, Pause: "2m"},
			Freeze:    []string{"Fri 15:00-Mon 08:00 Europe/Berlin"},
		}},
		Artifacts: []Artifact{
			{
				Name: "web", Kind: "app", Owners: []string{"@acme/web"},
				Resources: Resources{CPU: 2, MemoryGiB: 4, Replicas: 3},
				Cost:      Cost{MonthlyUSD: 219, DeltaUSD: 0},
				Evidence:  Evidence{CI: map[string]string{"build": "success", "test": "success"}},
			},
			{
				Name: "fraud-model", Kind: "model", Owners: []string{"@acme/ml"},
				Resources: Resources{CPU: 4, MemoryGiB: 16, GPU: 1, Replicas: 2},
				Cost:      Cost{MonthlyUSD: 4000.4, DeltaUSD: 120.5},
				Evidence: Evidence{CI: map[string]string{}, Metrics: &MetricsEvidence{
					Metric: "auc", Candidate: 0.93, Production: 0.92, Min: 0.9, MaxRegression: 0.005, Regression: -0.01, Passed: true,
				}},
			},
			{
				Name: "analytics", Kind: "dbt", Owners: []string{"@acme/data"},
				Evidence: Evidence{CI: map[string]string{}, DBT: &DBTEvidence{
					Modified: []string{"orders"}, Downstream: []string{"revenue", "churn"},
					Untested: []string{}, ContractBreaks: []string{},
				}},
			},
		},
		Deployments: map[string]DeploymentFact{
			"staging":    {SHA: "4f2a9c1e0b7d", State: "succeeded"},
			"production": {SHA: "0c1d2e3f4a5b", State: "succeeded"},
		},
		Approvals: []Approval{{Login: "kim", Via: "slack", SHA: "4f2a9c1e0b7d"}},
		Requester: "ana",
		Usage: map[string]map[string]Usage{
			"acme/ml":  {"production": {CPU: 40, MemoryGiB: 128, GPU: 4}},
			"acme/web": {"production": {CPU: 12, MemoryGiB: 24}},
		},
		Now: "2025-06-11T10:00:00Z", // a Wednesday
	}
}

// mustCompile parses and compiles srcs as the evaluator does.
func mustCompile(t testing.TB, srcs []source) *ast.Compiler {
	t.Helper()
	mods, err := parseSources(srcs)
	if err != nil {
		t.Fatal(err)
	}
	compiler, err := compileModules(mods)
	if err != nil {
		t.Fatal(err)
	}
	return compiler
}
