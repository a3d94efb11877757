package commands

import (
	"context"
	"fmt"
	"strings"
)

// actingCommands change something (a deployment, an approval, a lock). They
// are read only from people with more than read permission on the
// repository; everyone else's comments are answered without validating
// anything, so an outsider's comment costs one cached permission lookup. The
// policy still decides every acting command of the people admitted.
var actingCommands = map[string]bool{
	"deploy": true, "rollback": true, "approve": true, "reject": true,
	"cancel": true, "lock": true, "unlock": true,
}

// admitted reports whether a permission may issue acting commands: triage or
// more. Read (what GitHub reports for anyone on a public repository) and no
// permission may not.
func admitted(permission string) bool {
	switch permission {
	case "triage", "write", "maintain", "admin":
		return true
	}
	return false
}

// admit checks, before anything is validated or a parse error explained,
// that the actor may issue the acting commands among cmds and perrs. When
// they may not, it returns the reply (bounded: it names each command once)
// and false.
func (s *session) admit(ctx context.Context, cmds []Command, perrs []*ParseError) (string, bool) {
	var acting []string
	seen := map[string]bool{}
	note := func(name string) {
		if actingCommands[name] && !seen[name] {
			seen[name] = true
			acting = append(acting, "/"+name)
		}
	}
	for _, c := range cmds {
		note(c.Name)
	}
	for _, e := range perrs {
		note(e.Command)
	}
	if len(acting) == 0 {
		return "", true
	}
	perm, err := s.h.facts.permission(ctx, s.gh, s.installation, s.repo, s.actor)
	if err != nil {
		return s.errorText(err), false
	}
	if admitted(perm) {
		return "", true
	}
	has := perm + " permission"
	if perm == "" {
		has = "no permission"
	}
	return fmt.Sprintf("Nothing in this comment was run: @%s has %s on %s, and Conveyor takes %s only from people with triage permission or more (the policy then decides who may do what).",
		s.actor, has, s.repo, strings.Join(acting, ", ")), false
}
