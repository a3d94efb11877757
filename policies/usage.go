package policies

// TeamUsage sums, per owning team, what runs in environment env now: the
// resources (per replica, times replicas) of every artifact in running. It is
// a fact for the quota rules (input.usage), not a decision: the caller passes
// the artifacts that serve in env, leaving out the candidates themselves.
// Owners that are users ("@octocat"), not teams ("@acme/ml"), have no quota.
func TeamUsage(env string, running []Artifact) map[string]map[string]Usage {
	out := map[string]map[string]Usage{}
	for _, a := range running {
		r := float64(a.Resources.Replicas)
		if r < 1 {
			r = 1
		}
		seen := map[string]bool{}
		for _, o := range a.Owners {
			team := o
			if len(team) > 0 && team[0] == '@' {
				team = team[1:]
			}
			if seen[team] || !isTeam(team) {
				continue
			}
			seen[team] = true
			if out[team] == nil {
				out[team] = map[string]Usage{}
			}
			u := out[team][env]
			u.CPU += a.Resources.CPU * r
			u.MemoryGiB += a.Resources.MemoryGiB * r
			u.GPU += a.Resources.GPU * r
			out[team][env] = u
		}
	}
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
