package checks

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestCardsSpeakEachPersona: what the approval card reads back from the
// stored results of one evaluation is each kind's own words: CI and commits
// for the app, the candidate against each alias and the gate for the model,
// modified and downstream models and contract breaks for dbt; plus the cost.
func TestCardsSpeakEachPersona(t *testing.T) {
	e := newGHEnv(t, 2, 20*time.Millisecond)
	for _, change := range []string{"good", "contract-break"} {
		pr := e.openChange("card-"+change, change)
		e.postCI(pr.HeadSHA, "build", "completed", "success")
		e.postCI(pr.HeadSHA, "test", "completed", "success")
		for _, cr := range e.gh.CheckRuns(testRepo, pr.HeadSHA) {
			e.send("check_run", e.gh.CheckRunEvent("completed", testRepo, cr.ID, "", ""))
		}
		e.send("pull_request", e.gh.PullRequestEvent("opened", pr))
		e.waitSettled(pr.HeadSHA)
		gate, cards, err := e.suite.Cards(context.Background(), testRepo, pr.HeadSHA)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string][]string{}
		switch change {
		case "good":
			if gate != Success {
				t.Errorf("gate = %q, want success", gate)
			}
			m := cards["fraud-model"]
			if m.Candidate != "v14" || m.Serving["production"] != "v13" || m.Serving["staging"] != "v13" {
				t.Errorf("fraud-model candidate %q serving %v, want v14 against v13 in staging and production", m.Candidate, m.Serving)
			}
			want["fraud-model"] = []string{"fraud-detector v14: auc 0.935 ≥ minimum 0.9", "vs production v13"}
			want["web"] = []string{"CI passed: build, test", "1 commit, newest " + pr.HeadSHA[:7], "changed file", "under services/web/**"}
			want["analytics"] = []string{"modified", "downstream", "no contract breaks"}
		case "contract-break":
			want["analytics"] = []string{"contract break"}
			if a := cards["analytics"]; a.Conclusion != Failure {
				t.Errorf("analytics conclusion %q, want failure", a.Conclusion)
			}
		}
		for name, lines := range want {
			c, ok := cards[name]
			if !ok {
				t.Errorf("%s: no card for %s (have %v)", change, name, cards)
				continue
			}
			got := strings.Join(c.Lines, "\n")
			for _, w := range lines {
				if !strings.Contains(got, w) {
					t.Errorf("%s: card of %s lacks %q:\n%s", change, name, w, got)
				}
			}
		}
		if change == "good" && cards["fraud-model"].Cost.MonthlyUSD == 0 {
			t.Errorf("fraud-model has no monthly cost: %+v", cards["fraud-model"].Cost)
		}
	}
	if _, _, err := New(Options{}).Cards(context.Background(), testRepo, "x"); err == nil {
		t.Error("Cards without a store: no error")
	}
}
