package commands

import (
	"context"
	"fmt"
	"strings"
)

// plan runs /plan: the same facts and decision as /deploy, without side
// effects; the reply says what would deploy, the decision, the approvals
// still needed and the preconditions not yet met.
func (s *session) plan(ctx context.Context, c Command) outcome {
	p, err := s.prepare(ctx, c, "deploy", false)
	if err != nil {
		return refused(s.errorText(err))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Plan for **%s** at `%s`", p.env.Name, short(p.head.SHA))
	if p.head.Fallback {
		b.WriteString(" (the PR's current head: no earlier head was recorded)")
	}
	b.WriteString("\n\n")
	if len(p.arts) > 0 {
		serving := s.servingIn(ctx, p.env.Name)
		web := ""
		if p.pr != nil {
			web = repoWebURL(p.pr.URL)
		}
		b.WriteString("| artifact | kind | serving now | would deploy | changes | driver |\n|---|---|---|---|---|---|\n")
		for _, a := range p.arts {
			version := short(p.head.SHA)
			if pl, ok := p.payloads[a.Name]; !ok {
				version = "unknown (see the preconditions)"
			} else if pl.Version != "" {
				version = pl.Version
			}
			now, changes := "nothing yet", "-"
			if st, ok := serving[a.Name]; ok {
				now = short(st.Serving)
				if l := compareLink(web, st.SHA, p.head.SHA); l != "" {
					changes = l
				}
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", a.Name, a.Kind, now, version, changes, a.Deploy.Driver)
		}
		b.WriteString("\n")
	}
	if p.decided {
		b.WriteString(renderDecision(p.decision))
		b.WriteString("\n\n")
		b.WriteString(renderApprovals(p.decision.ApprovalsRequired))
		b.WriteString("\n\n")
	}
	if len(p.unmet) == 0 {
		b.WriteString("Preconditions: all met.")
	} else {
		b.WriteString("Preconditions not yet met:\n")
		for _, u := range p.unmet {
			fmt.Fprintf(&b, "- %s\n", u)
		}
	}
	if rollout := p.env.Rollout.Steps; len(rollout) > 0 {
		fmt.Fprintf(&b, "\n\nRollout: %s, %s between steps.", joinPercents(rollout), p.env.Rollout.Pause)
	}
	for _, n := range p.gov.Notes {
		b.WriteString("\n\n" + n)
	}
	return done(strings.TrimRight(b.String(), "\n"))
}

func joinPercents(steps []int) string {
	var parts []string
	for _, s := range steps {
		parts = append(parts, fmt.Sprintf("%d%%", s))
	}
	return strings.Join(parts, " -> ")
}
