package commands

import (
	"testing"

	"github.com/conveyor-dev/conveyor/internal/serverconfig"
	"github.com/conveyor-dev/conveyor/policies"
)

// A candidate blocked by drift (drift.block, production drifted, the
// candidate records no drift of its own within the maximum) is a quality
// finding like a regression: the policy denies production and names it,
// and an override team member may take it further.
func TestBlockingDriftIsLeftToThePolicy(t *testing.T) {
	scfg := serverconfig.Default()
	scfg.Policies.OverrideTeams = []string{"@acme/ml-leads"}
	e := newEnvConfig(t, scfg)
	e.gh.SetPermission(testRepo, "lead", "maintain")
	e.gh.SetPermission(testRepo, "mlead", "maintain")
	e.gh.AddTeamMember("acme", "ml-leads", "mlead")
	pr := e.openPR("fraud-v14", "dev", map[string]*string{
		"models/fraud.yaml": strp("registry: main\nmodel: fraud-detector\nversion: \"14\"\n"),
	})
	e.gate.set(pr.HeadSHA, "failure")
	drifted := map[string]policies.Evidence{"fraud-model": {Metrics: &policies.MetricsEvidence{
		Metric: "auc", Direction: "higher", Candidate: 0.935, Production: 0.93, Min: 0.9, MaxRegression: 0.005, Regression: -0.005, Passed: true,
		Drift: &policies.DriftEvidence{Metric: "psi", Source: "metric", Max: 0.2, Measured: true, Production: 0.31, Above: true, Block: true, Passed: false},
	}}}
	e.gate.setEvidence(pr.HeadSHA, drifted, true)
	e.dep.last["staging"] = map[string]string{"fraud-model": pr.HeadSHA}

	e.comment(pr, "lead", "/deploy production")
	mustContain(t, e.oneReply(pr), "fraud-model: drift psi on the version serving in production is 0.31, above the maximum 0.2, and the candidate does not address it")
	if n := len(e.starts()); n != 0 {
		t.Fatalf("%d starts; a blocking drift went to production without an override", n)
	}
	e.comment(pr, "mlead", "/deploy production")
	starts := e.starts()
	if len(starts) != 1 || !starts[0].Production {
		t.Fatalf("starts = %+v; replies %q", starts, e.replies(pr))
	}
	mustContain(t, starts[0].Decision, "overridden by acme/ml-leads: fraud-model: drift psi")
}
