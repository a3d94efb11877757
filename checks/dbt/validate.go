package dbt

import (
	"fmt"
	"sort"
	"strings"
)

// Validate reports what keeps the project from building: the problems found
// while loading (malformed YAML, bad Jinja, duplicate model names), every
// ref() and source() that resolves to nothing (refs into declared packages
// are allowed), and every cycle of refs. Problems are sorted by file and line.
func (p *Project) Validate() []Problem {
	if p == nil {
		return nil
	}
	out := append([]Problem(nil), p.problems...)
	res := newResolver(p)
	for _, key := range p.ModelKeys() {
		m := p.Models[key]
		for _, r := range m.Refs {
			if _, external, ok := res.resolve(r); !ok {
				out = append(out, Problem{File: m.Path, Line: r.Line, Message: unresolvedRef(p, r, external)})
			}
		}
		for _, s := range m.SourceRefs {
			if _, ok := p.Sources[s.Source+"."+s.Table]; !ok {
				out = append(out, Problem{File: m.Path, Line: s.Line, Message: fmt.Sprintf(
					"source('%s', '%s') is not declared: add table %s under source %s in a schema .yml under %s, or fix the name",
					s.Source, s.Table, s.Table, s.Source, p.Dir)})
			}
		}
	}
	g := p.Graph()
	for _, cycle := range g.Cycles() {
		first := p.Models[cycle[0]]
		line := 0
		in := map[string]bool{}
		for _, k := range cycle {
			in[k] = true
		}
		for _, r := range first.Refs {
			if key, _, ok := res.resolve(r); ok && in[key] {
				line = r.Line
				break
			}
		}
		out = append(out, Problem{File: first.Path, Line: line, Message: fmt.Sprintf(
			"models ref each other in a cycle (%s): dbt cannot order them; remove one ref() so the lineage flows one way",
			strings.Join(cycle, " -> "))})
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].File != out[j].File {
			return out[i].File < out[j].File
		}
		return out[i].Line < out[j].Line
	})
	return out
}

func unresolvedRef(p *Project, r Ref, external bool) string {
	if external {
		declared := "none are declared"
		if len(p.Packages) > 0 {
			declared = "declared: " + strings.Join(p.Packages, ", ")
		}
		return fmt.Sprintf("%s points into package %q, which packages.yml does not declare (%s): add it to packages.yml or fix the package name",
			describeRef(r), r.Package, declared)
	}
	if r.Version != "" {
		if _, ok := p.Models[r.Name]; ok || hasVersions(p, r.Name) {
			return fmt.Sprintf("%s names a version model %s does not have: use an existing version or add it under versions:", describeRef(r), r.Name)
		}
	}
	msg := fmt.Sprintf("%s names no model in project %s: add models/.../%s.sql or fix the name", describeRef(r), p.Name, r.Name)
	if close := closestModel(p, r.Name); close != "" {
		msg += fmt.Sprintf(" (did you mean '%s'?)", close)
	}
	return msg
}

func hasVersions(p *Project, name string) bool {
	for _, m := range p.Models {
		if m.Name == name && m.Version != "" {
			return true
		}
	}
	return false
}

// closestModel suggests a model whose name differs only by case or a
// common prefix/suffix typo; it is cheap on purpose.
func closestModel(p *Project, name string) string {
	lower := strings.ToLower(name)
	best := ""
	for _, m := range p.Models {
		if strings.ToLower(m.Name) == lower || strings.TrimSuffix(m.Name, "s") == strings.TrimSuffix(name, "s") {
			if best == "" || m.Name < best {
				best = m.Name
			}
		}
	}
	return best
}
