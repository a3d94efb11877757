package deploy

import (
	"fmt"
	"strings"

	"github.com/conveyor-dev/conveyor/web/pageurl"
)

// outputTail bounds each driver output shown in the comment.
const outputTail = 2000

// renderComment is the PR status comment of d: what deploys where, each
// artifact's state, the rollout steps, approvals, errors with the drivers'
// output, and the outcome; with a dashboard address, a link to the pull
// request page, where the stages, approvals and rollout are shown in full.
func renderComment(d *Deployment, pages pageurl.Base) string {
	var b strings.Builder
	if d.Mode == "rollback" {
		fmt.Fprintf(&b, "### Rolling back %s\n\n", d.Environment)
	} else {
		fmt.Fprintf(&b, "### Deploying %s to %s\n\n", short(d.SHA), d.Environment)
	}
	fmt.Fprintf(&b, "%s · deployment %d · requested by @%s\n\n", stateLine(d), d.ID, d.Requester)
	b.WriteString("| artifact | kind | driver | state | serving |\n|---|---|---|---|---|\n")
	for _, a := range d.Artifacts {
		name := a.Name
		if a.Summary != "" {
			name += " (" + cell(a.Summary) + ")"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", name, cell(a.Kind), cell(a.Driver), strings.ReplaceAll(a.State, "_", " "), cell(orDash(short(a.Serving))))
	}
	fmt.Fprintf(&b, "\nRollout: %s\n", progress(d))
	if n := d.Quorum.Needed(); n > 0 {
		var who []string
		for _, a := range d.Approvals {
			who = append(who, "@"+a.Login+" via "+a.Via)
		}
		fmt.Fprintf(&b, "\nApprovals: %d/%d", min(d.Quorum.Counted(d.Approvals), n), n)
		if len(who) > 0 {
			fmt.Fprintf(&b, " (%s)", strings.Join(who, ", "))
		}
		b.WriteString("\n")
	}
	if d.Decision != "" {
		// The comment is where the full text lives: never shortened here.
		decision, _, _ := strings.Cut(d.Decision, "\n")
		fmt.Fprintf(&b, "\nPolicy: %s\n", decision)
	}
	folded := map[string]string{}
	for _, a := range d.Artifacts {
		if a.Output == "" || d.State == StateSucceeded || d.State == StateInProgress {
			continue
		}
		out := a.Output
		if len(out) > outputTail {
			out = "…" + out[len(out)-outputTail:]
		}
		folded[a.Name] = out
	}
	if d.Error != "" {
		b.WriteString("\n**What went wrong:**\n")
		for _, l := range whatWentWrong(d.Error, folded) {
			fmt.Fprintf(&b, "> %s\n", l)
		}
	}
	for _, a := range d.Artifacts {
		out, ok := folded[a.Name]
		if !ok {
			continue
		}
		fmt.Fprintf(&b, "\n<details><summary>%s output (last lines)</summary>\n\n```\n%s\n```\n</details>\n",
			a.Name, strings.ReplaceAll(strings.TrimRight(out, "\n"), "```", "'''"))
	}
	if o := outcome(d); o != "" {
		fmt.Fprintf(&b, "\n**%s**\n", o)
	}
	if u := pages.Pull(d.Repository, d.PR, ""); u != "" && d.PR > 0 {
		fmt.Fprintf(&b, "\n[Open this pull request in the Conveyor dashboard](%s)\n", u)
	}
	fmt.Fprintf(&b, "\n%s\n", commentMarker(d.ID))
	return b.String()
}

// whatWentWrong is the error's lines without those the folded output below
// already shows: a driver's error quotes its last output lines, and the
// reader should see the failure once and the log once.
func whatWentWrong(msg string, folded map[string]string) []string {
	shown := map[string]bool{}
	for _, out := range folded {
		for _, l := range strings.Split(out, "\n") {
			if l = strings.TrimSpace(l); l != "" {
				shown[l] = true
			}
		}
	}
	lines := strings.Split(msg, "\n")
	kept := lines[:1]
	for _, l := range lines[1:] {
		if !shown[strings.TrimSpace(l)] {
			kept = append(kept, l)
		}
	}
	if len(kept) < len(lines) {
		kept[0] = strings.TrimSuffix(strings.TrimRight(kept[0], " "), ":") + " (folded below)"
	}
	return kept
}

func stateLine(d *Deployment) string {
	switch d.State {
	case StateInProgress:
		return fmt.Sprintf("⏳ in progress, step %d of %d", d.Step+1, len(d.Steps))
	case StateAwaitingApproval:
		return "✋ awaiting approval"
	case StateQueued:
		return "🕒 queued"
	}
	return strings.ReplaceAll(d.State, "_", " ")
}

// progress is the rollout steps with how far d got: "10% ✓ -> 50% ⏳ -> 100%".
func progress(d *Deployment) string {
	var parts []string
	for i, p := range d.Steps {
		s := fmt.Sprintf("%d%%", p)
		switch {
		case d.State == StateSucceeded || (d.State == StateInProgress && i < d.Step):
			s += " ✓"
		case d.State == StateInProgress && i == d.Step:
			s = "**" + s + "** ⏳"
		case i == d.Step && (d.State == StateFailed || d.State == StateRolledBack):
			s += " ✗"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " -> ")
}

func outcome(d *Deployment) string {
	switch d.State {
	case StateSucceeded:
		return fmt.Sprintf("✅ Deployed to %s.", d.Environment)
	case StateRolledBack:
		return fmt.Sprintf("↩️ Failed at %s and rolled back; %s serves what it served before.", stepLabel(d.Steps, d.Step), d.Environment)
	case StateFailed:
		return "❌ Failed. " + rollbackNote(d)
	case StateCancelled:
		return "🚫 Cancelled. " + rollbackNote(d)
	case StateRejected:
		return "🚫 Rejected."
	case StateExpired:
		return "⌛ Expired without enough approvals; comment /deploy again."
	}
	return ""
}

func rollbackNote(d *Deployment) string {
	var rolled, failed []string
	for _, a := range d.Artifacts {
		switch a.State {
		case "rolled_back":
			rolled = append(rolled, a.Name)
		case "rollback_failed":
			failed = append(failed, a.Name)
		}
	}
	var s []string
	if len(rolled) > 0 {
		s = append(s, "Rolled back: "+strings.Join(rolled, ", ")+".")
	}
	if len(failed) > 0 {
		s = append(s, "Rollback FAILED for "+strings.Join(failed, ", ")+"; check the environment by hand.")
	}
	return strings.Join(s, " ")
}

func stepLabel(steps []int, i int) string {
	if i < 0 || i >= len(steps) {
		return "the last step"
	}
	return fmt.Sprintf("%d%%", steps[i])
}

func cell(s string) string { return strings.ReplaceAll(strings.ReplaceAll(s, "|", "\\|"), "\n", " ") }

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}
