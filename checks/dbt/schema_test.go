package dbt

import (
	"strings"
	"testing"
)

const ordersSchema = `version: 2
models:
  - name: orders
    description: One row per order
    config:
      materialized: table
      contract: {enforced: true}
      tags: [finance]
    constraints:
      - type: primary_key
        columns: [order_id]
    data_tests:
      - dbt_utils.expression_is_true:
          expression: "amount >= 0"
    columns:
      - name: order_id
        data_type: integer
        constraints:
          - type: not_null
          - type: PRIMARY_KEY
        data_tests: [unique, not_null]
      - name: amount
        data_type: numeric(10,2)
        tests:
          - not_null
  - name: dim_customers
    latest_version: 2
    columns:
      - name: id
        data_type: int
      - name: country
        data_type: varchar
    versions:
      - v: 1
      - v: 2
        defined_in: customers_v2
        columns:
          - include: all
            exclude: [country]
          - name: id
            data_type: bigint
            tests: [unique]
sources:
  - name: jaffle
    tables:
      - name: raw_orders
      - name: raw_customers
unit_tests:
  - name: test_amounts
    model: orders
    given: []
    expect: {rows: []}
`

func TestParseSchemaYAML(t *testing.T) {
	sf, errs := parseSchemaYAML([]byte(ordersSchema))
	if len(errs) > 0 {
		t.Fatalf("unexpected errors: %v", errs)
	}
	if len(sf.Models) != 2 {
		t.Fatalf("want 2 models, got %d", len(sf.Models))
	}
	o := sf.Models[0]
	assertEqual(t, "name/line", [2]any{o.Name, o.Line}, [2]any{"orders", 3})
	assertEqual(t, "config", o.Config, map[string]string{"materialized": "table", "contract": `{"enforced":true}`, "tags": `["finance"]`})
	if !contractEnforced(o.Config["contract"]) {
		t.Errorf("contract should be enforced")
	}
	assertEqual(t, "columns", o.Columns, []Column{
		{Name: "order_id", DataType: "integer", Constraints: []string{"not_null", "primary_key"}, Tests: 2, Line: 16},
		{Name: "amount", DataType: "numeric(10,2)", Tests: 1, Line: 22},
	})
	assertEqual(t, "model constraints", o.Constraints, []Constraint{{Type: "primary_key", Columns: []string{"order_id"}, Line: 10}})
	assertEqual(t, "tests (1 model + 3 column)", o.Tests, 4)

	d := sf.Models[1]
	assertEqual(t, "latest", d.LatestVersion, "2")
	if len(d.Versions) != 2 {
		t.Fatalf("want 2 versions, got %v", d.Versions)
	}
	assertEqual(t, "v1 columns (all top-level)", d.Versions[0].Columns, d.Columns)
	assertEqual(t, "v2 columns", d.Versions[1].Columns, []Column{{Name: "id", DataType: "bigint", Tests: 1, Line: 40}})
	assertEqual(t, "v2 defined_in", d.Versions[1].DefinedIn, "customers_v2")
	assertEqual(t, "v2 tests", d.Versions[1].Tests, 1)
	if d.Versions[0].Checksum == d.Versions[1].Checksum {
		t.Errorf("versions must have distinct checksums")
	}
	assertEqual(t, "sources", sf.Sources, []Source{
		{SourceName: "jaffle", Table: "raw_orders", Line: 46},
		{SourceName: "jaffle", Table: "raw_customers", Line: 47},
	})
	if len(sf.UnitTests) != 1 || sf.UnitTests[0].Model != "orders" || sf.UnitTests[0].Line != 49 || sf.UnitTests[0].Sig == "" {
		t.Errorf("unit tests: %+v", sf.UnitTests)
	}
}

func TestParseSchemaYAMLChecksumIgnoresFormatting(t *testing.T) {
	a, _ := parseSchemaYAML([]byte("models:\n  - name: m\n    description: x\n    columns: [{name: id, data_type: int}]\n"))
	b, _ := parseSchemaYAML([]byte("models:\n  # a comment\n  - description: 'x'\n    name: m\n    columns:\n      - name: id\n        data_type: int\n"))
	c, _ := parseSchemaYAML([]byte("models:\n  - name: m\n    description: y\n    columns: [{name: id, data_type: int}]\n"))
	if a.Models[0].Checksum != b.Models[0].Checksum {
		t.Errorf("formatting, key order and comments must not change the checksum")
	}
	if a.Models[0].Checksum == c.Models[0].Checksum {
		t.Errorf("a changed description must change the checksum")
	}
}

func TestParseSchemaYAMLBadInput(t *testing.T) {
	cases := []struct {
		name, yaml string
		line       int
		want       string
	}{
		{"syntax", "models:\n  - name: a\n    description: : x\n", 3, "malformed YAML: line 3: mapping values"},
		{"tabs", "models:\n\t- name: a\n", 2, "malformed YAML"},
		{"top level list", "- name: a\n", 1, "mapping (key: value pairs) at the top level"},
		{"models not list", "models:\n  name: a\n", 2, "models: must be a list"},
		{"model without name", "models:\n  - description: x\n", 2, "has no name"},
		{"model is scalar", "models:\n  - orders\n", 2, "must be a mapping"},
		{"columns mapping", "models:\n  - name: a\n    columns:\n      id: {}\n", 4, "columns: must be a list"},
		{"column without name", "models:\n  - name: a\n    columns:\n      - data_type: int\n", 4, "column entry has no name"},
		{"constraint without type", "models:\n  - name: a\n    columns:\n      - name: id\n        constraints:\n          - expression: x\n", 6, "has no type"},
		{"tests mapping", "models:\n  - name: a\n    tests: {unique: true}\n", 3, "tests: must be a list"},
		{"config list", "models:\n  - name: a\n    config: [x]\n", 3, "config: must be a mapping"},
		{"version without v", "models:\n  - name: a\n    versions:\n      - defined_in: a_v1\n", 4, "has no v:"},
		{"source table no name", "sources:\n  - name: raw\n    tables:\n      - description: x\n", 4, "has no name"},
		{"unit test no model", "unit_tests:\n  - name: t\n", 2, "has no model:"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, errs := parseSchemaYAML([]byte(tc.yaml))
			if len(errs) != 1 {
				t.Fatalf("want one error, got %v", errs)
			}
			if errs[0].Line != tc.line || !strings.Contains(errs[0].Message, tc.want) {
				t.Errorf("got line %d %q, want line %d containing %q", errs[0].Line, errs[0].Message, tc.line, tc.want)
			}
		})
	}
}

func TestParseSchemaYAMLEmptyFile(t *testing.T) {
	for _, in := range []string{"", "# only a comment\n", "version: 2\n", "models:\n"} {
		sf, errs := parseSchemaYAML([]byte(in))
		if len(errs) > 0 || len(sf.Models) > 0 {
			t.Errorf("%q: want nothing, got %v %v", in, sf, errs)
		}
	}
}
