package app

import (
	"context"
	"fmt"
	"strings"

	"github.com/conveyor-dev/conveyor/checks/kind"
)

// card is the developer's view on the approval card: the CI result in the
// Quality stage's own words, the change's commits and where it changed.
// The commits are the evaluation's cached answer; when they could not be
// read the line is left out (the check says so).
func card(ctx context.Context, env kind.Env, a kind.Artifact, s *Spec, quality kind.Stage) kind.Card {
	lines := []string{quality.Summary}
	if commits, err := env.Commits(ctx); err == nil && len(commits) > 0 {
		newest := commits[len(commits)-1]
		line := fmt.Sprintf("%s, newest %s %s", kind.Plural(len(commits), "commit"), kind.Short(newest.SHA), newest.Message)
		if newest.Author != "" {
			line += " (" + newest.Author + ")"
		}
		lines = append(lines, line)
	}
	lines = append(lines, fmt.Sprintf("%s under %s", kind.Plural(len(a.Files), "changed file"), strings.Join(s.Paths, ", ")))
	return kind.Card{Lines: lines}
}
