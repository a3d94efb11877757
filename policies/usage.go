package policies

import (
	"context"
	"slices"
	"strings"
)

// Fleet is what serves in an environment in the other repositories, as
// artifacts with their owners and resources (the deploy engine answers
// it): a team's quota holds across every repository the team deploys
// from, not per repository.
type Fleet interface {
	RunningElsewhere(ctx context.Context, repo, env string) ([]Artifact, error)
}

// FleetUsage is TeamUsage over local (what serves in env from repo itself)
// and, when fleet is not nil, what serves there from every other
// repository.
func FleetUsage(ctx context.Context, fleet Fleet, repo, env string, local []Artifact) (map[string]map[string]Usage, error) {
	running := local
	if fleet != nil {
		others, err := fleet.RunningElsewhere(ctx, repo, env)
		if err != nil {
			return nil, err
		}
		running = append(slices.Clip(local), others...)
	}
	return TeamUsage(env, running), nil
}

// TeamUsage sums, per owning team, what runs in environment env now: the
// resources (per replica, times replicas) of every artifact in running. It is
// a fact for the quota rules (input.usage), not a decision: the caller passes
// the artifacts that serve in env, leaving out the candidates themselves.
// Owners that are users ("@octocat"), not teams ("@acme/ml"), have no quota.
func TeamUsage(env string, running []Artifact) map[string]map[string]Usage {
	out := map[string]map[string]Usage{}
	for _, t := range teamSums(running) {
		out[t.team] = map[string]Usage{env: t.usage}
	}
	return out
}

// teamUsage is one team's sum in teamSums.
type teamUsage struct {
	team  string
	usage Usage
}

// teamSums is TeamUsage's sum for one environment, as a list sorted by team.
func teamSums(running []Artifact) []teamUsage {
	var out []teamUsage
	for _, a := range running {
		r := float64(a.Resources.Replicas)
		if r < 1 {
			r = 1
		}
		for i, o := range a.Owners {
			team := strings.TrimPrefix(o, "@")
			if !isTeam(team) || slices.ContainsFunc(a.Owners[:i], func(p string) bool { return strings.TrimPrefix(p, "@") == team }) {
				continue // a user, or the team named twice: counted once
			}
			j := slices.IndexFunc(out, func(t teamUsage) bool { return t.team == team })
			if j < 0 {
				j = len(out)
				out = append(out, teamUsage{team: team})
			}
			u := &out[j].usage
			u.CPU += a.Resources.CPU * r
			u.MemoryGiB += a.Resources.MemoryGiB * r
			u.GPU += a.Resources.GPU * r
		}
	}
	slices.SortFunc(out, func(a, b teamUsage) int { return strings.Compare(a.team, b.team) })
	return out
}

func isTeam(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '/' {
			return i > 0 && i < len(s)-1
		}
	}
	return false
}
