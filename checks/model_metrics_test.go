package checks

import (
	"context"
	"math"
	"strings"
	"testing"
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
	if !strings.Contains(m.Persona, "| auc | NaN |") || !strings.Contains(m.Persona, "| recall | Infinity |") {
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
