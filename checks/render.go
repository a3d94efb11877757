package checks

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/conveyor-dev/conveyor/checks/kind"
	"github.com/conveyor-dev/conveyor/checks/repoconfig"
)

// Render formats the result as "text" (a terminal), "markdown" (the check
// run summaries, gate first) or "json". An unknown format renders text.
func (r *Result) Render(format string) string {
	switch format {
	case "json":
		b, err := json.MarshalIndent(r, "", "  ")
		if err != nil {
			return fmt.Sprintf("{\"error\": %q}", err.Error())
		}
		return string(b) + "\n"
	case "markdown":
		var b strings.Builder
		fmt.Fprintf(&b, "## %s: %s\n\n%s\n", GateName, r.Gate.Title, r.Gate.summary())
		for _, a := range r.Artifacts {
			fmt.Fprintf(&b, "\n## %s: %s\n\n%s\n%s", CheckName(a.Name), a.Title, a.summary(), a.text())
		}
		return b.String()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s  %s: %s\n", stateWord(r.Gate.Status, r.Gate.Conclusion), GateName, r.Gate.Title)
	for _, p := range r.Gate.Problems {
		fmt.Fprintf(&b, "    %s\n", p)
	}
	if len(r.Gate.Governance) > 0 {
		fmt.Fprintf(&b, "    %s:\n", GovernanceHeading)
		for _, c := range r.Gate.Governance {
			fmt.Fprintf(&b, "      %s\n", c)
		}
	}
	if len(r.Gate.Unowned) > 0 {
		fmt.Fprintf(&b, "    files no artifact owns: %s\n", strings.Join(r.Gate.Unowned, ", "))
	}
	for _, a := range r.Artifacts {
		fmt.Fprintf(&b, "%s  %s (%s): %s\n", stateWord(a.Status, a.Conclusion), CheckName(a.Name), a.Kind, a.Title)
		for _, s := range a.Stages {
			fmt.Fprintf(&b, "    %-9s %-5s %s\n", s.Name, s.Result, s.Summary)
			for _, d := range s.Details {
				fmt.Fprintf(&b, "              %s\n", d)
			}
		}
		for _, an := range a.Annotations {
			fmt.Fprintf(&b, "    %s:%d: %s\n", an.Path, an.Line, an.Message)
		}
	}
	return b.String()
}

func stateWord(status, conclusion string) string {
	if status != StatusCompleted {
		return "WAIT"
	}
	if conclusion == Success {
		return "PASS"
	}
	return "FAIL"
}

// summary is the artifact check's summary: the four-stage table, then the
// kind's own view.
func (a *ArtifactResult) summary() string {
	var b strings.Builder
	b.WriteString("| stage | result | details |\n|---|---|---|\n")
	for _, s := range a.Stages {
		fmt.Fprintf(&b, "| %s | %s %s | %s |\n", s.Name, kind.Icon(s.Result), s.Result, kind.Cell(s.Summary))
	}
	if a.Persona != "" {
		b.WriteString("\n" + a.Persona)
	}
	return b.String()
}

// text is the artifact check's details: every stage's full findings.
func (a *ArtifactResult) text() string {
	var b strings.Builder
	for _, s := range a.Stages {
		if len(s.Details) == 0 {
			continue
		}
		fmt.Fprintf(&b, "#### %s\n\n", s.Name)
		for _, d := range s.Details {
			fmt.Fprintf(&b, "- %s\n", d)
		}
		b.WriteString("\n")
	}
	return b.String()
}

func (g *GateResult) summary() string {
	var b strings.Builder
	if len(g.Problems) > 0 {
		fmt.Fprintf(&b, "**%s has problems** (annotated on the file):\n\n", configPath)
		for _, p := range g.Problems {
			fmt.Fprintf(&b, "- %s\n", p)
		}
		b.WriteString("\n")
	}
	if len(g.Artifacts) == 0 {
		b.WriteString("No artifacts touched: no file of this change belongs to an artifact in " + configPath + ".\n")
	} else {
		b.WriteString("| artifact | kind | result | details |\n|---|---|---|---|\n")
		for _, r := range g.Artifacts {
			res := Pass
			switch {
			case r.Status != StatusCompleted:
				res = Wait
			case r.Conclusion != Success:
				res = Fail
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", r.Name, r.Kind, kind.Icon(res), kind.Cell(r.Title))
		}
	}
	if len(g.Governance) > 0 {
		b.WriteString("\n" + GovernanceNotice(g.Governance))
	}
	if len(g.Unowned) > 0 {
		b.WriteString("\nFiles no artifact owns:\n\n")
		kind.WriteList(&b, g.Unowned, 30)
	}
	return b.String()
}

// cell makes text safe for one markdown table cell.

// GovernanceHeading introduces the governing fields a change edits.
const GovernanceHeading = "Governance changes take effect after merge"

// GovernanceNotice renders the governing fields a change edits as markdown:
// what applies now (the base branch's value) and what applies after merge.
func GovernanceNotice(changes []repoconfig.GovernanceChange) string {
	var b strings.Builder
	fmt.Fprintf(&b, "**%s.** This pull request edits what governs in %s; it is checked and deployed under the base branch's values until it is merged:\n\n", GovernanceHeading, configPath)
	b.WriteString("| field | base (applies now) | this PR (after merge) |\n|---|---|---|\n")
	for _, c := range changes {
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", c.Field, kind.Cell(c.Base), kind.Cell(c.Head))
	}
	return b.String()
}
