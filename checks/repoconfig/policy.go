package repoconfig

import "github.com/conveyor-dev/conveyor/policies"

// PolicyResources is the artifact's per-replica request as the policy input
// carries it (memory in GiB).
func (a *Artifact) PolicyResources() policies.Resources {
	r := a.Resources
	return policies.Resources{CPU: r.CPU, MemoryGiB: float64(r.MemoryBytes) / (1 << 30), GPU: r.GPU, Replicas: r.Replicas}
}

// PolicyConfig is the environment's block as the policy input carries it:
// lists never null, the pause as a Go duration string ("" when none).
func (e *Environment) PolicyConfig() policies.EnvironmentConfig {
	c := policies.EnvironmentConfig{
		Requires:  orEmpty(e.Requires),
		Approvals: policies.ApprovalConfig{Count: e.Approvals.Count, From: orEmpty(e.Approvals.From)},
		Rollout:   policies.Rollout{Steps: e.Rollout.Steps},
		Freeze:    orEmpty(e.Freeze),
	}
	if c.Rollout.Steps == nil {
		c.Rollout.Steps = []int{}
	}
	if e.Rollout.Pause > 0 {
		c.Rollout.Pause = e.Rollout.Pause.String()
	}
	return c
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
