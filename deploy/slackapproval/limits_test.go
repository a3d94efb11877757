package slackapproval

import (
	"fmt"
	"strings"
	"testing"

	"github.com/slack-go/slack"

	"github.com/conveyor-dev/conveyor/deploy"
	"github.com/conveyor-dev/conveyor/internal/slackfake"
	"github.com/conveyor-dev/conveyor/web/pageurl"
)

// Approval cards that outgrow Slack's limits (a section holds 3,000 characters,
// a message 50 blocks) are summarised with a link to the pull request page,
// never refused: 60 artifacts each with the kind's evidence, 60 failing
// artifacts, 40 policy warnings and a 5,000-character failure all post to a
// Slack that enforces Block Kit's limits.
func TestOversizedApprovalCardsStillPost(t *testing.T) {
	fake := slackfake.NewTest(t)
	fake.AddChannel("C0PROD", true)
	api := slack.New(fake.Token(), slack.OptionAPIURL(fake.URL()+"/api/"))
	base := func() *deploy.Deployment {
		return &deploy.Deployment{ID: 7, Repository: "acme/shop", PR: 12, SHA: strings.Repeat("a", 40),
			PRURL: "https://github.com/acme/shop/pull/12", PRTitle: "Big change", Environment: "production",
			Requester: "ana", State: deploy.StateAwaitingApproval}
	}
	pages := pageurl.Base("https://conveyor.example.com")
	manyArtifacts := base()
	evidence := &Evidence{Gate: "success", Artifacts: map[string]ArtifactEvidence{}}
	failing := &Evidence{Gate: "failure", Artifacts: map[string]ArtifactEvidence{}}
	for i := range 60 {
		name := fmt.Sprintf("service-%02d", i)
		manyArtifacts.Artifacts = append(manyArtifacts.Artifacts, deploy.ArtifactState{Name: name,
			Kind: "app", SHA: strings.Repeat("a", 40), Summary: fmt.Sprintf("%s at aaaaaaa, image registry.example/acme/%s", name, name)})
		evidence.Artifacts[name] = ArtifactEvidence{Conclusion: "success", DeltaUSD: 10, MonthlyUSD: 100, Lines: []string{
			"CI passed: build, test, lint, integration, e2e",
			"12 commits, newest aaaaaaa Make the checkout page render the basket before the recommendations (@ana)",
			strings.Repeat("a very long line of evidence ", 30), "line 4", "line 5", "line 6"}}
		failing.Artifacts[name] = ArtifactEvidence{Conclusion: "failure", Title: "Quality: " + strings.Repeat("CI failed: e2e (failure) ", 20)}
	}
	manyWarnings := base()
	manyWarnings.Decision = "allow"
	for i := range 40 {
		manyWarnings.Decision += fmt.Sprintf("; warn: warning %02d: the monthly cost of service-%02d rises above its budget by a lot", i, i)
	}
	longFailure := base()
	longFailure.State = deploy.StateFailed
	longFailure.Error = "driver web-deploy failed: " + strings.Repeat("error: connection reset by peer\n", 170)
	const page = "more on <https://conveyor.example.com/r/acme/shop/pull/12|the pull request>"
	for name, tc := range map[string]struct {
		d     *deploy.Deployment
		ev    *Evidence
		pages pageurl.Base
		want  []string
	}{
		"60 artifacts with evidence": {manyArtifacts, evidence, pages, []string{"(60 artifacts; each one's evidence is on the pull request page)",
			"|service-59> (app): production: aaaaaaa", "cost: +$600.00/month, $6,000.00/month in all (service-00 +$10.00, service-01 +$10.00, service-02 +$10.00, service-03 +$10.00, service-04 +$10.00, 55 more)"}},
		"60 failing artifacts":   {manyArtifacts, failing, pages, []string{page, "conveyor check: failed on this head"}},
		"60 without a dashboard": {manyArtifacts, nil, "", []string{"`service-59` (app)", "see <https://github.com/acme/shop/pull/12/checks|the PR's checks>"}},
		"40 warnings":            {manyWarnings, nil, pages, []string{page}},
		"long failure":           {longFailure, nil, pages, []string{"<https://conveyor.example.com/r/acme/shop/pull/12|the pull request>"}},
	} {
		t.Run(name, func(t *testing.T) {
			text, blocks := render(tc.d, tc.ev, tc.pages)
			_, ts, err := api.PostMessage("C0PROD", slack.MsgOptionText(text, false), slack.MsgOptionBlocks(blocks...))
			if err != nil {
				t.Fatalf("Slack refused the card: %v", err)
			}
			got := sectionTexts(fake.Message("C0PROD", ts).Blocks.BlockSet)
			for _, want := range tc.want {
				if !strings.Contains(got, want) {
					t.Errorf("card lacks %q:\n%s", want, got)
				}
			}
		})
	}
	// A few artifacts show each one's evidence, long lines clipped and
	// lines past four counted.
	few := base()
	few.Artifacts = manyArtifacts.Artifacts[:3]
	_, blocks := render(few, evidence, pages)
	all := sectionTexts(blocks)
	for _, want := range []string{"|service-00> (app)", "|service-02> (app)", "12 commits, newest aaaaaaa", "a very long line…", "… 2 more on the pull request page"} {
		if !strings.Contains(all, want) {
			t.Errorf("card of three artifacts lacks %q:\n%s", want, all)
		}
	}
	// A thousand artifacts: four sections of them, then where the rest are.
	huge := base()
	for i := range 1000 {
		huge.Artifacts = append(huge.Artifacts, deploy.ArtifactState{Name: fmt.Sprintf("svc-%04d", i), Kind: "app", SHA: huge.SHA})
	}
	text, blocks := render(huge, nil, pages)
	if _, _, err := api.PostMessage("C0PROD", slack.MsgOptionText(text, false), slack.MsgOptionBlocks(blocks...)); err != nil {
		t.Fatalf("Slack refused the card of 1,000 artifacts: %v", err)
	}
	if all := sectionTexts(blocks); !strings.Contains(all, "|svc-0000>") || !strings.Contains(all, "more on <https://conveyor.example.com/r/acme/shop/pull/12|the pull request>") {
		t.Errorf("card of 1,000 artifacts:\n%s", all)
	}
}

// Every state reads as words on the card, never as the engine's identifier.
func TestStatesInWords(t *testing.T) {
	for _, st := range []string{deploy.StateAwaitingApproval, deploy.StateQueued, deploy.StateInProgress, deploy.StateSucceeded,
		deploy.StateFailed, deploy.StateRolledBack, deploy.StateRejected, deploy.StateExpired, deploy.StateCancelled} {
		d := &deploy.Deployment{ID: 3, Repository: "acme/shop", PR: 1, SHA: strings.Repeat("b", 40), Environment: "production",
			State: st, Quorum: deploy.Quorum{Groups: []deploy.Group{{Count: 1, From: []string{"acme/ml"}}}}}
		_, blocks := render(d, nil, "")
		var ctx string
		for _, b := range blocks {
			if c, ok := b.(*slack.ContextBlock); ok {
				ctx = c.ContextElements.Elements[0].(*slack.TextBlockObject).Text
			}
		}
		if strings.Contains(ctx, "_") || !strings.HasPrefix(ctx, "Conveyor deployment 3 · ") {
			t.Errorf("%s reads %q", st, ctx)
		}
		if st == deploy.StateAwaitingApproval && ctx != "Conveyor deployment 3 · waiting for 1 more approval from @acme/ml" {
			t.Errorf("awaiting approval reads %q", ctx)
		}
	}
}

func sectionTexts(blocks []slack.Block) string {
	var all strings.Builder
	for _, b := range blocks {
		if s, ok := b.(*slack.SectionBlock); ok && s.Text != nil {
			all.WriteString(s.Text.Text + "\n")
		}
	}
	return all.String()
}
