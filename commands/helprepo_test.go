package commands

import (
	"testing"
)

// TestHelpListsThisRepository: /help showed no environments, artifacts or
// who may run what, and no link to the docs. It now lists them, with who
// may run each command as the policy answers it.
func TestHelpListsThisRepository(t *testing.T) {
	e := newEnv(t)
	e.gh.SetPermission(testRepo, "dev", "write")
	pr := e.openPR("feature", "dev", webChange())
	e.comment(pr, "dev", "/help")
	reply := e.oneReply(pr)
	mustContain(t, reply,
		"### Conveyor commands",
		"- environments: `staging`, `production`",
		"`web` (app)",
		"| `/deploy` | staging: write or above; production: maintain or above, or write and a member of @acme/sre |",
		"| `/status` | anyone who may comment |",
		"Full reference: [docs/commands.md]("+DocsURL+")")
}
