package policies

import (
	"github.com/conveyor-dev/conveyor/internal/resources"
	"github.com/conveyor-dev/conveyor/internal/serverconfig"
)

// configData is the server config as policies see it, data.conveyor.config:
//
//	{"teams": {"acme/ml": {"quota": {"production": {"cpu": 64, "memory_gib": 256, "gpu": 8}}}},
//	 "pricing": {"cpu_hour": ..., "cost_gate_usd": 500, "finance_team": "acme/finance"},
//	 "policies": {"override_teams": ["acme/ml-leads"]}}
//
// Only facts are translated here; what they mean is decided in Rego.
func configData(c *serverconfig.Config) (map[string]any, error) {
	if c == nil {
		c = serverconfig.Default()
	}
	teams := map[string]any{}
	for name, t := range c.Teams {
		quota := map[string]any{}
		for env, q := range t.Quota {
			mem := q.MemoryBytes
			if mem == 0 && q.Memory != "" {
				b, err := resources.ParseMemory(q.Memory)
				if err != nil {
					return nil, err
				}
				mem = b
			}
			quota[env] = map[string]any{
				"cpu":        q.CPU,
				"memory_gib": float64(mem) / (1 << 30),
				"gpu":        q.GPU,
			}
		}
		teams[name] = map[string]any{"quota": quota}
	}
	override := make([]any, len(c.Policies.OverrideTeams))
	for i, t := range c.Policies.OverrideTeams {
		override[i] = t
	}
	p := c.Pricing
	return map[string]any{
		"teams": teams,
		"pricing": map[string]any{
			"cpu_hour":        p.CPUHour,
			"memory_gib_hour": p.MemoryGiBHour,
			"gpu_hour":        p.GPUHour,
			"cost_gate_usd":   p.CostGateUSD,
			"finance_team":    p.FinanceTeam,
		},
		"policies": map[string]any{"override_teams": override},
	}, nil
}
