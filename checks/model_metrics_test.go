package checks

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/conveyor-dev/conveyor/internal/mlflow"
	"github.com/conveyor-dev/conveyor/internal/mlflowfake"
	"github.com/conveyor-dev/conveyor/internal/serverconfig"
)

// pointTo makes the example change point the fraud model at version.
func pointTo(f *MemFacts, version string) {
	f.HeadFiles["models/fraud.yaml"] = "registry: main\nmodel: fraud-detector\nversion: \"" + version + "\"\n"
}

func TestNaNMetricNeverPassesQuality(t *testing.T) {
	ml := newMLflow(t)
	ml.AddVersion("fraud-detector", "16", "", map[string]float64{"auc": math.NaN(), "recall": math.Inf(1)})
	f := exampleFacts(t, "good", ml)
	pointTo(f, "16")
	res, err := New(Options{Server: serverConfig(t), Policy: examplePolicy(t)}).Evaluate(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	m := artifactByName(res, "fraud-model")
	q := stage(m, StageQuality)
	if q.Result != Fail || !strings.Contains(q.Summary, "auc is NaN (not a number) on v16") {
		t.Fatalf("quality = %+v", q)
	}
	if !strings.Contains(m.Persona, "higher is better | NaN | 0.93 | 0.93 | NaN |") || !strings.Contains(m.Persona, "| recall | not gated | Infinity |") {
		t.Errorf("metric table does not show the non-finite values:\n%s", m.Persona)
	}
	if res.Gate.Conclusion != "failure" {
		t.Errorf("gate = %s, want failure", res.Gate.Conclusion)
	}
}

func TestNaNInProductionFailsTheRegressionGate(t *testing.T) {
	ml := newMLflow(t)
	ml.AddVersion("fraud-detector", "12", "", map[string]float64{"auc": math.NaN()})
	ml.SetAlias("fraud-detector", "production", "12")
	f := exampleFacts(t, "good", ml)
	pointTo(f, "14")
	res, err := New(Options{Server: serverConfig(t), Policy: examplePolicy(t)}).Evaluate(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	q := stage(artifactByName(res, "fraud-model"), StageQuality)
	if q.Result != Fail || !strings.Contains(q.Summary, "production v12 logged auc as NaN") {
		t.Fatalf("quality = %+v", q)
	}
}

// withEvaluation sets the fraud model's evaluation block on both sides of
// the change: it governs, so the base branch's is the one in effect.
func withEvaluation(t *testing.T, f *MemFacts, block string) {
	t.Helper()
	const old = "evaluation: {metric: auc, min: 0.90, max_regression: 0.005}"
	for _, files := range []map[string]string{f.BaseFiles, f.HeadFiles} {
		cfg := files[configPath]
		if !strings.Contains(cfg, old) {
			t.Fatalf("the example config no longer has %q", old)
		}
		files[configPath] = strings.Replace(cfg, old, block, 1)
	}
}

func quality(t *testing.T, f *MemFacts) (Stage, *ArtifactResult) {
	t.Helper()
	res, err := New(Options{Server: serverConfig(t), Policy: examplePolicy(t)}).Evaluate(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	m := artifactByName(res, "fraud-model")
	if m == nil {
		t.Fatal("fraud-model not evaluated")
	}
	return stage(m, StageQuality), m
}

// bareRegistry has fraud-detector versions 13 and 14 and no alias at all.
func bareRegistry(t *testing.T) *mlflowfake.Server {
	ml := mlflowfake.NewTest(t)
	ml.AddVersion("fraud-detector", "13", "", map[string]float64{"auc": 0.93})
	ml.AddVersion("fraud-detector", "14", "", map[string]float64{"auc": 0.935})
	return ml
}

func TestFirstReleaseIsStatedAndAllowedByDefault(t *testing.T) {
	f := exampleFacts(t, "good", bareRegistry(t))
	pointTo(f, "14")
	q, _ := quality(t, f)
	if q.Result != Pass || q.Summary != "auc 0.935 ≥ minimum 0.9; first release: nothing serving in production to compare with" {
		t.Fatalf("quality = %+v", q)
	}
}

func TestFirstReleaseDenied(t *testing.T) {
	f := exampleFacts(t, "good", bareRegistry(t))
	pointTo(f, "14")
	withEvaluation(t, f, "evaluation: {metric: auc, min: 0.90, max_regression: 0.005, first_release: deny}")
	q, _ := quality(t, f)
	if q.Result != Fail || !strings.Contains(q.Summary, "first release: nothing serving in production to compare with; evaluation.first_release is deny") {
		t.Fatalf("quality = %+v", q)
	}
}

func TestProductionAliasSpelledWithCapitalIsNamed(t *testing.T) {
	ml := bareRegistry(t)
	ml.SetAlias("fraud-detector", "Production", "13")
	f := exampleFacts(t, "good", ml)
	pointTo(f, "14")
	q, _ := quality(t, f)
	if !strings.Contains(q.Summary, `first release`) || !strings.Contains(q.Summary, `an alias "Production" points at v13`) {
		t.Fatalf("quality = %+v", q)
	}
}

func TestMetricMissingInProductionFailsUnlessOptional(t *testing.T) {
	ml := bareRegistry(t)
	ml.AddVersion("fraud-detector", "12", "", map[string]float64{"f1": 0.7})
	ml.SetAlias("fraud-detector", "production", "12")
	f := exampleFacts(t, "good", ml)
	pointTo(f, "14")
	q, m := quality(t, f)
	if q.Result != Fail || !strings.Contains(q.Summary, `production v12 logged no "auc" metric, so the regression cannot be measured`) {
		t.Fatalf("quality = %+v", q)
	}
	if len(m.Annotations) == 0 || m.Annotations[0].Title != "Model evaluation failed" {
		t.Errorf("annotations = %+v", m.Annotations)
	}
	withEvaluation(t, f, "evaluation: {metric: auc, min: 0.90, max_regression: 0.005, optional: true}")
	if q, _ = quality(t, f); q.Result != Pass || !strings.Contains(q.Summary, "production v12 logged no auc, so no regression was measured (the metric is optional)") {
		t.Fatalf("optional: quality = %+v", q)
	}
}

func TestMetricMissingOnCandidateNamesTheVersion(t *testing.T) {
	ml := bareRegistry(t)
	ml.AddVersion("fraud-detector", "15", "", map[string]float64{"f1": 0.7})
	f := exampleFacts(t, "good", ml)
	pointTo(f, "15")
	if q, _ := quality(t, f); q.Result != Fail || !strings.Contains(q.Summary, `the candidate v15 logged no "auc" metric`) {
		t.Fatalf("quality = %+v", q)
	}
	withEvaluation(t, f, "evaluation: {metric: auc, min: 0.90, optional: true}")
	if q, _ := quality(t, f); q.Result != Pass || !strings.Contains(q.Summary, "it is optional, so nothing was gated") {
		t.Fatalf("optional: quality = %+v", q)
	}
}

func TestCandidateAlreadyServing(t *testing.T) {
	ml := newMLflow(t)
	ml.SetAlias("fraud-detector", "production", "14")
	f := exampleFacts(t, "good", ml)
	pointTo(f, "14")
	if q, _ := quality(t, f); q.Result != Pass || !strings.Contains(q.Summary, "already serving in production (v14)") {
		t.Fatalf("quality = %+v", q)
	}
}

func TestPointerNamesAnAlias(t *testing.T) {
	ml := newMLflow(t)
	ml.SetAlias("fraud-detector", "champion", "14")
	f := exampleFacts(t, "good", ml)
	f.HeadFiles["models/fraud.yaml"] = "registry: main\nmodel: fraud-detector\nalias: champion\n"
	q, m := quality(t, f)
	if v := stage(m, StageValidate); v.Result != Pass || v.Summary != "fraud-detector@champion is v14, READY in main" {
		t.Fatalf("validate = %+v", v)
	}
	if q.Result != Pass || !strings.Contains(q.Summary, "vs production v13") || len(m.Selection) != 1 || m.Selection[0] != "14" {
		t.Fatalf("quality = %+v, selection %v", q, m.Selection)
	}
	f.HeadFiles["models/fraud.yaml"] = "registry: main\nmodel: fraud-detector\nalias: challenger\n"
	_, m = quality(t, f)
	if v := stage(m, StageValidate); v.Result != Fail || !strings.Contains(v.Summary, `alias "challenger" of model fraud-detector is not set`) {
		t.Fatalf("unset alias: validate = %+v", v)
	}
}

func TestMetricTableLinksVersionsAndRun(t *testing.T) {
	ml := newMLflow(t)
	f := exampleFacts(t, "good", ml)
	c := mlflow.FromConfig(serverconfig.Registry{Type: "mlflow", URL: ml.URL(), UIURL: "https://mlflow.example/"}, func(string) string { return "" })
	f.Registries = func(string) (Registry, error) { return c, nil }
	_, m := quality(t, f)
	for _, want := range []string{
		"Candidate [v14](https://mlflow.example/#/models/fraud-detector/versions/14), from run [r14](https://mlflow.example/#/runs/r14)",
		"production → [v13](https://mlflow.example/#/models/fraud-detector/versions/13)",
	} {
		if !strings.Contains(m.Persona, want) {
			t.Errorf("persona lacks %q:\n%s", want, m.Persona)
		}
	}
}

func TestParamsChangedAgainstProduction(t *testing.T) {
	ml := newMLflow(t)
	ml.SetRunParam("r13", "learning_rate", "0.1")
	ml.SetRunParam("r13", "max_depth", "6")
	ml.SetRunParam("r14", "learning_rate", "0.05")
	ml.SetRunParam("r14", "max_depth", "6")
	ml.SetRunParam("r14", "n_estimators", "400")
	f := exampleFacts(t, "good", ml)
	_, m := quality(t, f)
	want := "Run parameters changed vs production v13:\n- `learning_rate`: `0.1` -> `0.05`\n- `n_estimators`: (not set) -> `400`\n"
	if !strings.Contains(m.Persona, want) || strings.Contains(m.Persona, "max_depth") {
		t.Fatalf("persona lacks the changed params:\n%s", m.Persona)
	}
}

func TestDriftShownAndBlockingOnlyWhenConfigured(t *testing.T) {
	ml := bareRegistry(t)
	ml.AddVersion("fraud-detector", "12", "", map[string]float64{"auc": 0.93, "psi": 0.31})
	ml.SetAlias("fraud-detector", "production", "12")
	f := exampleFacts(t, "good", ml)
	pointTo(f, "14")
	withEvaluation(t, f, "evaluation: {metric: auc, min: 0.90, max_regression: 0.005}\n    drift: {metric: psi, max: 0.2}")
	q, m := quality(t, f)
	if q.Result != Pass || !strings.Contains(q.Summary, "drift psi 0.31 on production v12 is above the maximum 0.2 (shown only: drift.block is off)") ||
		!strings.Contains(m.Persona, "Drift: drift psi 0.31") {
		t.Fatalf("shown only: quality = %+v\n%s", q, m.Persona)
	}
	f = exampleFacts(t, "good", ml)
	pointTo(f, "14")
	withEvaluation(t, f, "evaluation: {metric: auc, min: 0.90, max_regression: 0.005}\n    drift: {metric: psi, max: 0.2, block: true}")
	if q, m = quality(t, f); stage(m, StageValidate).Result != Pass || q.Result != Fail || !strings.Contains(q.Summary, "is above the maximum 0.2; the candidate v14 records no psi of its own") {
		t.Fatalf("blocking: quality = %+v", q)
	}
}
