package commands

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/conveyor-dev/conveyor/deploy"
	"github.com/conveyor-dev/conveyor/internal/docgolden"
	"github.com/conveyor-dev/conveyor/internal/ghfake"
)

// The examples in docs/commands.md are the real replies, rendered here
// through the GitHub emulator and compared with the golden blocks there
// (go test ./commands -run TestDocs -args -update-docs rewrites them). The
// emulator's commit SHAs depend on the time, so each is replaced by a fixed
// stand-in after rendering; nothing else is touched but the hidden reply
// marker.

const (
	docHead    = "4f2a9c1e8d7b6a5f4e3d2c1b0a9f8e7d6c5b4a39"
	docServing = "0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d"
)

var docMarker = regexp.MustCompile(`\n*<!-- conveyor:reply:[^>]*-->\n*`)

// docReply is a reply as the docs show it.
func docReply(reply string, pr *ghfake.PR) string {
	reply = strings.ReplaceAll(reply, pr.HeadSHA, docHead)
	reply = strings.ReplaceAll(reply, pr.HeadSHA[:7], docHead[:7])
	return strings.TrimRight(docMarker.ReplaceAllString(reply, "\n"), "\n")
}

func docEnv(t *testing.T) (*env, *ghfake.PR) {
	e := newEnv(t)
	e.clock.Set(time.Date(2025, 6, 11, 9, 45, 0, 0, time.UTC))
	for login, perm := range map[string]string{"ana": "maintain", "dev": "write"} {
		e.gh.SetPermission(testRepo, login, perm)
	}
	pr := e.openPR("feature", "ana", webChange())
	return e, pr
}

func TestDocsDenial(t *testing.T) {
	e, pr := docEnv(t)
	e.comment(pr, "dev", "/deploy production")
	docgolden.Check(t, docgolden.Path("commands.md"), "denial", "markdown", docReply(e.oneReply(pr), pr))
}

func TestDocsUnknownEnvironment(t *testing.T) {
	e, pr := docEnv(t)
	e.comment(pr, "ana", "/deploy prod")
	docgolden.Check(t, docgolden.Path("commands.md"), "unknown-env", "markdown", docReply(e.oneReply(pr), pr))
}

func TestDocsPlan(t *testing.T) {
	e, pr := docEnv(t)
	at := time.Date(2025, 6, 10, 14, 2, 0, 0, time.UTC)
	e.dep.last["staging"] = map[string]string{"web": pr.HeadSHA}
	e.dep.report = deploy.StatusReport{Repository: testRepo, Environments: []deploy.EnvironmentStatus{
		{Name: "production", Artifacts: []deploy.ArtifactStatus{{Name: "web", Kind: "app", Serving: docServing, SHA: docServing, State: "succeeded", DeploymentID: 5, PR: 3, By: "sam", At: at}}},
	}}
	e.comment(pr, "ana", "/plan production")
	docgolden.Check(t, docgolden.Path("commands.md"), "plan", "markdown", docReply(e.oneReply(pr), pr))
}

func TestDocsStatus(t *testing.T) {
	e, pr := docEnv(t)
	at := time.Date(2025, 6, 10, 14, 2, 0, 0, time.UTC)
	e.dep.report = deploy.StatusReport{
		Repository: testRepo,
		Environments: []deploy.EnvironmentStatus{
			{Name: "production", Artifacts: []deploy.ArtifactStatus{
				{Name: "fraud-model", Kind: "model", Serving: "13", SHA: docServing, State: "succeeded", DeploymentID: 5, PR: 3, By: "sam", At: at},
				{Name: "web", Kind: "app", Serving: docServing, SHA: docServing, State: "succeeded", DeploymentID: 5, PR: 3, By: "sam", At: at}}},
			{Name: "staging", Artifacts: []deploy.ArtifactStatus{
				{Name: "web", Kind: "app", Serving: pr.HeadSHA, SHA: pr.HeadSHA, State: "succeeded", DeploymentID: 7, PR: pr.Number, By: "ana", At: at.Add(19 * time.Hour)}}},
		},
		Locks: []deploy.Lock{{Environment: "production", PR: pr.Number, Login: "ana", Reason: "release freeze", Manual: true, Since: at.Add(19 * time.Hour)}},
		PendingApprovals: []*deploy.Deployment{{ID: 8, PR: pr.Number, Environment: "production", SHA: pr.HeadSHA, Requester: "ana",
			Quorum: deploy.Quorum{Groups: []deploy.Group{{Count: 2}}}, Approvals: []deploy.Approval{{Login: "sre-bo"}}}},
	}
	e.comment(pr, "ana", "/status")
	docgolden.Check(t, docgolden.Path("commands.md"), "status", "markdown", docReply(e.oneReply(pr), pr))
}

func TestDocsHelp(t *testing.T) {
	e, pr := docEnv(t)
	e.comment(pr, "dev", "/help")
	docgolden.Check(t, docgolden.Path("commands.md"), "help", "markdown", docReply(e.oneReply(pr), pr))
}
