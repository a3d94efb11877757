package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/conveyor-dev/conveyor/deploy"
)

// A model version reaches an emulated SageMaker or Vertex AI endpoint
// through the rollout steps, end to end from "/deploy production" and two
// Approve clicks on the signed Slack interaction endpoint, with a Datadog
// metric gate between steps; the next version, whose error ratio is bad,
// rolls back at its first step with the query, the value and the threshold
// in the PR's status comment and the Slack thread.
func TestModelEndpointRolloutEndToEnd(t *testing.T) {
	for _, driverType := range []string{"sagemaker", "vertex"} {
		t.Run(driverType, func(t *testing.T) {
			t.Parallel()
			w := newGovWorld(t)
			d := w.d
			if driverType != "sagemaker" {
				// The repository's base branch moves churn-model to this driver.
				d.gh.Commit(demoRepo, "main", ptrs(map[string]string{".github/conveyor.yml": w.edited([2]string{"deploy: {driver: sagemaker}", "deploy: {driver: " + driverType + "}"})}), "churn-model on "+driverType)
			}

			ok, err := d.endpointRollout(w.ctx, driverType)
			if err != nil {
				t.Fatal(err)
			}
			if ok.state != deploy.StateSucceeded {
				t.Fatalf("the healthy rollout ended %s:\n%s", ok.state, ok.comment)
			}
			want := map[string]string{
				"sagemaker": "v7 100% -> v7 90% + v9 10% -> v7 50% + v9 50% -> v9 100%",
				// Vertex: deployModel with the 10 % split, a patch to 50 %,
				// a patch to 100 %, then undeployModel of v7.
				"vertex": "v7 100% -> v7 90% + v9 10% -> v7 50% + v9 50% -> v7 0% + v9 100% -> v9 100%",
			}[driverType]
			if got := strings.Join(ok.traffic, " -> "); got != want {
				t.Errorf("production traffic went %s\nwant %s", got, want)
			}
			if got := last(d.serving.traffic(driverType, "staging")); got != "v9 100%" {
				t.Errorf("staging serves %s, want v9 alone", got)
			}
			mustHave(t, "the status comment", ok.comment, "succeeded", "| churn-model (churn-predictor v9) | model | "+driverType+" | succeeded | 9 |", "Rollout: 10% ✓ -> 50% ✓ -> 100% ✓")
			mustHave(t, "the Slack thread", strings.Join(ok.thread, "\n"), "Rollout step 2 (50%): queued; 10% is healthy", "Rollout step 3 (100%): queued; 50% is healthy", "Rollout succeeded")
			// Three steps, each watched over its bake time: several
			// evaluations each, all of version 9 in production.
			if n := d.ddQueries("9"); n < 3 {
				t.Errorf("the gate queried Datadog %d times about v9; want at least one per step", n)
			}

			bad, err := d.endpointRollback(w.ctx, driverType)
			if err != nil {
				t.Fatal(err)
			}
			if bad.state != deploy.StateRolledBack {
				t.Fatalf("the rollout of a bad version ended %s:\n%s", bad.state, bad.comment)
			}
			want = map[string]string{
				"sagemaker": "v9 100% -> v9 90% + v10 10% -> v9 100%",
				// Vertex: the split back to v9, then v10 undeployed.
				"vertex": "v9 100% -> v9 90% + v10 10% -> v9 100% + v10 0% -> v9 100%",
			}[driverType]
			if got := strings.Join(bad.traffic, " -> "); got != want {
				t.Errorf("production traffic went %s\nwant %s", got, want)
			}
			query := d.serving.errorRatioQuery("10")
			failure := fmt.Sprintf(`churn-model: health gate failed at 10%%: metric gate "error ratio" (datadog) for churn-model in production failed: %s = 0.034, want < 0.01`, query)
			mustHave(t, "the status comment", bad.comment, failure, "Rollout: 10% ✗ -> 50% -> 100%", "| churn-model (churn-predictor v10) | model | "+driverType+" | rolled back | 9 |")
			mustHave(t, "the Slack thread", strings.Join(bad.thread, "\n"), ":x: Rollout failed: "+failure, "Rolled back")
			if n := d.ddQueries("10"); n != 1 {
				t.Errorf("the gate queried Datadog %d times about v10; want it to stop at the first bad answer", n)
			}
		})
	}
}
