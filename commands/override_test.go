package commands

import (
	"testing"

	"github.com/conveyor-dev/conveyor/internal/serverconfig"
	"github.com/conveyor-dev/conveyor/policies"
)

// A gate that is red only because of a quality-gate finding (here a model
// metric regression) is left to the policy: production is denied with the
// finding, unless the requester is in one of policies.override_teams;
// staging goes ahead with the finding as a warning.
func TestQualityGateOverride(t *testing.T) {
	scfg := serverconfig.Default()
	scfg.Policies.OverrideTeams = []string{"@acme/ml-leads"}
	e := newEnvConfig(t, scfg)
	e.gh.SetPermission(testRepo, "lead", "maintain")
	e.gh.SetPermission(testRepo, "mlead", "maintain")
	e.gh.SetPermission(testRepo, "dev", "write")
	e.gh.AddTeamMember("acme", "ml-leads", "mlead")

	pr := e.openPR("fraud-v14", "dev", map[string]*string{
		"models/fraud.yaml": strp("registry: main\nmodel: fraud-detector\nversion: \"14\"\n"),
	})
	e.gate.set(pr.HeadSHA, "failure")
	regression := map[string]policies.Evidence{"fraud-model": {Metrics: &policies.MetricsEvidence{
		Metric: "auc", Candidate: 0.89, Production: 0.93, Min: 0.9, MaxRegression: 0.005, Regression: 0.04, Passed: false}}}
	e.gate.setEvidence(pr.HeadSHA, regression, true)
	e.dep.last["staging"] = map[string]string{"fraud-model": pr.HeadSHA}

	// Not in an override team: the policy denies production and says why.
	e.comment(pr, "lead", "/deploy production")
	mustContain(t, e.oneReply(pr), "fraud-model: auc is 0.89 (minimum 0.9", "the model evaluation did not pass")
	if n := len(e.starts()); n != 0 {
		t.Fatalf("%d starts; a regression went to production without an override", n)
	}

	// An override team member takes it to production; the override is on record.
	e.comment(pr, "mlead", "/deploy production")
	starts := e.starts()
	if len(starts) != 1 || !starts[0].Production {
		t.Fatalf("starts = %+v; replies %q", starts, e.replies(pr))
	}
	mustContain(t, starts[0].Decision, "allow", "overridden by acme/ml-leads: fraud-model: auc is 0.89")

	// Staging: the finding is a warning, the deploy goes ahead.
	e.comment(pr, "dev", "/deploy staging")
	if starts = e.starts(); len(starts) != 2 || starts[1].Environment != "staging" {
		t.Fatalf("starts = %+v; replies %q", starts, e.replies(pr))
	}
	mustContain(t, starts[1].Decision, "warn: fraud-model: auc is 0.89")
}

// A red gate with anything else failing (not overridable) is refused before
// the policy is asked, whoever asks.
func TestRedGateNotOverridableIsRefused(t *testing.T) {
	scfg := serverconfig.Default()
	scfg.Policies.OverrideTeams = []string{"@acme/ml-leads"}
	e := newEnvConfig(t, scfg)
	e.gh.SetPermission(testRepo, "mlead", "maintain")
	e.gh.AddTeamMember("acme", "ml-leads", "mlead")
	pr := e.openPR("fraud-v14", "dev", map[string]*string{
		"models/fraud.yaml": strp("registry: main\nmodel: fraud-detector\nversion: \"14\"\n"),
	})
	e.gate.set(pr.HeadSHA, "failure")
	e.gate.setEvidence(pr.HeadSHA, map[string]policies.Evidence{"fraud-model": {Metrics: &policies.MetricsEvidence{Metric: "auc", Candidate: 0.89, Passed: false}}}, false)
	e.comment(pr, "mlead", "/deploy staging")
	mustContain(t, e.oneReply(pr), "the conveyor check failed on "+pr.HeadSHA[:7], "fix what it reports")
	if len(e.starts()) != 0 {
		t.Fatal("a red gate that is not overridable was deployed")
	}
}
