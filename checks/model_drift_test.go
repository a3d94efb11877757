package checks

import (
	"strings"
	"testing"

	"github.com/conveyor-dev/conveyor/internal/mlflowfake"
)

// driftRegistry serves fraud-detector with production v12 drifted (psi
// 0.31 logged on its run) and candidates that measured their own psi
// against recent production data: v14 low, v15 high, v16 not at all.
func driftRegistry(t *testing.T) *mlflowfake.Server {
	ml := mlflowfake.NewTest(t)
	ml.AddVersion("fraud-detector", "12", "", map[string]float64{"auc": 0.93, "psi": 0.31})
	ml.AddVersion("fraud-detector", "14", "", map[string]float64{"auc": 0.935, "psi": 0.08})
	ml.AddVersion("fraud-detector", "15", "", map[string]float64{"auc": 0.935, "psi": 0.27})
	ml.AddVersion("fraud-detector", "16", "", map[string]float64{"auc": 0.935})
	ml.SetAlias("fraud-detector", "production", "12")
	return ml
}

const gateAUC = "evaluation: {metric: auc, min: 0.90, max_regression: 0.005}\n    "

func driftQuality(t *testing.T, ml *mlflowfake.Server, version, drift string) (Stage, *ArtifactResult) {
	t.Helper()
	f := exampleFacts(t, "good", ml)
	pointTo(f, version)
	withEvaluation(t, f, gateAUC+drift)
	return quality(t, f)
}

func TestDriftBlocksOnlyACandidateThatDoesNotAddressIt(t *testing.T) {
	ml := driftRegistry(t)
	const block = "drift: {metric: psi, max: 0.2, block: true}"
	cases := []struct {
		version, result, summary string
	}{
		{"14", Pass, "drift psi 0.31 on production v12 is above the maximum 0.2; the candidate v14 addresses it: its own psi is 0.08, within 0.2"},
		{"15", Fail, "the candidate v15 does not address it: its own psi is 0.27, not within 0.2 (drift.block)"},
		{"16", Fail, "the candidate v16 records no psi of its own, so nothing shows it addresses the drift: log psi on its run, measured against recent production data (drift.block)"},
	}
	for _, c := range cases {
		q, m := driftQuality(t, ml, c.version, block)
		if q.Result != c.result || !strings.Contains(q.Summary, c.summary) {
			t.Errorf("v%s: quality = %s %q\nwant %s with %q", c.version, q.Result, q.Summary, c.result, c.summary)
		}
		if !strings.Contains(q.Summary, "auc 0.935 ≥ minimum 0.9") {
			t.Errorf("v%s: the offline gate is no longer stated: %q", c.version, q.Summary)
		}
		if !strings.Contains(m.Persona, "\nDrift: drift psi 0.31 on production v12 is above the maximum 0.2") {
			t.Errorf("v%s: the ML engineer's view lacks the drift:\n%s", c.version, m.Persona)
		}
		if c.result == Fail && (len(m.Annotations) == 0 || m.Annotations[0].Title != "Drift above its maximum") {
			t.Errorf("v%s: annotations = %+v", c.version, m.Annotations)
		}
		// The policy sees the drift, so an override team can take a blocked
		// candidate further as with a regression.
		de := m.Evidence.Metrics.Drift
		if de == nil || de.Metric != "psi" || de.Production != 0.31 || !de.Above || !de.Block || de.Passed != (c.result == Pass) ||
			de.Addressed != (c.version == "14") || m.Overridable != (c.result == Fail) {
			t.Errorf("v%s: drift evidence %+v, overridable %v", c.version, de, m.Overridable)
		}
	}
	// The metric table shows the drift metric's gate beside the offline ones.
	_, m := driftQuality(t, ml, "16", block)
	if !strings.Contains(m.Persona, "| psi | drift: production's at most 0.2; blocks a candidate without its own within it | – | – | 0.31 | – |") {
		t.Errorf("the table lacks the drift row:\n%s", m.Persona)
	}
}

func TestDriftShownOnlyWithoutBlock(t *testing.T) {
	q, m := driftQuality(t, driftRegistry(t), "16", "drift: {metric: psi, max: 0.2}")
	if q.Result != Pass || !strings.Contains(q.Summary, "drift psi 0.31 on production v12 is above the maximum 0.2 (shown only: drift.block is off)") {
		t.Fatalf("quality = %+v", q)
	}
	if !strings.Contains(m.Persona, "| psi | drift: production's at most 0.2; shown only |") {
		t.Errorf("table:\n%s", m.Persona)
	}
}

func TestDriftWithinMaxAndCandidateAlreadyServing(t *testing.T) {
	ml := driftRegistry(t)
	ml.AddVersion("fraud-detector", "11", "", map[string]float64{"auc": 0.93, "psi": 0.05})
	ml.SetAlias("fraud-detector", "production", "11")
	q, m := driftQuality(t, ml, "16", "drift: {metric: psi, max: 0.2, block: true}")
	if q.Result != Pass || !strings.Contains(q.Summary, "drift psi 0.05 on production v11, within 0.2") {
		t.Fatalf("within max: quality = %+v", q)
	}
	if !strings.Contains(m.Persona, "Drift: drift psi 0.05 on production v11, within 0.2.") {
		t.Errorf("persona:\n%s", m.Persona)
	}
	ml.SetAlias("fraud-detector", "production", "12")
	if q, _ = driftQuality(t, ml, "12", "drift: {metric: psi, max: 0.2, block: true}"); q.Result != Pass ||
		!strings.Contains(q.Summary, "the candidate is the version serving, so there is nothing to promote") {
		t.Fatalf("already serving: quality = %+v", q)
	}
}

// Drift recorded as model version tags (what a monitoring job sets with
// MlflowClient.set_model_version_tag) is read from the versions' tags, not
// their runs.
func TestDriftFromVersionTags(t *testing.T) {
	ml := driftRegistry(t)
	const tagged = "drift: {metric: live_psi, max: 0.2, source: tag, block: true}"
	if q, _ := driftQuality(t, ml, "14", tagged); q.Result != Pass || !strings.Contains(q.Summary, "drift tag live_psi not measured: production v12 has no live_psi tag") {
		t.Fatalf("no tag yet: quality = %+v", q)
	}
	ml.SetVersionTag("fraud-detector", "12", "live_psi", "0.34")
	q, m := driftQuality(t, ml, "14", tagged)
	if q.Result != Fail || !strings.Contains(q.Summary, "drift tag live_psi 0.34 on production v12 is above the maximum 0.2; the candidate v14 records no live_psi of its own") ||
		!strings.Contains(q.Summary, "set the version tag live_psi") {
		t.Fatalf("candidate without the tag: quality = %+v", q)
	}
	if strings.Contains(m.Persona, "| live_psi |") {
		t.Errorf("a tag is not a run metric; the table shows it:\n%s", m.Persona)
	}
	ml.SetVersionTag("fraud-detector", "14", "live_psi", "0.11")
	if q, _ = driftQuality(t, ml, "14", tagged); q.Result != Pass || !strings.Contains(q.Summary, "the candidate v14 addresses it: its own live_psi is 0.11, within 0.2") {
		t.Fatalf("candidate with its own tag: quality = %+v", q)
	}
	// A tag that is not a number never passes, on either side.
	ml.SetVersionTag("fraud-detector", "12", "live_psi", "high")
	ml.SetVersionTag("fraud-detector", "14", "live_psi", "low")
	q, _ = driftQuality(t, ml, "14", tagged)
	if q.Result != Fail || !strings.Contains(q.Summary, `drift tag live_psi on production v12 is "high" (not a number), which never passes the maximum 0.2`) ||
		!strings.Contains(q.Summary, `its own live_psi is "low" (not a number), not within 0.2`) {
		t.Fatalf("non-numeric tags: quality = %+v", q)
	}
}

// The drift block governs: a PR that turns block off or moves the source
// is judged by the base branch's block until it merges.
func TestHeadDriftBlockDoesNotGovern(t *testing.T) {
	f := exampleFacts(t, "good", driftRegistry(t))
	pointTo(f, "16")
	withEvaluation(t, f, gateAUC+"drift: {metric: psi, max: 0.2, block: true}")
	f.HeadFiles[configPath] = strings.Replace(f.HeadFiles[configPath], "drift: {metric: psi, max: 0.2, block: true}", "drift: {metric: psi, max: 0.2, source: tag}", 1)
	res := evaluate(t, f)
	if q := stage(artifactByName(res, "fraud-model"), StageQuality); q.Result != Fail || !strings.Contains(q.Summary, "(drift.block)") {
		t.Fatalf("quality = %+v, want the base's blocking drift gate", q)
	}
	wantGovernance(t, res, "artifacts.fraud-model.drift.block", "true", "(none)")
	wantGovernance(t, res, "artifacts.fraud-model.drift.source", "metric", "tag")
}
