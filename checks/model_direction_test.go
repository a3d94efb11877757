package checks

import (
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
