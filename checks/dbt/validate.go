package dbt

import (
	"fmt"
	"strings"
)

// Validate reports what keeps the project from building: the problems found
// while loading (malformed YAML, bad Jinja, duplicate names), every ref()
// and source() of an enabled node that resolves to nothing or only to a
// disabled node, and every cycle of refs. Problems are sorted by file and
// line. What only leaves the analysis incomplete is in Warnings.
func (p *Project) Validate() []Problem {
	if p == nil {
		return nil
	}
	out := append([]Problem(nil), p.problems...)
	res := newResolver(p)
	for _, key := range p.ModelKeys() {
		m := p.Models[key]
		for _, r := range m.Refs {
			switch _, st := res.resolve(r); st {
			case refMissing:
				out = append(out, Problem{File: m.Path, Line: r.Line, Message: unresolvedRef(p, r)})
			case refDisabled:
				out = append(out, Problem{File: m.Path, Line: r.Line, Message: fmt.Sprintf(
					"%s%s names a disabled node (enabled: false): dbt fails to compile %s; enable it, or disable %s too", describeRef(r), via(r), m.Name, m.Name)})
			}
		}
		for _, s := range m.SourceRefs {
			if res.source(s) == refMissing {
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
			if key, st := res.resolve(r); st == refRoot && in[key] {
				line = r.Line
				break
			}
		}
		out = append(out, Problem{File: first.Path, Line: line, Message: fmt.Sprintf(
			"models ref each other in a cycle (%s): dbt cannot order them; remove one ref() so the lineage flows one way",
			strings.Join(cycle, " -> "))})
	}
	sortProblems(out)
	return out
}

// Warnings reports what leaves the analysis incomplete without keeping
// the project from building: dynamic refs, packages declared but not in
// the repository, and refs that may point into such a package.
func (p *Project) Warnings() []Problem {
	if p == nil {
		return nil
	}
	out := append([]Problem(nil), p.warnings...)
	if len(p.Unvendored) == 0 {
		return out
	}
	res := newResolver(p)
	missing := strings.Join(p.Unvendored, ", ")
	for _, key := range p.ModelKeys() {
		m := p.Models[key]
		for _, r := range m.Refs {
			if _, st := res.resolve(r); st == refUnvendored && r.Package == "" {
				out = append(out, Problem{File: m.Path, Line: r.Line, Warning: true, Message: fmt.Sprintf(
					"%s%s names no node of the project; it may be in package %s, which is not in the repository: run dbt deps, or commit dbt_packages, to check it",
					describeRef(r), via(r), missing)})
			}
		}
		for _, s := range m.SourceRefs {
			if res.source(s) == refUnvendored {
				out = append(out, Problem{File: m.Path, Line: s.Line, Warning: true, Message: fmt.Sprintf(
					"source('%s', '%s') is not declared in the project; it may be in package %s, which is not in the repository: run dbt deps, or commit dbt_packages, to check it",
					s.Source, s.Table, missing)})
			}
		}
	}
	sortProblems(out)
	return out
}

func via(r Ref) string {
	if r.Via == "" {
		return ""
	}
	return " (in macro " + r.Via + ", called here)"
}

func unresolvedRef(p *Project, r Ref) string {
	if r.Package != "" && r.Package != p.Name {
		if _, ok := p.Deps[r.Package]; ok {
			return fmt.Sprintf("%s%s: package %s has no such model, seed or snapshot; fix the name", describeRef(r), via(r), r.Package)
		}
		declared := "none are declared"
		if len(p.Packages) > 0 {
			declared = "declared: " + strings.Join(p.Packages, ", ")
		}
		return fmt.Sprintf("%s%s points into package %q, which packages.yml does not declare (%s): add it to packages.yml or fix the package name",
			describeRef(r), via(r), r.Package, declared)
	}
	if r.Version != "" {
		if _, ok := p.Models[r.Name]; ok || hasVersions(p, r.Name) {
			return fmt.Sprintf("%s%s names a version model %s does not have: use an existing version or add it under versions:", describeRef(r), via(r), r.Name)
		}
	}
	msg := fmt.Sprintf("%s%s names no model, seed or snapshot in project %s or its installed packages: add models/.../%s.sql or fix the name", describeRef(r), via(r), p.Name, r.Name)
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
