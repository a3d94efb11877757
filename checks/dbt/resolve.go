package dbt

import (
	"fmt"
	"sort"
)

// refState says what a ref() resolved to.
type refState byte

const (
	refMissing    refState = iota // nothing of that name: dbt fails to compile
	refRoot                       // a node of the project (key is set)
	refPackage                    // a node of an installed package
	refUnvendored                 // may be a node of a package not in the repository
	refDisabled                   // only a disabled node has that name: dbt fails
)

// resolver finds the node a ref() points at, in the order dbt's
// Manifest.resolve_ref searches: the named package, else the project and
// then every installed package; enabled nodes first, disabled ones last.
type resolver struct {
	p      *Project
	latest map[string]string // name -> key of the unversioned or latest version
	off    map[string]bool   // names of disabled nodes
	deps   map[string]*resolver
	pkgs   map[string]bool
}

func newResolver(p *Project) *resolver {
	r := &resolver{p: p, latest: latestKeys(p.Models), off: map[string]bool{}, deps: map[string]*resolver{}, pkgs: map[string]bool{}}
	for _, m := range p.Disabled {
		r.off[m.Name] = true
	}
	names := make([]string, 0, len(p.Deps))
	for name := range p.Deps {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		r.deps[name] = newResolver(p.Deps[name])
	}
	for _, pkg := range p.Packages {
		r.pkgs[pkg] = true
	}
	return r
}

// latestKeys maps each name to its unversioned node or its latest version
// (latest_version, else the highest v), which an unpinned ref() means.
func latestKeys(models map[string]*Model) map[string]string {
	latest := make(map[string]string, len(models))
	best := map[string]string{}
	for key, m := range models {
		if m.Version == "" {
			latest[m.Name] = key
			continue
		}
		if _, unversioned := models[m.Name]; unversioned {
			continue
		}
		if m.LatestVersion == m.Version || (m.LatestVersion == "" && versionLess(best[m.Name], m.Version)) {
			best[m.Name] = m.Version
			latest[m.Name] = key
		}
	}
	return latest
}

// versionLess orders versions numerically when both are numbers.
func versionLess(a, b string) bool {
	if a == "" {
		return true
	}
	var x, y float64
	if _, err := fmt.Sscan(a, &x); err == nil {
		if _, err := fmt.Sscan(b, &y); err == nil {
			return x < y
		}
	}
	return a < b
}

// local resolves a ref among this project's own nodes.
func (r *resolver) local(ref Ref) (string, refState) {
	if ref.Version != "" {
		if m, found := r.p.Models[modelKey(ref.Name, ref.Version)]; found && m.Name == ref.Name {
			return modelKey(ref.Name, ref.Version), refRoot
		}
		if m, found := r.p.Models[ref.Name]; found && m.Version == ref.Version {
			return ref.Name, refRoot
		}
	} else if key, ok := r.latest[ref.Name]; ok {
		return key, refRoot
	}
	if r.off[ref.Name] {
		return "", refDisabled
	}
	return "", refMissing
}

// resolve returns the project key a ref points at (refRoot), or where else
// it points.
func (r *resolver) resolve(ref Ref) (string, refState) {
	if ref.Package != "" && ref.Package != r.p.Name {
		if dep, ok := r.deps[ref.Package]; ok {
			if _, st := dep.local(ref); st == refRoot {
				return "", refPackage
			} else if st == refDisabled {
				return "", refDisabled
			}
			return "", refMissing
		}
		if len(r.p.Unvendored) > 0 || r.pkgs[ref.Package] {
			return "", refUnvendored
		}
		return "", refMissing
	}
	key, st := r.local(ref)
	if st == refRoot || ref.Package != "" {
		return key, st
	}
	disabled := st == refDisabled
	for _, dep := range r.deps {
		switch _, s := dep.local(ref); s {
		case refRoot:
			return "", refPackage
		case refDisabled:
			disabled = true
		}
	}
	switch {
	case disabled:
		return "", refDisabled
	case len(r.p.Unvendored) > 0:
		return "", refUnvendored
	}
	return "", refMissing
}

// source resolves a source() among the project's and its packages' sources.
func (r *resolver) source(s SourceRef) refState {
	key := s.Source + "." + s.Table
	if _, ok := r.p.Sources[key]; ok {
		return refRoot
	}
	for _, dep := range r.deps {
		if _, ok := dep.p.Sources[key]; ok {
			return refPackage
		}
	}
	if len(r.p.Unvendored) > 0 {
		return refUnvendored
	}
	return refMissing
}
