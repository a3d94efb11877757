package dbt

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
)

// manifestFile is the part of a dbt manifest.json (schema v12) used here.
type manifestFile struct {
	Metadata struct {
		SchemaVersion string `json:"dbt_schema_version"`
		ProjectName   string `json:"project_name"`
		AdapterType   string `json:"adapter_type"`
	} `json:"metadata"`
	Nodes     map[string]manifestNode     `json:"nodes"`
	Sources   map[string]manifestSource   `json:"sources"`
	UnitTests map[string]manifestUnitTest `json:"unit_tests"`
	Macros    map[string]manifestMacro    `json:"macros"`
	Exposures map[string]struct {
		Name             string `json:"name"`
		Type             string `json:"type"`
		OriginalFilePath string `json:"original_file_path"`
		DependsOn        struct {
			Nodes []string `json:"nodes"`
		} `json:"depends_on"`
	} `json:"exposures"`
}

type manifestMacro struct {
	Name             string `json:"name"`
	PackageName      string `json:"package_name"`
	OriginalFilePath string `json:"original_file_path"`
	MacroSQL         string `json:"macro_sql"`
	DependsOn        struct {
		Macros []string `json:"macros"`
	} `json:"depends_on"`
}

type manifestNode struct {
	ResourceType     string `json:"resource_type"`
	Name             string `json:"name"`
	PackageName      string `json:"package_name"`
	OriginalFilePath string `json:"original_file_path"`
	PatchPath        string `json:"patch_path"`
	RawCode          string `json:"raw_code"`
	Checksum         struct {
		Name     string `json:"name"`
		Checksum string `json:"checksum"`
	} `json:"checksum"`
	Config           map[string]json.RawMessage `json:"config"`
	UnrenderedConfig map[string]json.RawMessage `json:"unrendered_config"`
	Columns          map[string]manifestColumn  `json:"columns"`
	Constraints      []manifestConstraint       `json:"constraints"`
	DependsOn        struct {
		Nodes  []string `json:"nodes"`
		Macros []string `json:"macros"`
	} `json:"depends_on"`
	Version         json.RawMessage `json:"version"`
	LatestVersion   json.RawMessage `json:"latest_version"`
	DeprecationDate json.RawMessage `json:"deprecation_date"`
	Access          string          `json:"access"`
	ColumnName      string          `json:"column_name"`
	Description     string          `json:"description"`
}

type manifestColumn struct {
	Name        string               `json:"name"`
	DataType    string               `json:"data_type"`
	Description string               `json:"description"`
	Constraints []manifestConstraint `json:"constraints"`
}

type manifestConstraint struct {
	Type    string   `json:"type"`
	Columns []string `json:"columns"`
}

type manifestSource struct {
	SourceName       string `json:"source_name"`
	Name             string `json:"name"`
	OriginalFilePath string `json:"original_file_path"`
}

type manifestUnitTest struct {
	Model     string `json:"model"`
	DependsOn struct {
		Nodes []string `json:"nodes"`
	} `json:"depends_on"`
}

// loadManifest takes nodes, sources and tests from a manifest.json, which
// dbt wrote after resolving every ref, config and version. It returns
// false, after a warning, when the manifest is stale (its checksums do not
// match the files at this commit): then the sources are parsed instead.
func (l *loader) loadManifest(rel string) bool {
	data, err := fs.ReadFile(l.fsys, l.repoPath(rel))
	if err != nil {
		l.problem(rel, 0, "cannot read the manifest: run `dbt parse` to write target/manifest.json, or leave the manifest path empty to parse the sources")
		return true
	}
	return l.loadManifestData(rel, data, true)
}

// loadManifestData loads a manifest's content; checkStale compares its
// checksums with the files (a manifest dbt wrote in CI for this very commit
// needs no such check).
func (l *loader) loadManifestData(rel string, data []byte, checkStale bool) bool {
	var mf manifestFile
	if err := json.Unmarshal(data, &mf); err != nil {
		l.problem(rel, jsonErrorLine(data, err), "malformed manifest.json: "+err.Error()+"; regenerate it with `dbt parse`")
		return true
	}
	if !strings.Contains(mf.Metadata.SchemaVersion, "/manifest/") {
		l.problem(rel, 0, "not a dbt manifest (metadata.dbt_schema_version is missing): point the manifest path at dbt's target/manifest.json")
		return true
	}
	if l.p.Name == "" {
		l.p.Name = mf.Metadata.ProjectName
	}
	if checkStale {
		if stale := l.staleFiles(mf); len(stale) > 0 {
			more := ""
			if len(stale) > 1 {
				more = fmt.Sprintf(" and %d more", len(stale)-1)
			}
			l.warn(rel, 0, fmt.Sprintf("manifest is older than %s%s: it is not trusted, the project is parsed from source instead; regenerate it with `dbt parse` and commit it", stale[0], more))
			return false
		}
	}
	l.p.FromManifest = true
	if l.p.Adapter == "" {
		l.p.Adapter = strings.ToLower(mf.Metadata.AdapterType)
	}
	if l.p.Name == "" {
		l.p.Name = mf.Metadata.ProjectName
	}
	for _, s := range mf.Sources {
		if s.SourceName != "" && s.Name != "" {
			l.p.Sources[s.SourceName+"."+s.Name] = &Source{SourceName: s.SourceName, Table: s.Name, File: l.repoPath(s.OriginalFilePath)}
		}
	}
	ids := make([]string, 0, len(mf.Nodes))
	for id := range mf.Nodes {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	byID := map[string]*Model{}
	pkgs := map[string]bool{}
	yamlLines := map[string]schemaFile{}
	for _, id := range ids {
		n := mf.Nodes[id]
		if n.ResourceType != ResourceModel && n.ResourceType != ResourceSeed && n.ResourceType != ResourceSnapshot {
			continue
		}
		if n.PackageName != l.p.Name {
			pkgs[n.PackageName] = true
			continue
		}
		m := l.manifestModel(n, yamlLines)
		byID[id] = m
		key := modelKey(m.Name, m.Version)
		if prev, dup := l.p.Models[key]; dup {
			l.problem(n.OriginalFilePath, 0, fmt.Sprintf("model name %s is used twice (also %s): rename one file", key, prev.Path))
			continue
		}
		l.p.Models[key] = m
	}
	for pkg := range pkgs {
		l.p.Packages = append(l.p.Packages, pkg)
	}
	l.p.Packages = sortedUnique(l.p.Packages)
	for _, id := range ids {
		n := mf.Nodes[id]
		if m := byID[id]; m != nil {
			l.manifestDeps(m, n, mf)
		}
		if n.ResourceType == "test" {
			counted := map[*Model]bool{}
			for _, dep := range n.DependsOn.Nodes {
				if m := byID[dep]; m != nil && !counted[m] {
					counted[m] = true
					m.Tests++
					m.TestsSum += id + n.Checksum.Checksum + n.RawCode
					for i := range m.Columns {
						if m.Columns[i].Name == n.ColumnName {
							m.Columns[i].Tests++
						}
					}
				}
			}
		}
	}
	for id, u := range mf.UnitTests {
		for _, dep := range u.DependsOn.Nodes {
			if m := byID[dep]; m != nil {
				m.Tests++
				m.TestsSum += id
				break
			}
		}
	}
	l.manifestMacros(mf, byID)
	for _, m := range l.p.Models {
		finishChecksums(m)
	}
	return true
}

// manifestModel converts one model node.
func (l *loader) manifestModel(n manifestNode, yamlCache map[string]schemaFile) *Model {
	m := &Model{
		Name:            n.Name,
		Resource:        n.ResourceType,
		Path:            l.repoPath(n.OriginalFilePath),
		SQL:             n.RawCode,
		Version:         rawScalar(n.Version),
		LatestVersion:   rawScalar(n.LatestVersion),
		DeprecationDate: rawScalar(n.DeprecationDate),
		Description:     n.Description,
		Config:          map[string]string{},
		fqn:             strings.TrimSuffix(n.OriginalFilePath, path.Ext(n.OriginalFilePath)),
	}
	// same_config compares unrendered configs; materialized, contract and
	// persist_docs not set there come from the rendered config, which
	// dbt's contract and persisted-description checks read.
	for k, v := range n.UnrenderedConfig {
		m.Config[k] = rawScalar(v)
	}
	for _, k := range []string{"materialized", "contract", "persist_docs", "access", "enabled"} {
		if v, ok := n.Config[k]; ok && m.Config[k] == "" {
			m.Config[k] = rawScalar(v)
		}
	}
	if n.Access != "" {
		m.Config["access"] = n.Access
	}
	switch {
	case n.Checksum.Name == "path":
		m.Checksums.Body = "path:" + n.Checksum.Checksum
	case n.Checksum.Checksum != "":
		m.Checksums.Body = n.Checksum.Checksum
	default:
		m.Checksums.Body = digest(n.RawCode)
	}
	names := make([]string, 0, len(n.Columns))
	for name := range n.Columns {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		c := n.Columns[name]
		col := Column{Name: name, DataType: c.DataType, Description: c.Description}
		for _, k := range c.Constraints {
			col.Constraints = append(col.Constraints, strings.ToLower(k.Type))
		}
		m.Columns = append(m.Columns, col)
	}
	for _, k := range n.Constraints {
		m.Constraints = append(m.Constraints, Constraint{Type: strings.ToLower(k.Type), Columns: k.Columns})
	}
	if _, file, ok := strings.Cut(n.PatchPath, "://"); ok {
		m.YAMLFile = l.repoPath(file)
		l.locateEntry(m, file, yamlCache)
	}
	return m
}

// locateEntry finds the lines of a manifest model's schema entry and
// columns by reading the schema file, so that annotations can point there.
func (l *loader) locateEntry(m *Model, rel string, cache map[string]schemaFile) {
	sf, ok := cache[rel]
	if !ok {
		if data, err := fs.ReadFile(l.fsys, l.repoPath(rel)); err == nil {
			sf, _ = parseSchemaYAML(data)
		}
		cache[rel] = sf
	}
	for _, e := range sf.Models {
		if e.Name != m.Name {
			continue
		}
		m.YAMLLine = e.Line
		cols := e.Columns
		for _, v := range e.Versions {
			if v.V == m.Version {
				cols = v.Columns
			}
		}
		for i := range m.Columns {
			for _, c := range cols {
				if c.Name == m.Columns[i].Name {
					m.Columns[i].Line = c.Line
				}
			}
		}
	}
}

// manifestDeps turns depends_on.nodes into refs and source refs, taking
// lines from the ref() calls in the raw SQL.
func (l *loader) manifestDeps(m *Model, n manifestNode, mf manifestFile) {
	facts, _ := parseSQL(n.RawCode)
	lineOf := map[string]int{}
	for _, r := range facts.Refs {
		if _, ok := lineOf[r.Name]; !ok {
			lineOf[r.Name] = r.Line
		}
	}
	srcLine := map[string]int{}
	for _, s := range facts.Sources {
		srcLine[s.Source+"."+s.Table] = s.Line
	}
	for _, dep := range n.DependsOn.Nodes {
		switch {
		case strings.HasPrefix(dep, "model."), strings.HasPrefix(dep, "seed."), strings.HasPrefix(dep, "snapshot."):
			r := Ref{}
			if d, ok := mf.Nodes[dep]; ok {
				r.Name, r.Version = d.Name, rawScalar(d.Version)
				if d.PackageName != l.p.Name {
					r.Package = d.PackageName
				}
			} else {
				_, rest, _ := strings.Cut(dep, ".")
				parts := strings.SplitN(rest, ".", 2)
				r.Name = parts[len(parts)-1]
			}
			r.Line = lineOf[r.Name]
			m.Refs = append(m.Refs, r)
		case strings.HasPrefix(dep, "source."):
			if s, ok := mf.Sources[dep]; ok {
				key := s.SourceName + "." + s.Name
				m.SourceRefs = append(m.SourceRefs, SourceRef{Source: s.SourceName, Table: s.Name, Line: srcLine[key]})
			}
		}
	}
}

// rawScalar renders a JSON value as config text: strings unquoted, null
// empty, anything else as compact JSON with sorted keys.
func rawScalar(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return string(raw)
	}
	if s, ok := v.(string); ok {
		return s
	}
	out, _ := json.Marshal(v)
	return string(out)
}

// jsonErrorLine finds the line of a JSON decoding error.
func jsonErrorLine(data []byte, err error) int {
	var off int64
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		off = se.Offset
	case errors.As(err, &te):
		off = te.Offset
	default:
		return 0
	}
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	return bytes.Count(data[:off], []byte("\n")) + 1
}

// staleFiles lists the project files a manifest does not describe as they
// are: a node whose file is gone or whose checksum (dbt's sha256 of the
// stripped file, see fileChecksum) differs, and model files it lacks.
func (l *loader) staleFiles(mf manifestFile) []string {
	var stale []string
	known := map[string]bool{}
	for _, n := range mf.Nodes {
		if n.PackageName != mf.Metadata.ProjectName || n.OriginalFilePath == "" {
			continue
		}
		switch n.ResourceType {
		case ResourceModel, ResourceSeed, ResourceSnapshot, "analysis", "test":
		default:
			continue
		}
		known[n.OriginalFilePath] = true
		if n.Checksum.Name != "sha256" {
			continue
		}
		data, err := fs.ReadFile(l.fsys, l.repoPath(n.OriginalFilePath))
		if err != nil {
			stale = append(stale, l.repoPath(n.OriginalFilePath)+" (deleted)")
			continue
		}
		if fileChecksum(data) != n.Checksum.Checksum {
			stale = append(stale, l.repoPath(n.OriginalFilePath))
		}
	}
	for _, f := range l.walk(l.pf.ModelPaths, ".sql", ".py") {
		if !known[f.rel] {
			stale = append(stale, l.repoPath(f.rel)+" (not in the manifest)")
		}
	}
	sort.Strings(stale)
	return sortedUnique(stale)
}

// manifestMacros takes the macros and each node's transitive macro
// dependencies from the manifest.
func (l *loader) manifestMacros(mf manifestFile, byID map[string]*Model) {
	for id, mm := range mf.Macros {
		uid := strings.TrimPrefix(id, "macro.")
		m := &Macro{Package: mm.PackageName, Name: mm.Name, File: mm.OriginalFilePath, Sum: digest(mm.MacroSQL)}
		for _, d := range mm.DependsOn.Macros {
			m.Deps = append(m.Deps, strings.TrimPrefix(d, "macro."))
		}
		l.p.Macros[uid] = m
	}
	for id, n := range mf.Nodes {
		m := byID[id]
		if m == nil {
			continue
		}
		seen := map[string]bool{}
		stack := []string{}
		for _, d := range n.DependsOn.Macros {
			stack = append(stack, strings.TrimPrefix(d, "macro."))
		}
		for len(stack) > 0 {
			u := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if seen[u] {
				continue
			}
			seen[u] = true
			if mac := l.p.Macros[u]; mac != nil {
				stack = append(stack, mac.Deps...)
			}
		}
		for u := range seen {
			m.Macros = append(m.Macros, u)
		}
		sort.Strings(m.Macros)
	}
}
