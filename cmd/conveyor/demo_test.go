package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// The demo is the whole journey; its transcript must show each step's outcome.
func TestDemoTranscript(t *testing.T) {
	var out bytes.Buffer
	err := runDemo(context.Background(), &out, &demoOptions{examples: "../../examples", timeout: 3 * time.Minute})
	transcript := out.String()
	if err != nil {
		t.Fatalf("demo failed: %v\n%s", err, transcript)
	}
	want := []string{
		// 1. checks for the three kinds
		"✓ conveyor                   success",
		"✓ conveyor / analytics       success",
		"✓ conveyor / fraud-model     success",
		"✓ conveyor / web             success",
		// each persona's view
		"| modified | `stg_orders` (body) |",
		"| auc | ≥ 0.9; at most 0.005 below production; higher is better | 0.935 | 0.93 | 0.93 | +0.005 (better) |",
		"| `build` | ✅ success |",
		// 2. staging
		"reactions: eyes rocket",
		"deployment succeeded; status comment on the PR:\n     | ### Deploying",
		"to staging",
		"analytics driver: running sh ",
		"--select=stg_orders+ --target=staging in analytics",
		"### Commits (1)",
		// 3. production through Slack
		"*Waiting for 2 more approvals from @acme/sre or @acme/ml-leads* by <!date^",
		"|Open the pull request page> for every stage",
		"#artifact-fraud-model|fraud-model> (model): production: v13 → v14",
		"fraud-detector v14: auc 0.935 ≥ minimum 0.9; +0.005 vs production v13 (0.93)",
		"1 model modified: stg_orders",
		"CI passed: build, test",
		"conveyor check: passed on this head",
		"@sre-alice presses Approve",
		"1 of 2 approvals given",
		"Conveyor deployment 2 · waiting for 1 more approval from @acme/sre or @acme/ml-leads",
		"*Approvals: 2 of 2*",
		"Rollout: 10% ✓ -> 50% ✓ -> 100% ✓",
		// the thread reads in the order the rollout happened, each line once
		"   rollout thread in Slack:\n     > Quorum reached; rollout queued.\n     > Rollout step 1 (10%): started\n" +
			"     > Rollout step 2 (50%): queued; 10% is healthy\n     > Rollout step 3 (100%): queued; 50% is healthy\n" +
			"     > :white_check_mark: Rollout succeeded.\n   deployment succeeded",
		// 4. the bad PR
		"✗ conveyor                   failure",
		"✗ conveyor / fraud-model     failure  Quality: auc 0.89 is below the minimum 0.9",
		"✗ conveyor / analytics       failure  Quality: 2 contract breaks",
		"above its quota",
		"Not deploying: the conveyor check failed",
		// 5. the failing rollout
		"deployment rolled_back",
		"failed: 5 of 5 probes returned 503",
		// 6. a model to an emulated SageMaker endpoint, step by step under a Datadog gate
		"(emulated: SageMaker, and the Datadog metrics API whose numbers the demo sets",
		"SageMaker endpoint churn-model-production, change by change:\n     v7 100% -> v7 90% + v9 10% -> v7 50% + v9 50% -> v9 100%",
		"   the Slack thread:\n     > Quorum reached; rollout queued.\n     > Rollout step 1 (10%): started\n" +
			"     > Rollout step 2 (50%): queued; 10% is healthy\n     > Rollout step 3 (100%): queued; 50% is healthy\n" +
			"     > :white_check_mark: Rollout succeeded.\n   the gate asked",
		"each answer was under the threshold",
		// 7. the metric gate rolls the next version back, saying why on the PR and in Slack
		"production deployment rolled back; SageMaker endpoint churn-model-production, change by change:\n     v9 100% -> v9 90% + v10 10% -> v9 100%",
		"   the Slack thread:\n     > Quorum reached; rollout queued.\n     > Rollout step 1 (10%): started\n     > :x: Rollout failed: churn-model: health gate failed at 10%: metric gate \"error ratio\" (datadog) for churn-model in production failed: sum:trace.http.request.errors{service:churn-model,env:production,version:10}",
		"the rollout stops here and rolls back\n     > :leftwards_arrow_with_hook: Rolled back: rolled back churn-model\n   status comment on the PR:",
		"| > churn-model: health gate failed at 10%",
		"= 0.034, want < 0.01",
		"| production | churn-model | 9 | rolled back",
		// 8. status
		"| production | fraud-model | 14 |",
		"Demo finished",
	}
	for _, w := range want {
		if !strings.Contains(transcript, w) {
			t.Errorf("transcript lacks %q", w)
		}
	}
	if t.Failed() {
		t.Log(transcript)
	}
}
