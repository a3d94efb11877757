package checks

import (
	"context"
	"fmt"
	"strings"

	"github.com/conveyor-dev/conveyor/checks/repoconfig"
)

// passingCI are the CI conclusions that let an artifact through.
var passingCI = map[string]bool{"success": true, "neutral": true, "skipped": true}

// app evaluates an app: its config and paths, then the CI checks it lists.
func (r *run) app(ctx context.Context, a *repoconfig.Artifact, files []string) kindResult {
	k := kindResult{validate: Stage{Result: Pass,
		Summary: fmt.Sprintf("config valid; %s under %s", plural(len(files), "changed file"), strings.Join(a.Paths, ", "))}}
	ci, err := r.ciResults(ctx)
	if err != nil {
		k.quality = Stage{Result: Error, Summary: "CI results could not be read; retry with Re-run", Details: []string{err.Error()}}
		return k
	}
	k.evidence.ci = map[string]string{}
	var failed, waiting, passed []string
	var rows []string
	for _, name := range a.CI {
		c, ok := ci[name]
		state := "not reported yet"
		switch {
		case !ok || c.Status != StatusCompleted:
			if ok {
				state = strings.ReplaceAll(c.Status, "_", " ")
			}
			waiting = append(waiting, name)
			k.evidence.ci[name] = "pending"
		case passingCI[c.Conclusion]:
			state = c.Conclusion
			passed = append(passed, name)
			k.evidence.ci[name] = c.Conclusion
		default:
			state = c.Conclusion
			failed = append(failed, name+" ("+c.Conclusion+")")
			k.evidence.ci[name] = c.Conclusion
		}
		rows = append(rows, fmt.Sprintf("| `%s` | %s %s |", name, icon(ciIcon(ok, c)), state))
	}
	switch {
	case len(a.CI) == 0:
		k.quality = Stage{Result: Pass, Summary: "no CI checks listed (add ci: [\"build\"] to require some)"}
	case len(failed) > 0:
		k.quality = Stage{Result: Fail, Summary: "CI failed: " + strings.Join(failed, ", ")}
	case len(waiting) > 0:
		k.quality = Stage{Result: Wait, Summary: "waiting for CI: " + strings.Join(waiting, ", ")}
	default:
		k.quality = Stage{Result: Pass, Summary: "CI passed: " + strings.Join(passed, ", ")}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "### CI on `%s`\n\n", short(r.ch.HeadSHA))
	if len(rows) > 0 {
		b.WriteString("| check | result |\n|---|---|\n")
		b.WriteString(strings.Join(rows, "\n"))
		b.WriteString("\n")
	} else {
		b.WriteString("No CI checks are listed for this app.\n")
	}
	writeCommits(&b, r, ctx)
	b.WriteString("\n### Changed files\n\n")
	writeList(&b, files, 20)
	k.persona = b.String()
	return k
}

// maxListedCommits is how many of the newest commits the app check lists.
const maxListedCommits = 10

// writeCommits lists the change's newest commits. They only inform: a list
// that cannot be read is said so and changes no stage.
func writeCommits(b *strings.Builder, r *run, ctx context.Context) {
	commits, err := r.commitList(ctx)
	switch {
	case err != nil:
		b.WriteString("\n### Commits\n\nThe commits of this change could not be read; they show again on the next evaluation.\n")
		return
	case len(commits) == 0:
		return
	}
	fmt.Fprintf(b, "\n### Commits (%d)\n\n", len(commits))
	if n := len(commits) - maxListedCommits; n > 0 {
		fmt.Fprintf(b, "- … %s before these\n", plural(n, "older commit"))
		commits = commits[n:]
	}
	for _, c := range commits {
		fmt.Fprintf(b, "- `%s` %s", short(c.SHA), cell(c.Message))
		if c.Author != "" {
			fmt.Fprintf(b, " (%s)", cell(c.Author))
		}
		b.WriteString("\n")
	}
}

func ciIcon(ok bool, c CIResult) string {
	switch {
	case !ok || c.Status != StatusCompleted:
		return Wait
	case passingCI[c.Conclusion]:
		return Pass
	}
	return Fail
}
