package repoconfig

import (
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/conveyor-dev/conveyor/internal/freezewindow"
)

var (
	environmentKeys = []string{"requires", "approvals", "rollout", "freeze"}
	approvalKeys    = []string{"count", "from"}
	rolloutKeys     = []string{"steps", "pause"}
)

func (r *reader) environment(k, v *yaml.Node) *Environment {
	e := &Environment{Name: k.Value, Line: k.Line}
	if !nameRE.MatchString(e.Name) {
		r.Add(k, "environment name %q is not allowed; use lowercase letters, digits and dashes (for example production)", e.Name)
	}
	what := "environment " + strconv.Quote(e.Name)
	r.Fields(v, what, "{requires: [staging]}", environmentKeys, func(k, v *yaml.Node) {
		switch k.Value {
		case "requires":
			e.Requires, _ = r.StrList(v, what+": requires", "requires: [staging]")
		case "approvals":
			e.Approvals = r.approvals(k, v, what)
		case "rollout":
			e.Rollout = r.rollout(k, v, what)
		case "freeze":
			list, _ := r.StrList(v, what+": freeze", `freeze: ["Fri 15:00-Mon 08:00 Europe/Berlin", "Dec 24-Dec 26 UTC"]`)
			for i, s := range list {
				if _, err := freezewindow.Parse(s); err != nil {
					r.Add(nodeAt(v, i), "%s: freeze %v", what, err)
					continue
				}
				e.Freeze = append(e.Freeze, s)
			}
		}
	})
	return e
}

func (r *reader) approvals(k, v *yaml.Node, what string) Approvals {
	var a Approvals
	what += ": approvals"
	example := `approvals: {count: 2, from: ["@acme/sre"]}`
	r.Fields(v, what, example, approvalKeys, func(k, v *yaml.Node) {
		switch k.Value {
		case "count":
			if n, ok := r.Integer(v, what+".count", "count: 2"); ok {
				if n < 0 {
					r.Add(v, "%s.count must not be negative; write 0 for none or for example count: 2", what)
				} else {
					a.Count = n
				}
			}
		case "from":
			list, _ := r.StrList(v, what+".from", `from: ["@acme/sre"]`)
			a.From = trimAt(list)
		}
	})
	if a.Count > 0 && len(a.From) == 0 && !hasKey(v, "from") {
		r.Add(k, "%s needs from, the teams or users who may approve; write for example %s", what, example)
	}
	return a
}

func (r *reader) rollout(k, v *yaml.Node, what string) Rollout {
	var ro Rollout
	what += ": rollout"
	example := "rollout: {steps: [10, 50, 100], pause: 2m}"
	haveSteps := false
	r.Fields(v, what, example, rolloutKeys, func(k, v *yaml.Node) {
		switch k.Value {
		case "steps":
			haveSteps = true
			ro.Steps = r.steps(v, what)
		case "pause":
			vv := resolve(v)
			if vv == nil || vv.Kind != yaml.ScalarNode || vv.Tag != "!!str" {
				r.Add(v, "%s.pause must be a duration, not %s; write for example pause: 2m", what, describe(v))
				return
			}
			d, err := time.ParseDuration(vv.Value)
			if err != nil || d < 0 {
				r.Add(v, "%s.pause %q is not a duration; write for example pause: 2m or pause: 30s", what, vv.Value)
				return
			}
			ro.Pause = d
		}
	})
	if !haveSteps && !isNull(resolve(v)) && resolve(v).Kind == yaml.MappingNode {
		r.Add(k, "%s needs steps; write for example %s", what, example)
	}
	return ro
}

// steps reads rollout percentages: ascending, each 1..100, ending at 100.
func (r *reader) steps(v *yaml.Node, what string) []int {
	example := "steps: [10, 50, 100]"
	v = resolve(v)
	if v == nil || v.Kind != yaml.SequenceNode || len(v.Content) == 0 {
		r.Add(v, "%s.steps must be a list of percentages, not %s; write for example %s", what, describe(v), example)
		return nil
	}
	var steps []int
	prev := 0
	for _, it := range v.Content {
		n, ok := r.Integer(it, what+".steps entries", example)
		if !ok {
			return nil
		}
		switch {
		case n < 1 || n > 100:
			r.Add(it, "%s.steps: %d is not a percentage between 1 and 100; write for example %s", what, n, example)
			return nil
		case n <= prev:
			r.Add(it, "%s.steps must go up: %d does not follow %d; write for example %s", what, n, prev, example)
			return nil
		}
		steps = append(steps, n)
		prev = n
	}
	if prev != 100 {
		r.Add(v.Content[len(v.Content)-1], "%s.steps must end at 100 so the rollout completes; write for example %s", what, example)
		return nil
	}
	return steps
}

// checkRequires reports requires entries naming undefined environments, an
// environment requiring itself, and cycles.
func (r *reader) checkRequires(c *Config, envNode *yaml.Node) {
	byName := map[string]*Environment{}
	for _, e := range c.Environments {
		byName[e.Name] = e
	}
	names := make([]string, 0, len(c.Environments))
	for _, e := range c.Environments {
		names = append(names, e.Name)
	}
	for _, e := range c.Environments {
		valid := e.Requires[:0:0]
		for i, req := range e.Requires {
			at := requiresNode(envNode, e.Name, i)
			switch {
			case req == e.Name:
				r.Add(at, "environment %q requires itself; remove %q from its requires", e.Name, req)
			case byName[req] == nil:
				hint := "define it under environments or remove it"
				if s := nearest(req, names); s != "" {
					hint = "did you mean " + strconv.Quote(s) + "?"
				}
				r.Add(at, "environment %q requires %q, which is not defined; %s", e.Name, req, hint)
			default:
				valid = append(valid, req)
			}
		}
		e.Requires = valid
	}
	// Cycle detection over the remaining edges.
	state := map[string]int{} // 0 new, 1 on stack, 2 done
	var visit func(name string, stack []string) bool
	visit = func(name string, stack []string) bool {
		switch state[name] {
		case 1:
			start := 0
			for i, s := range stack {
				if s == name {
					start = i
				}
			}
			cycle := append(append([]string{}, stack[start:]...), name)
			r.Add(requiresNode(envNode, name, -1), "environments require each other in a cycle (%s); remove one of these requires", strings.Join(cycle, " -> "))
			return true
		case 2:
			return false
		}
		state[name] = 1
		for _, req := range byName[name].Requires {
			if visit(req, append(stack, name)) {
				state[name] = 2
				return true
			}
		}
		state[name] = 2
		return false
	}
	for _, e := range c.Environments {
		if state[e.Name] == 0 {
			visit(e.Name, nil)
		}
	}
}

// requiresNode finds the node of environments.<env>.requires[i] (or the
// environment's key when i < 0) for positions.
func requiresNode(envs *yaml.Node, env string, i int) *yaml.Node {
	envs = resolve(envs)
	if envs == nil || envs.Kind != yaml.MappingNode {
		return nil
	}
	for j := 0; j+1 < len(envs.Content); j += 2 {
		if envs.Content[j].Value != env {
			continue
		}
		if i < 0 {
			return envs.Content[j]
		}
		m := resolve(envs.Content[j+1])
		if m == nil || m.Kind != yaml.MappingNode {
			return envs.Content[j]
		}
		for l := 0; l+1 < len(m.Content); l += 2 {
			if m.Content[l].Value == "requires" {
				return nodeAt(m.Content[l+1], i)
			}
		}
		return envs.Content[j]
	}
	return nil
}
