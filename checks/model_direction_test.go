package checks

import (
	"math"
	"strings"
	"testing"

	"github.com/conveyor-dev/conveyor/internal/mlflowfake"
)

// The tables below have a staging column (the example defines staging, with
// no alias set) between the candidate and production.

// rmseRegistry serves fraud-detector with an error metric (lower is
// better): production v12 at 0.20, and candidates that improve (v14),
// regress within and beyond 0.01 (v15, v16) and break the maximum (v17).
func rmseRegistry(t *testing.T) *mlflowfake.Server {
	ml := mlflowfake.New()
	t.Cleanup(ml.Close)
	for v, rmse := range map[string]float64{"12": 0.20, "14": 0.18, "15": 0.205, "16": 0.23, "17": 0.35} {
		ml.AddVersion("fraud-detector", v, "", map[string]float64{"rmse": rmse, "auc": 0.93})
	}
	ml.SetAlias("fraud-detector", "production", "12")
	return ml
}

const lowerRMSE = "evaluation: {metric: rmse, direction: lower, max: 0.3, max_regression: 0.01}"

func TestLowerIsBetterMetricGatesInItsDirection(t *testing.T) {
	cases := []struct {
		version string
		result  string
		summary string
		row     string
	}{
		{"14", Pass, "rmse 0.18 ≤ maximum 0.3; -0.02 vs production v12 (0.2), regression within 0.01",
			"| rmse | ≤ 0.3; at most 0.01 above production; lower is better | 0.18 | – | 0.2 | -0.02 (better) |"},
		{"15", Pass, "rmse 0.205 ≤ maximum 0.3; +0.005 vs production v12 (0.2), regression within 0.01",
			"| rmse | ≤ 0.3; at most 0.01 above production; lower is better | 0.205 | – | 0.2 | +0.005 (worse) |"},
		{"16", Fail, "rmse regresses 0.03 against production v12 (0.2, lower is better); at most 0.01 is allowed", "| 0.23 | – | 0.2 | +0.03 (worse) |"},
		{"17", Fail, "rmse 0.35 is above the maximum 0.3 (lower is better); rmse regresses 0.15 against production v12", "| 0.35 |"},
	}
	for _, c := range cases {
		f := exampleFacts(t, "good", rmseRegistry(t))
		pointTo(f, c.version)
		withEvaluation(t, f, lowerRMSE)
		q, m := quality(t, f)
		if q.Result != c.result || !strings.Contains(q.Summary, c.summary) {
			t.Errorf("v%s: quality = %s %q\nwant %s containing %q", c.version, q.Result, q.Summary, c.result, c.summary)
		}
		if !strings.Contains(m.Persona, c.row) {
			t.Errorf("v%s: the metric table lacks %q:\n%s", c.version, c.row, m.Persona)
		}
		if !strings.Contains(m.Persona, "| auc | not gated |") {
			t.Errorf("v%s: other metrics are not shown as not gated:\n%s", c.version, m.Persona)
		}
		ev := m.Evidence.Metrics
		if ev == nil || ev.Direction != "lower" || ev.Max != 0.3 || ev.Min != 0 || ev.Passed != (c.result == Pass) {
			t.Errorf("v%s: evidence = %+v", c.version, ev)
		}
	}
}

func TestLowerIsBetterRegressionIsPositiveWhenWorse(t *testing.T) {
	f := exampleFacts(t, "good", rmseRegistry(t))
	pointTo(f, "16")
	withEvaluation(t, f, lowerRMSE)
	_, m := quality(t, f)
	if ev := m.Evidence.Metrics; ev == nil || ev.Regression != 0.03 || ev.Candidate != 0.23 || ev.Production != 0.2 {
		t.Fatalf("evidence = %+v, want a regression of +0.03 (the candidate is worse)", ev)
	}
	f = exampleFacts(t, "good", rmseRegistry(t))
	pointTo(f, "14")
	withEvaluation(t, f, lowerRMSE)
	if _, m = quality(t, f); m.Evidence.Metrics == nil || m.Evidence.Metrics.Regression != -0.02 {
		t.Fatalf("evidence = %+v, want a regression of -0.02 (the candidate is better)", m.Evidence.Metrics)
	}
}

// The same numbers read higher-is-better fail the other way round: a drop
// in auc is the regression.
func TestHigherIsBetterIsTheDefaultDirection(t *testing.T) {
	ml := mlflowfake.New()
	t.Cleanup(ml.Close)
	ml.AddVersion("fraud-detector", "12", "", map[string]float64{"auc": 0.93})
	ml.AddVersion("fraud-detector", "14", "", map[string]float64{"auc": 0.95})
	ml.AddVersion("fraud-detector", "15", "", map[string]float64{"auc": 0.91})
	ml.SetAlias("fraud-detector", "production", "12")
	for _, block := range []string{
		"evaluation: {metric: auc, min: 0.90, max_regression: 0.005}",
		"evaluation: {metric: auc, direction: higher, min: 0.90, max_regression: 0.005}",
	} {
		f := exampleFacts(t, "good", ml)
		pointTo(f, "14")
		withEvaluation(t, f, block)
		q, m := quality(t, f)
		if q.Result != Pass || !strings.Contains(m.Persona, "| auc | ≥ 0.9; at most 0.005 below production; higher is better | 0.95 | – | 0.93 | +0.02 (better) |") {
			t.Errorf("%s: quality = %+v\n%s", block, q, m.Persona)
		}
		if m.Evidence.Metrics.Direction != "higher" {
			t.Errorf("%s: evidence direction = %q", block, m.Evidence.Metrics.Direction)
		}
		pointTo(f, "15")
		q, m = quality(t, f)
		if q.Result != Fail || !strings.Contains(q.Summary, "auc regresses 0.02 against production v12 (0.93, higher is better); at most 0.005 is allowed") ||
			!strings.Contains(m.Persona, "-0.02 (worse)") {
			t.Errorf("%s: quality = %+v\n%s", block, q, m.Persona)
		}
	}
}

// The direction governs: a PR that flips rmse to higher-is-better is still
// judged lower-is-better until it merges, and the gate says what changes.
func TestHeadDirectionDoesNotGovern(t *testing.T) {
	f := exampleFacts(t, "good", rmseRegistry(t))
	pointTo(f, "17")
	withEvaluation(t, f, lowerRMSE)
	f.HeadFiles[configPath] = strings.Replace(f.HeadFiles[configPath], lowerRMSE, "evaluation: {metric: rmse, direction: higher, min: 0.1}", 1)
	res := evaluate(t, f)
	q := stage(artifactByName(res, "fraud-model"), StageQuality)
	if q.Result != Fail || !strings.Contains(q.Summary, "rmse 0.35 is above the maximum 0.3 (lower is better)") {
		t.Fatalf("quality = %+v, want the base's lower-is-better gate", q)
	}
	wantGovernance(t, res, "artifacts.fraud-model.evaluation.direction", "lower", "higher")
	wantGovernance(t, res, "artifacts.fraud-model.evaluation.max", "0.3", "(none)")
}

// twoGates judges auc (higher is better) and p95 latency (lower is better).
const twoGates = "evaluation: [{metric: auc, min: 0.90, max_regression: 0.005}, {metric: p95_ms, direction: lower, max: 300, max_regression: 20}]"

func latencyRegistry(t *testing.T) *mlflowfake.Server {
	ml := mlflowfake.NewTest(t)
	ml.AddVersion("fraud-detector", "12", "", map[string]float64{"auc": 0.93, "p95_ms": 250})
	ml.AddVersion("fraud-detector", "14", "", map[string]float64{"auc": 0.94, "p95_ms": 240})
	ml.AddVersion("fraud-detector", "15", "", map[string]float64{"auc": 0.95, "p95_ms": 290})
	ml.AddVersion("fraud-detector", "16", "", map[string]float64{"auc": 0.95})
	ml.SetAlias("fraud-detector", "production", "12")
	return ml
}

func TestSeveralGatesEachInItsDirection(t *testing.T) {
	ml := latencyRegistry(t)
	f := exampleFacts(t, "good", ml)
	pointTo(f, "14")
	withEvaluation(t, f, twoGates)
	q, m := quality(t, f)
	if q.Result != Pass || q.Summary != "auc 0.94 ≥ minimum 0.9; +0.01 vs production v12 (0.93), regression within 0.005; p95_ms 240 ≤ maximum 300; -10 vs production v12 (250), regression within 20" {
		t.Fatalf("quality = %+v", q)
	}
	for _, row := range []string{
		"| auc | ≥ 0.9; at most 0.005 below production; higher is better | 0.94 | – | 0.93 | +0.01 (better) |\n| p95_ms | ≤ 300; at most 20 above production; lower is better | 240 | – | 250 | -10 (better) |",
	} {
		if !strings.Contains(m.Persona, row) {
			t.Errorf("the table lacks, in the config's order:\n%s\n%s", row, m.Persona)
		}
	}

	// v15 is more accurate but 40 ms slower than production: the latency
	// gate fails, and the evidence leads with it and lists both gates.
	pointTo(f, "15")
	q, m = quality(t, f)
	if q.Result != Fail || !strings.Contains(q.Summary, "auc 0.95 ≥ minimum 0.9") ||
		!strings.Contains(q.Summary, "p95_ms regresses 40 against production v12 (250, lower is better); at most 20 is allowed") {
		t.Fatalf("quality = %+v", q)
	}
	ev := m.Evidence.Metrics
	if ev == nil || ev.Metric != "p95_ms" || ev.Passed || len(ev.Gates) != 2 || ev.Gates[0].Metric != "auc" || !ev.Gates[0].Passed || ev.Gates[1].Regression != 40 {
		t.Fatalf("evidence = %+v", ev)
	}
	if !m.Overridable {
		t.Error("a failed gate the policy sees is a quality finding: the artifact should be overridable")
	}

	// v16 logged no latency: that gate fails naming it, and since the
	// policy cannot see a missing metric, no one may override it.
	pointTo(f, "16")
	q, m = quality(t, f)
	if q.Result != Fail || !strings.Contains(q.Summary, `the candidate v16 logged no "p95_ms" metric`) || m.Overridable {
		t.Fatalf("quality = %+v, overridable %v", q, m.Overridable)
	}
}

// A PR that adds a gate sees it listed under the governance changes, and
// the added gate does not judge it before merge.
func TestAddedGateTakesEffectAfterMerge(t *testing.T) {
	f := exampleFacts(t, "good", latencyRegistry(t))
	pointTo(f, "15")
	f.HeadFiles[configPath] = strings.Replace(f.HeadFiles[configPath], "evaluation: {metric: auc, min: 0.90, max_regression: 0.005}", twoGates, 1)
	res := evaluate(t, f)
	if q := stage(artifactByName(res, "fraud-model"), StageQuality); q.Result != Pass || strings.Contains(q.Summary, "p95_ms") {
		t.Fatalf("quality = %+v, want only the base's auc gate", q)
	}
	wantGovernance(t, res, "artifacts.fraud-model.evaluation[1].metric", "(none)", "p95_ms")
	wantGovernance(t, res, "artifacts.fraud-model.evaluation[1].max", "(none)", "300")
}

// NaN compares false with every bound: a lower-is-better gate must not
// read it as "not above the maximum".
func TestNaNNeverPassesALowerIsBetterGate(t *testing.T) {
	ml := rmseRegistry(t)
	ml.AddVersion("fraud-detector", "18", "", map[string]float64{"rmse": math.NaN()})
	f := exampleFacts(t, "good", ml)
	pointTo(f, "18")
	withEvaluation(t, f, lowerRMSE)
	q, m := quality(t, f)
	if q.Result != Fail || !strings.Contains(q.Summary, "rmse is NaN (not a number) on v18") || strings.Contains(q.Summary, "≤ maximum") {
		t.Fatalf("quality = %+v", q)
	}
	if m.Evidence.Metrics == nil || m.Evidence.Metrics.Passed {
		t.Errorf("evidence = %+v, want a failed gate", m.Evidence.Metrics)
	}
}
