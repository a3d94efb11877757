package commands

import (
	"context"
	"fmt"
	"strings"

	"github.com/conveyor-dev/conveyor/deploy"
)

// repoWebURL is the repository's web page, taken from the PR's html_url so
// that GitHub Enterprise hosts link to themselves ("https://HOST/OWNER/REPO").
func repoWebURL(prURL string) string {
	i := strings.LastIndex(prURL, "/pull/")
	if i < 0 {
		return ""
	}
	return prURL[:i]
}

// compareLink links GitHub's compare view from what serves to the head
// (https://docs.github.com/en/pull-requests/committing-changes-to-your-project/viewing-and-comparing-commits/comparing-commits:
// BASE...HEAD shows what HEAD adds since their merge base).
func compareLink(web, serving, head string) string {
	if web == "" || serving == "" || head == "" {
		return ""
	}
	if serving == head {
		return "already serving this head"
	}
	return fmt.Sprintf("[`%s...%s`](%s/compare/%s...%s)", short(serving), short(head), web, serving, head)
}

// servingIn is what serves in env, by artifact, from the engine's report;
// nil when no engine is configured or it cannot tell.
func (s *session) servingIn(ctx context.Context, env string) map[string]deploy.ArtifactStatus {
	if s.h.o.Deployer == nil {
		return nil
	}
	rep, err := s.h.o.Deployer.Status(ctx, s.repo)
	if err != nil {
		s.h.log.Warn("what serves could not be read", "repo", s.repo, "err", err)
		return nil
	}
	for _, e := range rep.Environments {
		if e.Name == env {
			out := map[string]deploy.ArtifactStatus{}
			for _, a := range e.Artifacts {
				if a.Serving != "" {
					out[a.Name] = a
				}
			}
			return out
		}
	}
	return map[string]deploy.ArtifactStatus{}
}

// servingDiffs is /status's section on what this PR would change: for each
// environment and each commit serving there, the compare view from that
// commit to the PR's head.
func servingDiffs(rep *deploy.StatusReport, pr *prInfo) string {
	if rep == nil || pr == nil || pr.CurrentHead == "" {
		return ""
	}
	web := repoWebURL(pr.URL)
	var lines []string
	for _, e := range rep.Environments {
		bySHA := map[string][]string{}
		var order []string
		for _, a := range e.Artifacts {
			if a.Serving == "" || a.SHA == "" {
				continue
			}
			if _, ok := bySHA[a.SHA]; !ok {
				order = append(order, a.SHA)
			}
			bySHA[a.SHA] = append(bySHA[a.SHA], a.Name)
		}
		for _, sha := range order {
			if l := compareLink(web, sha, pr.CurrentHead); l != "" {
				lines = append(lines, fmt.Sprintf("- %s (%s at `%s`): %s", e.Name, strings.Join(bySHA[sha], ", "), short(sha), l))
			}
		}
	}
	if len(lines) == 0 {
		return ""
	}
	return fmt.Sprintf("\n**This PR's head `%s` against what serves**\n%s\n", short(pr.CurrentHead), strings.Join(lines, "\n"))
}
