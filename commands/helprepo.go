package commands

import (
	"context"
	"fmt"
	"strings"

	"github.com/conveyor-dev/conveyor/checks/repoconfig"
)

// DocsURL is the full reference of the commands, linked from /help.
const DocsURL = "https://github.com/conveyor-dev/conveyor/blob/main/docs/commands.md"

// permissionLevels are GitHub's repository roles, lowest first
// (https://docs.github.com/en/organizations/managing-user-access-to-your-organizations-repositories/managing-repository-roles/repository-roles-for-an-organization).
var permissionLevels = []string{"read", "triage", "write", "maintain", "admin"}

// commandActions is which policy action decides each command (as the
// command handlers ask it); commands absent here ask no policy.
var commandActions = map[string]string{
	"deploy": "deploy", "rollback": "rollback", "cancel": "rollback",
	"lock": "lock", "unlock": "lock", "approve": "approve", "reject": "approve",
}

// help runs /help: the commands, then this repository's environments and
// artifacts and who may run what. Who may is the policy's answer, not Go's:
// for each action and environment the policy is asked about a
// representative actor at each GitHub role, and with each team the
// environment takes approvals from, and the lowest that it allows is shown.
func (s *session) help(ctx context.Context) string {
	var b strings.Builder
	b.WriteString(Help())
	g, err := s.governance(ctx)
	if err != nil || g.Base == nil {
		fmt.Fprintf(&b, "\nFull reference: [docs/commands.md](%s).", DocsURL)
		return b.String()
	}
	b.WriteString("\n**In this repository**\n\n")
	fmt.Fprintf(&b, "- environments: %s\n", codeList(environmentList(g.Base)))
	var arts []string
	for _, a := range g.Defs.Artifacts {
		arts = append(arts, fmt.Sprintf("`%s` (%s)", a.Name, a.Kind))
	}
	fmt.Fprintf(&b, "- artifacts: %s\n", orNoneText(strings.Join(arts, ", ")))
	b.WriteString("\n| command | who may run it (the policy's answer) |\n|---|---|\n")
	asked := map[string]string{}
	for _, spec := range commandSpecs {
		who := "anyone who may comment"
		if spec.Name == "plan" {
			who = "anyone who may comment (the reply shows the policy's answer for /deploy)"
		}
		if action, ok := commandActions[spec.Name]; ok {
			if _, done := asked[action]; !done {
				asked[action] = s.whoMay(ctx, action, g.Base)
			}
			who = asked[action]
		}
		fmt.Fprintf(&b, "| `/%s` | %s |\n", spec.Name, who)
	}
	fmt.Fprintf(&b, "\nFull reference: [docs/commands.md](%s).", DocsURL)
	return b.String()
}

// whoMay is the policy's answer to who may take action, per environment of
// base ("staging: write; production: maintain, or write and @acme/sre").
func (s *session) whoMay(ctx context.Context, action string, base *repoconfig.Config) string {
	envs := base.Environments
	if len(envs) == 0 {
		envs = []*repoconfig.Environment{nil}
	}
	var parts []string
	same := true
	for i, env := range envs {
		w := s.lowestAllowed(ctx, action, env, base)
		if env != nil {
			parts = append(parts, env.Name+": "+w)
		} else {
			parts = append(parts, w)
		}
		if i > 0 && w != s.lowestAllowed(ctx, action, envs[0], base) {
			same = false
		}
	}
	if same {
		return s.lowestAllowed(ctx, action, envs[0], base)
	}
	return strings.Join(parts, "; ")
}

func (s *session) lowestAllowed(ctx context.Context, action string, env *repoconfig.Environment, base *repoconfig.Config) string {
	ask := func(perm string, teams []string) []string {
		actor := ActorFacts{Login: "someone", Permission: perm, Teams: teams}
		return s.decide(ctx, s.input(action, actor, s.prInfo, "", env, nil, base)).Deny
	}
	// What the policy denies even the most privileged actor (a freeze, a
	// required earlier environment) is not about who asks: an actor counts
	// as allowed when the policy denies it nothing more.
	var allTeams []string
	if env != nil {
		allTeams = env.Approvals.From
	}
	common := map[string]bool{}
	for _, m := range ask(permissionLevels[len(permissionLevels)-1], append([]string{}, allTeams...)) {
		common[m] = true
	}
	allowed := func(perm string, teams []string) (bool, string) {
		for _, m := range ask(perm, teams) {
			if !common[m] {
				return false, m
			}
		}
		return true, ""
	}
	lowest, lastDeny := len(permissionLevels), ""
	for i, p := range permissionLevels {
		ok, why := allowed(p, []string{})
		if ok {
			lowest = i
			break
		}
		lastDeny = why
	}
	var alts []string
	if env != nil {
		for _, team := range env.Approvals.From {
			for _, p := range permissionLevels[:lowest] {
				if ok, _ := allowed(p, []string{team}); ok {
					alts = append(alts, fmt.Sprintf("%s and a member of @%s", p, team))
					break
				}
			}
		}
	}
	who := ""
	if lowest < len(permissionLevels) {
		who = permissionLevels[lowest]
		if lowest < len(permissionLevels)-1 {
			who += " or above"
		}
	}
	if len(alts) > 0 {
		if who != "" {
			who += ", or "
		}
		who += strings.Join(alts, ", or ")
	}
	if who == "" {
		return "no one now (" + lastDeny + ")"
	}
	return who
}

func codeList(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return "`" + strings.Join(names, "`, `") + "`"
}

func orNoneText(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
