package slackapproval

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/conveyor-dev/conveyor/deploy"
	"github.com/conveyor-dev/conveyor/internal/slackfake"
)

// TestCardSpeaksEachPersona: posted through a Slack that enforces Block
// Kit, the card tells each approver what changes in their own terms: the
// alias a model deploy moves and its gated metric, a dbt change's models,
// downstream count and contract breaks, an app's CI and commits; with the
// cost, who must still approve by when, and the pull request page.
func TestCardSpeaksEachPersona(t *testing.T) {
	fake := slackfake.NewTest(t)
	fake.AddChannel("C0PROD", true)
	api := slack.New(fake.Token(), slack.OptionAPIURL(fake.URL()+"/api/"))
	sha := "4f2a9c1e0d2b4c5a6e7f8091a2b3c4d5e6f70819"
	expires := time.Date(2026, 12, 7, 9, 30, 0, 0, time.UTC)
	card := func(arts []deploy.ArtifactState, ev *Evidence) string {
		t.Helper()
		d := &deploy.Deployment{ID: 12, Repository: "acme/shop", PR: 7, SHA: sha, PRURL: "https://github.com/acme/shop/pull/7",
			PRTitle: "Fraud model v14", Environment: "production", Requester: "ana", State: deploy.StateAwaitingApproval,
			Artifacts: arts, ExpiresAt: expires, Decision: "allow",
			Quorum:    deploy.Quorum{Groups: []deploy.Group{{Count: 2, From: []string{"acme/ml"}}}},
			Approvals: []deploy.Approval{{Login: "sam", Via: "slack", Teams: []string{"acme/ml"}}}}
		text, blocks := render(d, ev, "https://conveyor.example.com")
		_, ts, err := api.PostMessage("C0PROD", slack.MsgOptionText(text, false), slack.MsgOptionBlocks(blocks...))
		if err != nil {
			t.Fatalf("Slack refused the card: %v", err)
		}
		m := fake.Message("C0PROD", ts)
		all := sectionTexts(m.Blocks.BlockSet)
		raw, _ := json.Marshal(m.Blocks.BlockSet)
		if strings.Contains(string(raw), "awaiting_approval") {
			t.Errorf("the card shows a state identifier:\n%s", raw)
		}
		return all
	}
	says := func(t *testing.T, all string, want ...string) {
		t.Helper()
		for _, w := range want {
			if !strings.Contains(all, w) {
				t.Errorf("card lacks %q:\n%s", w, all)
			}
		}
	}
	common := []string{
		"*Waiting for 1 more approval from @acme/ml* by <!date^1796635800^{date_short_pretty} at {time}|Dec 7 09:30 UTC>, when this request expires",
		"1 of 2 approvals given", "approved by @sam via slack",
		"<https://conveyor.example.com/r/acme/shop/pull/7|Open the pull request page>",
	}

	t.Run("ML engineer", func(t *testing.T) {
		all := card([]deploy.ArtifactState{{Name: "fraud-model", Kind: "model", SHA: sha, Previous: "13", Summary: "fraud-detector v14"}},
			&Evidence{Gate: "success", Artifacts: map[string]ArtifactEvidence{"fraud-model": {Conclusion: "success",
				Candidate: "v14", Serving: map[string]string{"production": "v13", "staging": "v14"},
				Lines:      []string{"fraud-detector v14: auc 0.935 ≥ minimum 0.9; +0.005 vs production v13 (0.93), regression within 0.005"},
				MonthlyUSD: 1976.4, DeltaUSD: 412.5}}})
		says(t, all, append(common,
			"<https://conveyor.example.com/r/acme/shop/pull/7#artifact-fraud-model|fraud-model> (model): production: v13 → v14",
			"auc 0.935 ≥ minimum 0.9; +0.005 vs production v13 (0.93), regression within 0.005",
			"conveyor check: passed on this head", "cost: +$412.50/month, $1,976.40/month in all")...)
	})
	t.Run("analytics engineer", func(t *testing.T) {
		all := card([]deploy.ArtifactState{{Name: "analytics", Kind: "dbt", SHA: sha}},
			&Evidence{Gate: "failure", Artifacts: map[string]ArtifactEvidence{"analytics": {Conclusion: "failure",
				Title: "Quality: 1 contract break",
				Lines: []string{"2 models modified: orders, customers", "5 models downstream",
					"1 contract break: orders: column amount changed type from numeric to text"}}}})
		says(t, all, append(common,
			"analytics> (dbt): production: 4f2a9c1 (nothing known to serve there before)",
			"2 models modified: orders, customers", "5 models downstream", "1 contract break: orders: column amount changed type",
			"conveyor check: failed on this head", ":x: analytics: Quality: 1 contract break")...)
		if strings.Contains(all, "cost:") {
			t.Errorf("a change without cost shows a cost line:\n%s", all)
		}
	})
	t.Run("app developer", func(t *testing.T) {
		all := card([]deploy.ArtifactState{{Name: "web", Kind: "app", SHA: sha, Previous: "0123456789abcdef0123456789abcdef01234567"}},
			&Evidence{Gate: "in_progress", Artifacts: map[string]ArtifactEvidence{"web": {
				Lines:      []string{"CI passed: build, test", "3 commits, newest 4f2a9c1 Show returned orders (@ana)", "4 changed files under services/web/**"},
				MonthlyUSD: 300}}})
		says(t, all, append(common,
			":hourglass_flowing_sand: <https://conveyor.example.com/r/acme/shop/pull/7#artifact-web|web> (app): production: 0123456 → 4f2a9c1",
			"CI passed: build, test", "3 commits, newest 4f2a9c1 Show returned orders (@ana)",
			"conveyor check: still running on this head", "cost: no change ($300.00/month)")...)
	})
	t.Run("already serving", func(t *testing.T) {
		all := card([]deploy.ArtifactState{{Name: "fraud-model", Kind: "model", SHA: sha}},
			&Evidence{Gate: "success", Artifacts: map[string]ArtifactEvidence{"fraud-model": {Conclusion: "success",
				Candidate: "v14", Serving: map[string]string{"production": "v14"}, Lines: []string{"already serving in production (v14)"}}}})
		says(t, all, "fraud-model> (model): production: already serves v14")
	})
	t.Run("markup in evidence is escaped", func(t *testing.T) {
		all := card([]deploy.ArtifactState{{Name: "web", Kind: "app", SHA: sha}},
			&Evidence{Gate: "success", Artifacts: map[string]ArtifactEvidence{"web": {Conclusion: "success",
				Lines: []string{"1 commit, newest 4f2a9c1 <!channel> & <https://evil.example|click> (@mallory)"}}}})
		says(t, all, "&lt;!channel&gt; &amp; &lt;https://evil.example|click&gt;")
		if strings.Contains(all, "<!channel>") {
			t.Errorf("a commit message pinged the channel:\n%s", all)
		}
	})
}

func TestUSD(t *testing.T) {
	for v, want := range map[float64]string{0: "$0.00", 12.5: "$12.50", 1234567.891: "$1,234,567.89", -3: "-$3.00", 999.999: "$1,000.00"} {
		if got := usd(v, false); got != want {
			t.Errorf("usd(%v) = %q, want %q", v, got, want)
		}
	}
	if got := usd(12, true); got != "+$12.00" {
		t.Errorf("signed: %q", got)
	}
}
