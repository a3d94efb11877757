package commands

import (
	"testing"
	"time"

	"github.com/conveyor-dev/conveyor/deploy"
)

// TestPlanAndStatusShowWhatServes: /plan and /status never said what serves
// in each environment or linked the diff between what serves and what would
// deploy. Both now name what serves and link GitHub's compare view from the
// serving commit to the PR's head.
func TestPlanAndStatusShowWhatServes(t *testing.T) {
	e := newEnv(t)
	e.gh.SetPermission(testRepo, "dev", "write")
	pr := e.openPR("feature", "dev", webChange())
	e.gate.set(pr.HeadSHA, "success")
	at := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	serving := "abcdef1234567890abcdef1234567890abcdef12"
	e.dep.report = deploy.StatusReport{Repository: testRepo, Environments: []deploy.EnvironmentStatus{
		{Name: "staging", Artifacts: []deploy.ArtifactStatus{{Name: "web", Kind: "app", Serving: serving, SHA: serving, State: "succeeded", DeploymentID: 8, PR: 4, By: "dev", At: at}}},
	}}
	compare := "https://github.com/" + testRepo + "/compare/" + serving + "..." + pr.HeadSHA
	e.comment(pr, "dev", "/plan staging")
	mustContain(t, e.oneReply(pr),
		"| artifact | kind | serving now | would deploy | changes | driver |",
		"| web | app | abcdef1 | "+pr.HeadSHA[:7]+" | [`abcdef1..."+pr.HeadSHA[:7]+"`]("+compare+") | web-argo |")
	e.comment(pr, "dev", "/status")
	mustContain(t, e.replies(pr)[1],
		"**This PR's head `"+pr.HeadSHA[:7]+"` against what serves**",
		"- staging (web at `abcdef1`): [`abcdef1..."+pr.HeadSHA[:7]+"`]("+compare+")")
}

// TestCompareLinksOnGitHubEnterprise: the compare view is on the server the
// PR lives on, taken from its html_url.
func TestCompareLinksOnGitHubEnterprise(t *testing.T) {
	web := repoWebURL("https://ghe.example.com/acme/shop/pull/7")
	if web != "https://ghe.example.com/acme/shop" {
		t.Fatalf("repoWebURL = %q", web)
	}
	if got := compareLink(web, "1111111aaaa", "2222222bbbb"); got != "[`1111111...2222222`](https://ghe.example.com/acme/shop/compare/1111111aaaa...2222222bbbb)" {
		t.Errorf("compareLink = %q", got)
	}
	if got := compareLink(web, "1111111aaaa", "1111111aaaa"); got != "already serving this head" {
		t.Errorf("same commit: %q", got)
	}
	if got := compareLink("", "1111111aaaa", "2222222bbbb"); got != "" {
		t.Errorf("no web URL: %q", got)
	}
}
