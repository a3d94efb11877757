package checks

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/conveyor-dev/conveyor/examples"
	"github.com/conveyor-dev/conveyor/policies"
)

// TestExampleChanges replays every scripted change and checks the outcome
// each one declares in its change.yaml.
func TestExampleChanges(t *testing.T) {
	ml := newMLflow(t)
	s := New(Options{Server: serverConfig(t), Policy: examplePolicy(t)})
	changes, err := examples.LoadChanges(filepath.Join(exampleDir, "changes"))
	if err != nil {
		t.Fatal(err)
	}
	for _, ch := range changes {
		t.Run(ch.Name, func(t *testing.T) {
			res, err := s.Evaluate(context.Background(), exampleFacts(t, ch.Name, ml))
			if err != nil {
				t.Fatal(err)
			}
			if res.Gate.Conclusion != ch.Expect.Gate {
				t.Errorf("gate = %s (%s), want %s\n%s", res.Gate.Conclusion, res.Gate.Title, ch.Expect.Gate, res.Render("text"))
			}
			for name, want := range ch.Expect.Artifacts {
				a := artifactByName(res, name)
				if a == nil {
					t.Errorf("artifact %s not evaluated\n%s", name, res.Render("text"))
					continue
				}
				if a.Conclusion != want {
					t.Errorf("%s = %s (%s), want %s\n%s", name, a.Conclusion, a.Title, want, res.Render("text"))
				}
			}
			for _, p := range ch.Expect.Problems {
				found := false
				for _, an := range res.Gate.Annotations {
					if an.Path == p.File && an.Line == p.Line && strings.Contains(an.Message, p.Contains) {
						found = true
					}
				}
				if !found {
					t.Errorf("no gate annotation at %s:%d containing %q; got %+v", p.File, p.Line, p.Contains, res.Gate.Annotations)
				}
			}
		})
	}
}

func TestGoodChangeShowsEveryPersona(t *testing.T) {
	s := New(Options{Server: serverConfig(t), Policy: examplePolicy(t)})
	res, err := s.Evaluate(context.Background(), exampleFacts(t, "good", newMLflow(t)))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Artifacts) != 3 {
		t.Fatalf("touched %d artifacts, want web, fraud-model, analytics:\n%s", len(res.Artifacts), res.Render("text"))
	}
	for _, a := range res.Artifacts {
		if len(a.Stages) != 4 || a.Stages[0].Name != StageValidate || a.Stages[3].Name != StageReadiness {
			t.Errorf("%s stages = %+v, want the four stages in order", a.Name, a.Stages)
		}
	}
	web := artifactByName(res, "web")
	if !strings.Contains(web.Persona, "| `build` | ✅ success |") {
		t.Errorf("web persona lacks the CI table:\n%s", web.Persona)
	}
	model := artifactByName(res, "fraud-model")
	if !strings.Contains(model.Persona, "| auc | ≥ 0.9; at most 0.005 below production; higher is better | 0.935 | 0.93 | 0.93 | +0.005 (better) |") ||
		!strings.Contains(model.Persona, "Aliases: staging → v13, production → v13") {
		t.Errorf("model persona lacks the metric table:\n%s", model.Persona)
	}
	if q := stage(model, StageQuality); q.Result != Pass || !strings.Contains(q.Summary, "+0.005 vs production v13") {
		t.Errorf("model quality = %+v", q)
	}
	dbtRes := artifactByName(res, "analytics")
	if !strings.Contains(dbtRes.Persona, "Lineage impact") || !strings.Contains(dbtRes.Persona, "stg_orders") {
		t.Errorf("dbt persona lacks lineage:\n%s", dbtRes.Persona)
	}
	r := stage(web, StageReadiness)
	if !strings.Contains(r.Summary, "may go to staging now") || !strings.Contains(r.Summary, "production needs staging first at aaaaaaa, 2 approvals from acme/sre or acme/ml-leads") {
		t.Errorf("readiness = %q", r.Summary)
	}
	ids := []string{}
	for _, a := range web.Actions {
		ids = append(ids, a.Identifier)
	}
	if strings.Join(ids, ",") != "deploy-staging,plan-production" {
		t.Errorf("web actions = %v, want deploy-staging, plan-production", ids)
	}
	var back Result
	if err := json.Unmarshal([]byte(res.Render("json")), &back); err != nil || back.Gate.Conclusion != Success {
		t.Errorf("json render does not round-trip: %v %+v", err, back.Gate)
	}
	md := res.Render("markdown")
	if !strings.Contains(md, "| stage | result | details |") || !strings.Contains(md, "## conveyor / analytics") {
		t.Errorf("markdown render lacks the stage table:\n%s", md)
	}
}

func TestAUCRegressionShowsMetricTable(t *testing.T) {
	s := New(Options{Server: serverConfig(t), Policy: examplePolicy(t)})
	res, err := s.Evaluate(context.Background(), exampleFacts(t, "auc-regression", newMLflow(t)))
	if err != nil {
		t.Fatal(err)
	}
	m := artifactByName(res, "fraud-model")
	q := stage(m, StageQuality)
	if q.Result != Fail || !strings.Contains(q.Summary, "auc 0.89 is below the minimum 0.9") || !strings.Contains(q.Summary, "regresses 0.04 against production v13") {
		t.Errorf("quality = %+v", q)
	}
	if !strings.Contains(m.Persona, "| auc | ≥ 0.9; at most 0.005 below production; higher is better | 0.89 | 0.93 | 0.93 | -0.04 (worse) |") {
		t.Errorf("metric table:\n%s", m.Persona)
	}
	if len(m.Annotations) == 0 || m.Annotations[0].Path != "models/fraud.yaml" || m.Annotations[0].Line != 3 {
		t.Errorf("annotations = %+v, want models/fraud.yaml:3", m.Annotations)
	}
	if len(m.Actions) != 0 {
		t.Errorf("a failing artifact offers actions %+v", m.Actions)
	}
}

func TestDBTFailuresAreAnnotated(t *testing.T) {
	s := New(Options{Server: serverConfig(t), Policy: examplePolicy(t)})
	ml := newMLflow(t)
	res, err := s.Evaluate(context.Background(), exampleFacts(t, "contract-break", ml))
	if err != nil {
		t.Fatal(err)
	}
	a := artifactByName(res, "analytics")
	if q := stage(a, StageQuality); q.Result != Fail || !strings.Contains(q.Summary, "2 contract breaks") {
		t.Errorf("contract-break quality = %+v", q)
	}
	var msgs []string
	for _, an := range a.Annotations {
		if an.Path == "" || an.Line < 1 {
			t.Errorf("annotation without file:line: %+v", an)
		}
		msgs = append(msgs, an.Path+": "+an.Message)
	}
	if !strings.Contains(strings.Join(msgs, "\n"), "customer_id") {
		t.Errorf("no annotation names the removed column: %v", msgs)
	}
	if !strings.Contains(a.Persona, "Contract changes") || !strings.Contains(a.Persona, "fct_orders") {
		t.Errorf("persona lacks contract changes:\n%s", a.Persona)
	}

	res, err = s.Evaluate(context.Background(), exampleFacts(t, "missing-tests", ml))
	if err != nil {
		t.Fatal(err)
	}
	a = artifactByName(res, "analytics")
	if q := stage(a, StageQuality); q.Result != Fail || !strings.Contains(q.Summary, "untested: customer_ltv") {
		t.Errorf("missing-tests quality = %+v", q)
	}
	if len(a.Annotations) != 1 || !strings.HasSuffix(a.Annotations[0].Path, "customer_ltv.sql") {
		t.Errorf("annotations = %+v, want one on customer_ltv.sql", a.Annotations)
	}
}

func TestOverQuotaDeniedVerbatim(t *testing.T) {
	s := New(Options{Server: serverConfig(t), Policy: examplePolicy(t)})
	res, err := s.Evaluate(context.Background(), exampleFacts(t, "over-quota", newMLflow(t)))
	if err != nil {
		t.Fatal(err)
	}
	p := stage(artifactByName(res, "fraud-model"), StagePolicy)
	if p.Result != Fail || !strings.Contains(strings.Join(p.Details, "\n"), "deny: team acme/ml would use 16 GPU in production (0 running + 16 requested), above its quota of 8") {
		t.Errorf("policy = %+v", p)
	}
	if !strings.Contains(strings.Join(p.Details, "\n"), "warn: monthly cost changes by +$") {
		t.Errorf("policy details lack the cost warning: %v", p.Details)
	}
}

func TestNoPolicyIsNeutral(t *testing.T) {
	s := New(Options{Server: serverConfig(t)})
	res, err := s.Evaluate(context.Background(), exampleFacts(t, "good", newMLflow(t)))
	if err != nil {
		t.Fatal(err)
	}
	p := stage(artifactByName(res, "web"), StagePolicy)
	if p.Result != Info || p.Summary != "no policy configured" || res.Gate.Conclusion != Success {
		t.Errorf("policy = %+v, gate = %s", p, res.Gate.Conclusion)
	}
}

func TestAppWaitsForCIAndFailsOnFailure(t *testing.T) {
	s := New(Options{Server: serverConfig(t)})
	f := exampleFacts(t, "good", newMLflow(t))
	f.CIResults = map[string]CIResult{"build": {Status: "completed", Conclusion: "success"}, "test": {Status: "in_progress"}}
	res, err := s.Evaluate(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	web := artifactByName(res, "web")
	if web.Status != StatusInProgress || !strings.Contains(web.Title, "waiting for CI: test") {
		t.Errorf("web = %s %q, want in progress waiting for test", web.Status, web.Title)
	}
	if res.Gate.Status != StatusInProgress || res.Gate.Title != "Waiting for web" {
		t.Errorf("gate = %s %q", res.Gate.Status, res.Gate.Title)
	}
	f.CIResults["test"] = CIResult{Status: "completed", Conclusion: "failure"}
	res, _ = s.Evaluate(context.Background(), f)
	if web = artifactByName(res, "web"); web.Conclusion != Failure || !strings.Contains(web.Title, "CI failed: test (failure)") {
		t.Errorf("web = %s %q, want failure naming test", web.Conclusion, web.Title)
	}
	if res.Gate.Conclusion != Failure || res.Gate.Title != "Failing: web" {
		t.Errorf("gate = %s %q", res.Gate.Conclusion, res.Gate.Title)
	}
}

func TestRegistryUnreachableIsNeverGreen(t *testing.T) {
	ml := newMLflow(t)
	s := New(Options{Server: serverConfig(t)})
	ml.FailNext("/api/2.0/mlflow", 100, 503)
	res, err := s.Evaluate(context.Background(), exampleFacts(t, "good", ml))
	if err != nil {
		t.Fatal(err)
	}
	m := artifactByName(res, "fraud-model")
	v := stage(m, StageValidate)
	// Without a queue the cause is on the line and the reader is told to run again.
	if v.Result != Error || !strings.Contains(v.Summary, "503") || !strings.HasSuffix(v.Summary, "; run again") {
		t.Errorf("validate = %+v", v)
	}
	if m.Conclusion == Success || res.Gate.Conclusion == Success {
		t.Errorf("registry down but model %s, gate %s", m.Conclusion, res.Gate.Conclusion)
	}
}

func TestNoArtifactTouched(t *testing.T) {
	s := New(Options{Server: serverConfig(t)})
	f := exampleFacts(t, "good", newMLflow(t))
	f.HeadFiles = map[string]string{}
	for k, v := range f.BaseFiles {
		f.HeadFiles[k] = v
	}
	f.HeadFiles["docs/notes.md"] = "hello"
	res, err := s.Evaluate(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	if res.Gate.Conclusion != Success || res.Gate.Title != "No artifacts touched" || len(res.Gate.Unowned) != 1 {
		t.Errorf("gate = %+v", res.Gate)
	}
	if !strings.Contains(res.Gate.summary(), "`docs/notes.md`") {
		t.Errorf("summary does not list the unowned file:\n%s", res.Gate.summary())
	}
}

func TestBadPointerAndUnknownVersion(t *testing.T) {
	s := New(Options{Server: serverConfig(t)})
	ml := newMLflow(t)
	f := exampleFacts(t, "good", ml)
	f.HeadFiles["models/fraud.yaml"] = "registry: main\nmodel: fraud-detector\nversion: \"99\"\n"
	res, _ := s.Evaluate(context.Background(), f)
	v := stage(artifactByName(res, "fraud-model"), StageValidate)
	if v.Result != Fail || !strings.Contains(v.Summary, "version 99 of model fraud-detector does not exist") {
		t.Errorf("unknown version: %+v", v)
	}
	f.HeadFiles["models/fraud.yaml"] = "registry: nowhere\nmodel: fraud-detector\nversion: \"14\"\n"
	res, _ = s.Evaluate(context.Background(), f)
	v = stage(artifactByName(res, "fraud-model"), StageValidate)
	if v.Result != Fail || !strings.Contains(v.Summary, `registry "nowhere" is not defined in the server config; write one of: main`) {
		t.Errorf("unknown registry: %+v", v)
	}
	f.HeadFiles["models/fraud.yaml"] = "model: [\n"
	res, _ = s.Evaluate(context.Background(), f)
	m := artifactByName(res, "fraud-model")
	if stage(m, StageValidate).Result != Fail || len(m.Annotations) == 0 || m.Annotations[0].Path != "models/fraud.yaml" {
		t.Errorf("bad pointer: %+v %+v", stage(m, StageValidate), m.Annotations)
	}
}

// The quota counts what the team runs in the environment now (the base
// config's artifacts that last deployed there) plus the candidate.
func TestQuotaCountsWhatRunsNow(t *testing.T) {
	cfg := serverConfig(t)
	ml := cfg.Teams["acme/ml"]
	q := ml.Quota["production"]
	q.CPU = 10 // fraud-model asks 4 CPU x 2 replicas; churn-model runs 2 x 2
	ml.Quota["production"] = q
	s := New(Options{Server: cfg, Policy: examplePolicyWith(t, cfg)})
	f := exampleFacts(t, "good", newMLflow(t))
	res, err := s.Evaluate(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	if p := stage(artifactByName(res, "fraud-model"), StagePolicy); p.Result == Fail {
		t.Fatalf("nothing runs yet, 8 of 10 CPU denied: %+v", p)
	}
	f = exampleFacts(t, "good", newMLflow(t))
	f.ServingBy = map[string]map[string]string{"production": {"churn-model": strings.Repeat("c", 40)}}
	res, err = s.Evaluate(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	p := stage(artifactByName(res, "fraud-model"), StagePolicy)
	if p.Result != Fail || !strings.Contains(strings.Join(p.Details, "\n"), "team acme/ml would use 12 CPU in production (4 running + 8 requested), above its quota of 10") {
		t.Fatalf("policy = %+v", p)
	}
}

// fleetDeployments is what other repositories serve, as the deploy engine
// reports it (policies.Fleet).
type fleetDeployments struct {
	running map[string][]policies.Artifact // env -> artifacts of other repositories
	askedBy []string
}

func (f *fleetDeployments) LastSucceeded(context.Context, string, string) (map[string]string, error) {
	return map[string]string{}, nil
}

func (f *fleetDeployments) RunningElsewhere(_ context.Context, repo, env string) ([]policies.Artifact, error) {
	f.askedBy = append(f.askedBy, repo)
	return f.running[env], nil
}

// A team's quota holds across repositories: what the team runs in another
// repository counts, so splitting models over two repositories does not
// double the quota.
func TestQuotaCountsWhatTheTeamRunsInOtherRepositories(t *testing.T) {
	cfg := serverConfig(t)
	fleet := &fleetDeployments{running: map[string][]policies.Artifact{"production": {
		{Name: "acme/risk/scorer", Owners: []string{"@acme/ml"}, Resources: policies.Resources{CPU: 2, MemoryGiB: 8, GPU: 7, Replicas: 1}},
		{Name: "acme/risk/web", Owners: []string{"@acme/web"}, Resources: policies.Resources{CPU: 50, GPU: 8, Replicas: 1}},
	}}}
	s := New(Options{Server: cfg, Policy: examplePolicyWith(t, cfg), Deployments: fleet})
	f := exampleFacts(t, "good", newMLflow(t))
	res, err := s.Evaluate(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	p := stage(artifactByName(res, "fraud-model"), StagePolicy)
	// fraud-model asks 1 GPU x 2 replicas; acme/ml runs 7 elsewhere; the
	// quota is 8. Another team's GPUs do not count.
	if p.Result != Fail || !strings.Contains(strings.Join(p.Details, "\n"), "team acme/ml would use 9 GPU in production (7 running + 2 requested), above its quota of 8") {
		t.Fatalf("policy = %+v", p)
	}
	if !slices.Contains(fleet.askedBy, f.Change().Repository) {
		t.Errorf("RunningElsewhere was asked for %v, want the PR's repository %s", fleet.askedBy, f.Change().Repository)
	}
	// Once per environment and evaluation, however many artifacts and
	// stages ask (the good change touches three artifacts).
	if len(res.Artifacts) < 2 || len(fleet.askedBy) != 2 {
		t.Errorf("RunningElsewhere asked %d times for %d artifacts, want once per environment (2)", len(fleet.askedBy), len(res.Artifacts))
	}
}
