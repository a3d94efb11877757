package dbt

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// schemaFile is what one schema YAML file declares.
type schemaFile struct {
	Models    []schemaModel
	Seeds     []schemaModel
	Snapshots []schemaModel
	Sources   []Source
	UnitTests []unitTest
	Exposures []Exposure
}

// schemaModel is one entry of `models:`.
type schemaModel struct {
	Name          string
	Line          int
	Config        map[string]string
	Columns       []Column
	Constraints   []Constraint
	Tests         int
	LatestVersion string
	Versions      []schemaVersion
	Checksum      string
	// Description is the model's description; TestsSig digests its and
	// its columns' test entries (tests are nodes of their own in dbt, so
	// editing them does not modify the model).
	Description, TestsSig string
	// DeprecationDate, Access: dbt's same_ref_representation compares them.
	DeprecationDate, Access string
	// Relation is a YAML-defined snapshot's relation: (dbt 1.9+).
	Relation string
}

// schemaVersion is one entry of a model's `versions:`.
type schemaVersion struct {
	V         string
	Line      int
	DefinedIn string
	Config    map[string]string
	Columns   []Column
	Tests     int
	Checksum  string
	// TestsSig and DeprecationDate are the version's own, or the model's.
	TestsSig, DeprecationDate string
}

// unitTest is one entry of `unit_tests:`.
type unitTest struct {
	Name, Model string
	Line        int
	Sig         string
}

// parseSchemaYAML reads a schema (properties) YAML file. Entries it cannot
// read are skipped with a lineError; it never panics on any input.
func parseSchemaYAML(data []byte) (schemaFile, []lineError) {
	var sf schemaFile
	root, perr := parseYAMLDoc(data)
	if perr != nil {
		return sf, []lineError{*perr}
	}
	var errs []lineError
	bad := func(n *yaml.Node, format string, a ...any) {
		errs = append(errs, lineError{Line: n.Line, Message: fmt.Sprintf(format, a...)})
	}
	mapPairs(root, func(k, v *yaml.Node) {
		switch k.Value {
		case "models", "seeds", "snapshots":
			if !isListOrNull(v) {
				bad(v, "%s: must be a list of entries like `- name: my_model`, not a %s", k.Value, kindName(v))
				return
			}
			for _, e := range items(v) {
				m, ok := parseSchemaModel(e, bad)
				if !ok {
					continue
				}
				switch k.Value {
				case "models":
					sf.Models = append(sf.Models, m)
				case "seeds":
					sf.Seeds = append(sf.Seeds, m)
				default:
					m.Relation = scalar(mapGet(e, "relation"))
					sf.Snapshots = append(sf.Snapshots, m)
				}
			}
		case "exposures":
			for _, e := range items(v) {
				if x, ok := parseExposure(e); ok {
					sf.Exposures = append(sf.Exposures, x)
				}
			}
		case "sources":
			if !isListOrNull(v) {
				bad(v, "sources: must be a list of entries like `- name: raw` with `tables:`, not a %s", kindName(v))
				return
			}
			for _, e := range items(v) {
				sf.Sources = append(sf.Sources, parseSchemaSource(e, bad)...)
			}
		case "unit_tests":
			if !isListOrNull(v) {
				bad(v, "unit_tests: must be a list of entries with name: and model:, not a %s", kindName(v))
				return
			}
			for _, e := range items(v) {
				model := scalar(mapGet(e, "model"))
				if model == "" {
					bad(e, "unit test %q has no model: write `model: <model name>`", scalar(mapGet(e, "name")))
					continue
				}
				sf.UnitTests = append(sf.UnitTests, unitTest{Name: scalar(mapGet(e, "name")), Model: model, Line: e.Line, Sig: canonical(e)})
			}
		}
	})
	return sf, errs
}

func isListOrNull(n *yaml.Node) bool {
	return n.Kind == yaml.SequenceNode || (n.Kind == yaml.ScalarNode && n.Tag == "!!null")
}

type badFunc func(n *yaml.Node, format string, a ...any)

func parseSchemaModel(e *yaml.Node, bad badFunc) (schemaModel, bool) {
	if e.Kind != yaml.MappingNode {
		bad(e, "a models: entry must be a mapping starting with `name: <model>`, not a %s", kindName(e))
		return schemaModel{}, false
	}
	m := schemaModel{Name: scalar(mapGet(e, "name")), Line: e.Line}
	if m.Name == "" {
		bad(e, "model entry has no name: add `name: <model file name without .sql>`")
		return m, false
	}
	m.Config = parseConfigNode(mapGet(e, "config"), bad)
	m.Columns = parseColumns(mapGet(e, "columns"), bad)
	m.Constraints = parseModelConstraints(mapGet(e, "constraints"), bad)
	m.Tests = countTests(e, bad)
	for _, c := range m.Columns {
		m.Tests += c.Tests
	}
	m.LatestVersion = scalar(mapGet(e, "latest_version"))
	m.Checksum = canonicalExcept(e, "versions")
	m.Description = scalar(mapGet(e, "description"))
	m.DeprecationDate = scalar(mapGet(e, "deprecation_date"))
	m.Access = scalar(mapGet(e, "access"))
	m.TestsSig = testsSig(e)
	if vs := mapGet(e, "versions"); vs != nil {
		if !isListOrNull(vs) {
			bad(vs, "versions: of model %q must be a list like `- v: 1`, not a %s", m.Name, kindName(vs))
		}
		for _, ve := range items(vs) {
			v := scalar(mapGet(ve, "v"))
			if v == "" {
				bad(ve, "a version of model %q has no v: write `- v: 2`", m.Name)
				continue
			}
			ver := schemaVersion{V: v, Line: ve.Line, DefinedIn: scalar(mapGet(ve, "defined_in"))}
			ver.Config = parseConfigNode(mapGet(ve, "config"), bad)
			ver.Columns = versionColumns(m.Columns, mapGet(ve, "columns"), bad)
			ver.Tests = countTests(ve, bad) + m.Tests - sumColumnTests(m.Columns) + sumColumnTests(ver.Columns)
			ver.Checksum = m.Checksum + canonical(ve)
			ver.TestsSig = m.TestsSig + testsSig(ve)
			ver.DeprecationDate = m.DeprecationDate
			if d := scalar(mapGet(ve, "deprecation_date")); d != "" {
				ver.DeprecationDate = d
			}
			m.Versions = append(m.Versions, ver)
		}
	}
	return m, true
}

func sumColumnTests(cols []Column) int {
	n := 0
	for _, c := range cols {
		n += c.Tests
	}
	return n
}

// canonicalExcept is canonical(n) without one top-level key.
func canonicalExcept(n *yaml.Node, skip string) string {
	cp := *n
	cp.Content = nil
	for k := 0; k+1 < len(n.Content); k += 2 {
		if n.Content[k].Value != skip {
			cp.Content = append(cp.Content, n.Content[k], n.Content[k+1])
		}
	}
	return canonical(&cp)
}

// parseConfigNode flattens a config: mapping into config text.
func parseConfigNode(n *yaml.Node, bad badFunc) map[string]string {
	cfg := map[string]string{}
	if n == nil || scalar(n) == "" && n.Kind == yaml.ScalarNode {
		return cfg
	}
	if n.Kind != yaml.MappingNode {
		bad(n, "config: must be a mapping like `config: {materialized: table}`, not a %s", kindName(n))
		return cfg
	}
	mapPairs(n, func(k, v *yaml.Node) { cfg[k.Value] = configText(v) })
	return cfg
}

// countTests counts the entries of tests: and data_tests:.
func countTests(n *yaml.Node, bad badFunc) int {
	total := 0
	for _, key := range []string{"tests", "data_tests"} {
		t := mapGet(n, key)
		if t == nil {
			continue
		}
		if !isListOrNull(t) {
			bad(t, "%s: must be a list like `- not_null`, not a %s", key, kindName(t))
			continue
		}
		total += len(t.Content)
	}
	return total
}

func parseColumns(n *yaml.Node, bad badFunc) []Column {
	if n == nil {
		return nil
	}
	if !isListOrNull(n) {
		bad(n, "columns: must be a list of entries like `- name: id`, not a %s", kindName(n))
		return nil
	}
	var cols []Column
	for _, c := range items(n) {
		if c.Kind != yaml.MappingNode {
			bad(c, "a columns: entry must be a mapping like `- name: id`, not a %s", kindName(c))
			continue
		}
		col, ok := parseColumn(c, bad)
		if ok {
			cols = append(cols, col)
		}
	}
	return cols
}

func parseColumn(c *yaml.Node, bad badFunc) (Column, bool) {
	col := Column{Name: scalar(mapGet(c, "name")), DataType: scalar(mapGet(c, "data_type")), Line: c.Line,
		Description: scalar(mapGet(c, "description"))}
	if col.Name == "" {
		bad(c, "column entry has no name: add `name: <column>`")
		return col, false
	}
	col.Tests = countTests(c, bad)
	cons := mapGet(c, "constraints")
	if cons != nil && !isListOrNull(cons) {
		bad(cons, "constraints: of column %q must be a list like `- type: not_null`, not a %s", col.Name, kindName(cons))
		return col, true
	}
	for _, k := range items(cons) {
		t := strings.ToLower(scalar(mapGet(k, "type")))
		if t == "" {
			bad(k, "constraint of column %q has no type: write `- type: not_null` (or primary_key, unique, check, foreign_key)", col.Name)
			continue
		}
		col.Constraints = append(col.Constraints, t)
	}
	return col, true
}

func parseModelConstraints(n *yaml.Node, bad badFunc) []Constraint {
	if n != nil && !isListOrNull(n) {
		bad(n, "constraints: must be a list like `- type: primary_key` with `columns: [id]`, not a %s", kindName(n))
		return nil
	}
	var out []Constraint
	for _, k := range items(n) {
		t := strings.ToLower(scalar(mapGet(k, "type")))
		if t == "" {
			bad(k, "model constraint has no type: write `- type: primary_key` (or unique, check, foreign_key, not_null)")
			continue
		}
		c := Constraint{Type: t, Line: k.Line}
		for _, col := range items(mapGet(k, "columns")) {
			c.Columns = append(c.Columns, scalar(col))
		}
		out = append(out, c)
	}
	return out
}

// versionColumns applies a version's columns: include/exclude to the
// model's top-level columns (include defaults to all) and then the
// version's own column entries, which replace same-named columns.
func versionColumns(base []Column, n *yaml.Node, bad badFunc) []Column {
	if n == nil {
		return base
	}
	if !isListOrNull(n) {
		bad(n, "columns: of a version must be a list, not a %s", kindName(n))
		return base
	}
	include := map[string]bool(nil) // nil = all
	exclude := map[string]bool{}
	var own []Column
	for _, c := range items(n) {
		inc, hasInc := mapGet(c, "include"), mapGet(c, "include") != nil
		if hasInc || mapGet(c, "exclude") != nil {
			if hasInc && inc.Kind == yaml.SequenceNode {
				include = map[string]bool{}
				for _, x := range items(inc) {
					include[scalar(x)] = true
				}
			}
			for _, x := range items(mapGet(c, "exclude")) {
				exclude[scalar(x)] = true
			}
			continue
		}
		if c.Kind != yaml.MappingNode {
			bad(c, "a columns: entry must be a mapping like `- name: id`, not a %s", kindName(c))
			continue
		}
		if col, ok := parseColumn(c, bad); ok {
			own = append(own, col)
		}
	}
	replaced := map[string]Column{}
	for _, c := range own {
		replaced[c.Name] = c
	}
	var out []Column
	for _, c := range base {
		if (include != nil && !include[c.Name]) || exclude[c.Name] {
			continue
		}
		if r, ok := replaced[c.Name]; ok {
			out = append(out, r)
			delete(replaced, c.Name)
			continue
		}
		out = append(out, c)
	}
	for _, c := range own {
		if _, ok := replaced[c.Name]; ok {
			out = append(out, c)
		}
	}
	return out
}

func parseSchemaSource(e *yaml.Node, bad badFunc) []Source {
	name := scalar(mapGet(e, "name"))
	if e.Kind != yaml.MappingNode || name == "" {
		bad(e, "source entry has no name: write `- name: <source>` with `tables: [- name: <table>]`")
		return nil
	}
	tables := mapGet(e, "tables")
	if tables != nil && !isListOrNull(tables) {
		bad(tables, "tables: of source %q must be a list like `- name: orders`, not a %s", name, kindName(tables))
		return nil
	}
	var out []Source
	for _, t := range items(tables) {
		tn := scalar(mapGet(t, "name"))
		if tn == "" {
			bad(t, "a table of source %q has no name: write `- name: <table>`", name)
			continue
		}
		out = append(out, Source{SourceName: name, Table: tn, Line: t.Line})
	}
	return out
}

// testsSig digests the test entries of a model (or version) entry and of
// its columns.
func testsSig(e *yaml.Node) string {
	var b strings.Builder
	for _, key := range []string{"tests", "data_tests"} {
		if t := mapGet(e, key); t != nil {
			b.WriteString(key + canonical(t))
		}
	}
	for _, c := range items(mapGet(e, "columns")) {
		for _, key := range []string{"tests", "data_tests"} {
			if t := mapGet(c, key); t != nil {
				b.WriteString(scalar(mapGet(c, "name")) + "." + key + canonical(t))
			}
		}
	}
	return b.String()
}

// parseExposure reads one exposures: entry: its name, type and the nodes
// it depends on (depends_on: ["ref('x')", ...]).
func parseExposure(e *yaml.Node) (Exposure, bool) {
	x := Exposure{Name: scalar(mapGet(e, "name")), Type: scalar(mapGet(e, "type")), Line: e.Line}
	if x.Name == "" {
		return x, false
	}
	for _, d := range items(mapGet(e, "depends_on")) {
		facts, _ := parseSQL("{{ " + scalar(d) + " }}")
		for _, r := range facts.Refs {
			r.Line = d.Line
			x.DependsOn = append(x.DependsOn, r)
		}
	}
	return x, true
}
