package checks

import (
	"context"
	"testing"

	"github.com/conveyor-dev/conveyor/internal/store"
	"github.com/conveyor-dev/conveyor/internal/store/storetest"
)

func TestOverridableOnlyForQualityGateFindings(t *testing.T) {
	// gated is the kind's word that its Quality failure is a quality-gate
	// finding (a metric regression, a contract break, untested models).
	const regression, breaks, untested, ciFailed = true, true, true, false
	stages := func(failing ...string) []Stage {
		var out []Stage
		for _, n := range []string{StageValidate, StageQuality, StagePolicy, StageReadiness} {
			r := Pass
			for _, f := range failing {
				if f == n {
					r = Fail
				}
			}
			out = append(out, Stage{Name: n, Result: r})
		}
		return out
	}
	cases := []struct {
		name    string
		gated   bool
		failing []string
		want    bool
	}{
		{"metric regression", regression, []string{StageQuality}, true},
		{"contract break", breaks, []string{StageQuality}, true},
		{"untested models", untested, []string{StageQuality}, true},
		{"CI failed: not a policy gate", ciFailed, []string{StageQuality}, false},
		{"regression and a config problem", regression, []string{StageValidate, StageQuality}, false},
		{"regression and a policy denial", regression, []string{StageQuality, StagePolicy}, false},
		{"contract break and not ready", breaks, []string{StageQuality, StageReadiness}, false},
		{"green", regression, nil, false},
	}
	for _, c := range cases {
		a := &ArtifactResult{Name: "x", Stages: stages(c.failing...)}
		a.settle()
		if got := a.overridable(c.gated); got != c.want {
			t.Errorf("%s: overridable = %v, want %v", c.name, got, c.want)
		}
	}
}

// A failed gate is left to the policy only when every failed artifact is
// overridable and nothing is still being evaluated.
func TestEvidenceOverridableGate(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		s := New(Options{Store: st})
		save := func(sha, name, artifact, status, concl string, overridable bool, ev string) {
			t.Helper()
			if err := store.SaveCheckResult(ctx, st.DB, store.CheckResult{Repository: testRepo, SHA: sha, Name: name, Artifact: artifact,
				Status: status, Conclusion: concl, Overridable: overridable, Evidence: ev}); err != nil {
				t.Fatal(err)
			}
		}
		const regression = `{"ci":{},"metrics":{"metric":"auc","candidate":0.89,"passed":false}}`
		// a: one overridable failure, one green artifact.
		save("a", GateName, "", StatusCompleted, Failure, false, "")
		save("a", CheckName("model"), "model", StatusCompleted, Failure, true, regression)
		save("a", CheckName("web"), "web", StatusCompleted, Success, false, `{"ci":{"build":"success"}}`)
		// b: the same, plus an artifact still in progress.
		save("b", GateName, "", StatusCompleted, Failure, false, "")
		save("b", CheckName("model"), "model", StatusCompleted, Failure, true, regression)
		save("b", CheckName("data"), "data", StatusInProgress, "", false, "")
		// c: an overridable failure next to one that is not.
		save("c", GateName, "", StatusCompleted, Failure, false, "")
		save("c", CheckName("model"), "model", StatusCompleted, Failure, true, regression)
		save("c", CheckName("web"), "web", StatusCompleted, Failure, false, `{"ci":{"build":"failure"}}`)
		// d: a green gate.
		save("d", GateName, "", StatusCompleted, Success, false, "")
		save("d", CheckName("web"), "web", StatusCompleted, Success, false, `{"ci":{"build":"success"}}`)
		// e: a stored evidence that is not JSON.
		save("e", CheckName("web"), "web", StatusCompleted, Success, false, `{"ci":`)

		for sha, want := range map[string]bool{"a": true, "b": false, "c": false, "d": false, "unknown": false} {
			st, err := s.GateStatus(ctx, testRepo, sha)
			if err != nil || st.Overridable != want {
				t.Errorf("%s: overridable = %v, %v; want %v", sha, st.Overridable, err, want)
			}
			evs := st.Evidence
			if sha == "a" && (evs["model"].Metrics == nil || evs["model"].Metrics.Passed || evs["web"].CI["build"] != "success") {
				t.Errorf("evidence of a = %+v", evs)
			}
		}
		if _, err := s.GateStatus(ctx, testRepo, "e"); err == nil {
			t.Error("malformed stored evidence was not reported")
		}
		if _, err := New(Options{}).GateStatus(ctx, testRepo, "a"); err == nil {
			t.Error("GateStatus without a store did not fail")
		}
	})
}
