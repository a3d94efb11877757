package dbt

import (
	"fmt"
	"sort"
	"strings"
)

// Problem is one thing wrong with a dbt project, located at a repo-relative
// file and a 1-based line (0 when the whole file is meant).
type Problem struct {
	File    string
	Line    int
	Message string
}

// String formats the problem as file:line: message.
func (p Problem) String() string {
	if p.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Message)
	}
	return fmt.Sprintf("%s: %s", p.File, p.Message)
}

// LoadOptions tunes Load.
type LoadOptions struct {
	// ManifestPath is a manifest.json relative to the project folder. Empty
	// means target/manifest.json when that file exists, else parse sources.
	ManifestPath string
	// IgnoreManifest parses the sources even when target/manifest.json exists.
	IgnoreManifest bool
}

// Project is one dbt project as read from a repository.
type Project struct {
	// Name is the `name:` of dbt_project.yml.
	Name string
	// Dir is the project folder inside the repository ("analytics").
	Dir string
	// Models maps a model key to the model: its name, or name.v<N> for a
	// version of a versioned model.
	Models map[string]*Model
	// Sources maps "source_name.table_name" to the source table.
	Sources map[string]*Source
	// Packages are the names refs may use as a package: those declared in
	// packages.yml / dependencies.yml (hub name without the org, git or local
	// folder name, or a dependencies.yml project name), sorted.
	Packages []string
	// FromManifest reports that models came from a manifest.json.
	FromManifest bool

	problems []Problem // found while loading; Validate repeats them
}

// Model is one dbt model (or one version of a versioned model).
type Model struct {
	Name string
	// Path is the repo-relative path of the model's SQL file.
	Path string
	// SQL is the raw file content, Jinja included.
	SQL        string
	Refs       []Ref
	SourceRefs []SourceRef
	// Config holds the model's configs merged from dbt_project.yml, the
	// schema YAML and {{ config(...) }} (later wins). Scalars are plain text;
	// lists and dicts are kept as raw text.
	Config map[string]string
	// Columns are the columns declared in YAML, in declaration order.
	Columns []Column
	// Constraints are model-level constraints (constraints: on the model).
	Constraints []Constraint
	// Tests counts generic tests on the model and its columns, singular tests
	// referencing it and unit tests targeting it.
	Tests            int
	ContractEnforced bool
	// Version is the model version ("" when unversioned); LatestVersion is
	// the latest_version of a versioned model (the highest v when unset).
	Version, LatestVersion string
	// YAMLFile and YAMLLine locate the model's schema YAML entry, if any.
	YAMLFile string
	YAMLLine int
	// Checksums identify the model's state, as dbt's state:modified does.
	Checksums Checksums

	sqlConfig map[string]string // config() of the SQL file, which wins over YAML
}

// Checksums are the digests state comparison uses: the raw SQL file, the
// merged config, and the model's schema YAML entry.
type Checksums struct {
	Body, Config, YAML string
}

// Column is a column declared for a model.
type Column struct {
	Name     string
	DataType string
	// Constraints are the constraint types (not_null, primary_key, unique,
	// check, foreign_key, custom), lower-case, in declaration order.
	Constraints []string
	Tests       int
	Line        int
}

// Constraint is a model-level constraint.
type Constraint struct {
	Type    string
	Columns []string
	Line    int
}

// Ref is one ref() call.
type Ref struct {
	Package, Name string
	Version       string
	Line          int
}

// SourceRef is one source() call.
type SourceRef struct {
	Source, Table string
	Line          int
}

// Source is one table of a declared source.
type Source struct {
	SourceName, Table string
	File              string
	Line              int
}

// key returns the models map key for a model name and version.
func modelKey(name, version string) string {
	if version == "" {
		return name
	}
	return name + ".v" + version
}

// ModelKeys returns the model keys, sorted.
func (p *Project) ModelKeys() []string {
	keys := make([]string, 0, len(p.Models))
	for k := range p.Models {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// resolver finds the model a ref() points at.
type resolver struct {
	p      *Project
	latest map[string]string // name -> key of the unversioned or latest version
	pkgs   map[string]bool
}

func newResolver(p *Project) *resolver {
	r := &resolver{p: p, latest: make(map[string]string, len(p.Models)), pkgs: map[string]bool{}}
	best := map[string]string{}
	for key, m := range p.Models {
		if m.Version == "" {
			r.latest[m.Name] = key
			continue
		}
		if _, unversioned := p.Models[m.Name]; unversioned {
			continue
		}
		latest := m.LatestVersion
		if latest == m.Version || (latest == "" && versionLess(best[m.Name], m.Version)) {
			best[m.Name] = m.Version
			r.latest[m.Name] = key
		}
	}
	for _, pkg := range p.Packages {
		r.pkgs[pkg] = true
	}
	return r
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

// resolve returns the key of the model r points at, or external=true for a
// ref into a declared package; ok is false when nothing matches.
func (r *resolver) resolve(ref Ref) (key string, external, ok bool) {
	if ref.Package != "" && ref.Package != r.p.Name {
		return "", true, r.pkgs[ref.Package]
	}
	if ref.Version != "" {
		if m, found := r.p.Models[modelKey(ref.Name, ref.Version)]; found && m.Name == ref.Name {
			return modelKey(ref.Name, ref.Version), false, true
		}
		if m, found := r.p.Models[ref.Name]; found && m.Version == ref.Version {
			return ref.Name, false, true
		}
		return "", false, false
	}
	key, ok = r.latest[ref.Name]
	return key, false, ok
}

// describeRef renders a ref the way it is written in SQL.
func describeRef(r Ref) string {
	var b strings.Builder
	b.WriteString("ref(")
	if r.Package != "" {
		fmt.Fprintf(&b, "'%s', ", r.Package)
	}
	fmt.Fprintf(&b, "'%s'", r.Name)
	if r.Version != "" {
		fmt.Fprintf(&b, ", v=%s", r.Version)
	}
	b.WriteString(")")
	return b.String()
}
