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
	// Warning marks what does not keep the project from building but
	// leaves the analysis incomplete (a dynamic ref, an unvendored package).
	Warning bool
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
	// IgnoreManifest parses the sources even when target/manifest.json
	// exists or ManifestPath is set.
	IgnoreManifest bool
	// Manifest is a manifest.json dbt wrote for this very commit (the
	// project's CI uploaded it); it wins over ManifestPath and is not
	// checked for staleness. ManifestName names it in problems.
	Manifest     []byte
	ManifestName string
	// Adapter is the dbt adapter type the project runs on ("snowflake"),
	// as the repository config names it; it wins over the manifest's
	// metadata.adapter_type and a committed profiles.yml.
	Adapter string
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
	// Adapter is the adapter type the project runs on (LoadOptions.Adapter,
	// else the manifest's metadata.adapter_type, else the type of the
	// profile's target in a profiles.yml in the project folder); "" when
	// unknown. It decides which removed constraints break a contract.
	Adapter string
	// Disabled are nodes configured enabled: false (in a config block, YAML
	// or dbt_project.yml): dbt does not build them and does not resolve
	// their refs.
	Disabled map[string]*Model
	// Deps are the installed packages found in the repository (under
	// packages-install-path, or local: packages), by their dbt_project.yml
	// name.
	Deps map[string]*Project
	// Unvendored are packages declared in packages.yml / dependencies.yml
	// but not found in the repository; refs into them are not checked.
	Unvendored []string
	// Macros are the macros of the project and its installed packages, by
	// "package.name".
	Macros map[string]*Macro
	// Exposures are the project's declared exposures.
	Exposures []Exposure

	problems []Problem // found while loading; Validate repeats them
	warnings []Problem
}

// Macro is one {% macro %} of the project or of an installed package.
type Macro struct {
	Package, Name string
	File          string
	Line          int
	// Sum digests the macro's text (dbt compares macro_sql).
	Sum string
	// Deps are the macros it calls, by "package.name".
	Deps []string

	facts  sqlFacts
	warns  []lineError // dynamic refs inside the macro
	params []string    // its parameters, in order
}

// Exposure is a declared downstream consumer (dashboard, ML model, app).
type Exposure struct {
	Name, Type string
	DependsOn  []Ref
	File       string
	Line       int
}

// Resource types of a node.
const (
	ResourceModel    = "model"
	ResourceSeed     = "seed"
	ResourceSnapshot = "snapshot"
)

// Model is one node dbt builds: a model (SQL or Python, or one version of
// a versioned model), a seed or a snapshot; ref() names all three.
type Model struct {
	Name string
	// Resource is ResourceModel, ResourceSeed or ResourceSnapshot.
	Resource string
	// Language is "sql" or "python" (models only).
	Language string
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
	// DeprecationDate is the model's deprecation_date (YYYY-MM-DD...).
	DeprecationDate string
	// Description is the node's description.
	Description string
	// Macros are the macros the node depends on, transitively, by
	// "package.name", sorted.
	Macros []string
	// Checksums identify the model's state, as dbt's state:modified does.
	Checksums Checksums
	// TestsSum and DocsSum digest the node's tests and its descriptions:
	// edits there alone do not modify the node.
	TestsSum, DocsSum string

	sqlConfig map[string]string // config() of the SQL file, which wins over YAML
	calls     []macroCall       // macros the file calls directly
	dispatch  []macroCall
	fqn       string
	pkg       string // the package defining it; "" for the root project
}

// Checksums are the digests state comparison uses, one per part of dbt's
// same_contents (core/dbt/contracts/graph/nodes.py): the body (raw file,
// stripped; a seed's content or path), the unrendered config, the fqn,
// the contract (when enforced), the persisted descriptions (when
// persist_docs is on) and the ref representation (latest_version, access,
// deprecation_date).
type Checksums struct {
	Body, Config, FQN, Contract, PersistedDocs, RefRepr string
}

// Column is a column declared for a model.
type Column struct {
	Name        string
	DataType    string
	Description string
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
	// Via is the macro ("package.name") the ref is made in, when a macro
	// the node calls makes it.
	Via string
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
