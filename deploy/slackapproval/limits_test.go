package slackapproval

import (
	"fmt"
	"strings"
	"testing"

	"github.com/slack-go/slack"

	"github.com/conveyor-dev/conveyor/deploy"
	"github.com/conveyor-dev/conveyor/internal/slackfake"
)

// Approval cards that outgrow Slack's limits (a section holds 3,000 characters)
// are summarised with a link to the pull request, never refused: 60 artifacts,
// 40 policy warnings and a 5,000-character failure all post to a Slack that
// enforces Block Kit's limits.
func TestOversizedApprovalCardsStillPost(t *testing.T) {
	fake := slackfake.NewTest(t)
	fake.AddChannel("C0PROD", true)
	api := slack.New(fake.Token(), slack.OptionAPIURL(fake.URL()+"/api/"))
	base := func() *deploy.Deployment {
		return &deploy.Deployment{ID: 7, Repository: "acme/shop", PR: 12, SHA: strings.Repeat("a", 40),
			PRURL: "https://github.com/acme/shop/pull/12", PRTitle: "Big change", Environment: "production",
			Requester: "ana", State: deploy.StateAwaitingApproval}
	}
	manyArtifacts := base()
	for i := range 60 {
		manyArtifacts.Artifacts = append(manyArtifacts.Artifacts, deploy.ArtifactState{Name: fmt.Sprintf("service-%02d", i),
			Kind: "app", Summary: fmt.Sprintf("service-%02d at aaaaaaa, image registry.example/acme/service-%02d", i, i)})
	}
	manyWarnings := base()
	manyWarnings.Decision = "allow"
	for i := range 40 {
		manyWarnings.Decision += fmt.Sprintf("; warn: warning %02d: the monthly cost of service-%02d rises above its budget by a lot", i, i)
	}
	longFailure := base()
	longFailure.State = deploy.StateFailed
	longFailure.Error = "driver web-deploy failed: " + strings.Repeat("error: connection reset by peer\n", 170)
	manyChecks := make([]string, 80)
	for i := range manyChecks {
		manyChecks[i] = fmt.Sprintf("conveyor / service-%02d: success (all four stages passed on this head)", i)
	}
	for name, tc := range map[string]struct {
		d      *deploy.Deployment
		checks []string
		want   string
	}{
		"60 artifacts": {manyArtifacts, nil, "more on <https://github.com/acme/shop/pull/12|the pull request>"},
		"40 warnings":  {manyWarnings, nil, "more on <https://github.com/acme/shop/pull/12|the pull request>"},
		"long failure": {longFailure, nil, "<https://github.com/acme/shop/pull/12|the pull request>"},
		"80 checks":    {base(), manyChecks, "more on <https://github.com/acme/shop/pull/12|the pull request>"},
	} {
		t.Run(name, func(t *testing.T) {
			text, blocks := render(tc.d, tc.checks)
			_, ts, err := api.PostMessage("C0PROD", slack.MsgOptionText(text, false), slack.MsgOptionBlocks(blocks...))
			if err != nil {
				t.Fatalf("Slack refused the card: %v", err)
			}
			got := sectionTexts(fake.Message("C0PROD", ts).Blocks.BlockSet)
			if !strings.Contains(got, tc.want) {
				t.Errorf("card does not say where the rest is (%q):\n%s", tc.want, got)
			}
		})
	}
	// The artifacts that fit are listed in full, in order.
	_, blocks := render(manyArtifacts, nil)
	if all := sectionTexts(blocks); !strings.Contains(all, "`service-00` (app)") || strings.Contains(all, "`service-59` (app)") {
		t.Errorf("artifact list should start with service-00 and leave out service-59:\n%s", all)
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
