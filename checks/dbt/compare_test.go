package dbt

import (
	"maps"
	"testing"
)

// contractFiles is a base project with one contract-enforced model.
func contractFiles() map[string]string {
	return map[string]string{
		"dbt_project.yml":    basicProjectYML,
		"models/stg.sql":     "select 1 as id",
		"models/orders.sql":  "select id, code, amount from {{ ref('stg') }}",
		"models/report.sql":  "select * from {{ ref('orders') }}",
		"models/summary.sql": "select count(*) from {{ ref('report') }}",
		"models/other.sql":   "select 2 as id",
		"models/schema.yml": `models:
  - name: orders
    description: Orders
    config:
      materialized: table
      contract: {enforced: true}
    constraints:
      - type: primary_key
        columns: [id]
    columns:
      - name: id
        data_type: integer
        constraints: [{type: not_null}]
        data_tests: [unique]
      - name: code
        data_type: varchar(3)
      - name: amount
        data_type: numeric(10,2)
  - name: report
    data_tests: [some_test]
`,
	}
}

// compareWith loads base and a head changed by edit.
func compareWith(t *testing.T, edit func(files map[string]string)) Diff {
	t.Helper()
	head := maps.Clone(contractFiles())
	edit(head)
	return Compare(mustLoad(t, contractFiles()), mustLoad(t, head))
}

func TestCompareModifiedDetection(t *testing.T) {
	cases := []struct {
		name     string
		edit     func(map[string]string)
		modified []string
	}{
		{"no change", func(map[string]string) {}, nil},
		{"body change", func(f map[string]string) { f["models/stg.sql"] = "select 2 as id" }, []string{"stg"}},
		// dbt checksums the file stripped of leading and trailing
		// whitespace (core/dbt/parser/read_files.py, load_file_contents(strip=True)).
		{"trailing newline only (not modified)", func(f map[string]string) { f["models/stg.sql"] = "select 1 as id\n" }, nil},
		{"inner whitespace (modified)", func(f map[string]string) { f["models/stg.sql"] = "select 1  as id" }, []string{"stg"}},
		{"config() change", func(f map[string]string) {
			f["models/other.sql"] = "{{ config(materialized='table') }}select 2 as id"
		}, []string{"other"}},
		{"yaml config change", func(f map[string]string) {
			f["models/schema.yml"] += "  - name: other\n    config: {materialized: table}\n"
		}, []string{"other"}},
		// orders sets materialized: table in its YAML already, so its
		// merged config does not change.
		{"project config change", func(f map[string]string) {
			f["dbt_project.yml"] = basicProjectYML + "models:\n  shop:\n    +materialized: table\n"
		}, []string{"other", "report", "stg", "summary"}},
		// same_persisted_description: descriptions count only with
		// persist_docs on.
		{"description only (not modified)", func(f map[string]string) {
			f["models/schema.yml"] = replaceOnce(t, f["models/schema.yml"], "description: Orders", "description: All orders")
		}, nil},
		{"description with persist_docs (modified)", func(f map[string]string) {
			f["dbt_project.yml"] = basicProjectYML + "models:\n  shop:\n    +persist_docs: {relation: true}\n"
			f["models/schema.yml"] = replaceOnce(t, f["models/schema.yml"], "description: Orders", "description: All orders")
		}, []string{"orders", "other", "report", "stg", "summary"}},
		{"yaml comment only", func(f map[string]string) {
			f["models/schema.yml"] = "# owned by finance\n" + f["models/schema.yml"]
		}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := compareWith(t, tc.edit)
			assertEqual(t, "modified", d.Modified, tc.modified)
			assertEqual(t, "breaks", len(d.ContractBreaks), 0)
		})
	}
}

func TestCompareAddedDeletedDownstreamUntested(t *testing.T) {
	d := compareWith(t, func(f map[string]string) {
		f["models/stg.sql"] = "select 3 as id"
		f["models/new_model.sql"] = "select * from {{ ref('other') }}"
		f["models/new_child.sql"] = "select * from {{ ref('new_model') }}"
		delete(f, "models/summary.sql")
	})
	assertEqual(t, "modified", d.Modified, []string{"stg"})
	assertEqual(t, "added", d.Added, []string{"new_child", "new_model"})
	assertEqual(t, "deleted", d.Deleted, []string{"summary"})
	// orders and report are downstream of stg; new_child is itself added.
	assertEqual(t, "downstream", d.Downstream, []string{"orders", "report"})
	assertEqual(t, "untested", d.Untested, []string{"new_child", "new_model", "stg"})
}

func TestCompareTestedCountsAllTestKinds(t *testing.T) {
	d := compareWith(t, func(f map[string]string) {
		f["models/stg.sql"] = "select 4 as id"
		f["models/other.sql"] = "select 5 as id"
		f["models/new_model.sql"] = "select 6 as id"
		f["tests/stg_ok.sql"] = "select * from {{ ref('stg') }} where id is null"
		f["models/unit.yml"] = "unit_tests:\n  - name: u\n    model: other\n"
		f["models/new.yml"] = "models:\n  - name: new_model\n    columns:\n      - name: id\n        tests: [not_null]\n"
	})
	assertEqual(t, "modified", d.Modified, []string{"other", "stg"})
	assertEqual(t, "untested", d.Untested, []string(nil))
}

func TestCompareContractBreaks(t *testing.T) {
	cases := []struct {
		name string
		edit func(map[string]string)
		want []Break
	}{
		{"enforcement disabled", func(f map[string]string) {
			f["models/schema.yml"] = replaceOnce(t, f["models/schema.yml"], "enforced: true", "enforced: false")
		}, []Break{{Model: "orders", Kind: BreakEnforcementDisabled, File: "analytics/models/schema.yml", Line: 2}}},
		{"enforcement disabled in sql config", func(f map[string]string) {
			f["models/orders.sql"] = "{{ config(contract={'enforced': false}) }}" + f["models/orders.sql"]
		}, []Break{{Model: "orders", Kind: BreakEnforcementDisabled, File: "analytics/models/schema.yml", Line: 2}}},
		{"column removed", func(f map[string]string) {
			f["models/schema.yml"] = replaceOnce(t, f["models/schema.yml"], "      - name: code\n        data_type: varchar(3)\n", "")
		}, []Break{{Model: "orders", Kind: BreakColumnRemoved, Column: "code", File: "analytics/models/schema.yml", Line: 2}}},
		{"type changed", func(f map[string]string) {
			f["models/schema.yml"] = replaceOnce(t, f["models/schema.yml"], "data_type: integer", "data_type: text")
		}, []Break{{Model: "orders", Kind: BreakTypeChanged, Column: "id", File: "analytics/models/schema.yml", Line: 11}}},
		{"column constraint removed", func(f map[string]string) {
			f["models/schema.yml"] = replaceOnce(t, f["models/schema.yml"], "constraints: [{type: not_null}]", "constraints: []")
		}, []Break{{Model: "orders", Kind: BreakConstraintRemoved, Column: "id", File: "analytics/models/schema.yml", Line: 11}}},
		{"model constraint removed", func(f map[string]string) {
			f["models/schema.yml"] = replaceOnce(t, f["models/schema.yml"], "    constraints:\n      - type: primary_key\n        columns: [id]\n", "")
		}, []Break{{Model: "orders", Kind: BreakConstraintRemoved, Column: "id", File: "analytics/models/schema.yml", Line: 2}}},
		{"model deleted", func(f map[string]string) {
			delete(f, "models/orders.sql")
			f["models/report.sql"] = "select 1"
			f["models/schema.yml"] = "models:\n  - name: report\n    data_tests: [some_test]\n"
		}, []Break{{Model: "orders", Kind: BreakModelDeleted, File: "analytics/models/schema.yml", Line: 2}}},
		{"model renamed", func(f map[string]string) {
			f["models/fct_orders.sql"] = f["models/orders.sql"]
			delete(f, "models/orders.sql")
			f["models/report.sql"] = "select * from {{ ref('fct_orders') }}"
			f["models/schema.yml"] = replaceOnce(t, f["models/schema.yml"], "name: orders", "name: fct_orders")
		}, []Break{{Model: "orders", Kind: BreakModelRenamed, File: "analytics/models/schema.yml", Line: 2}}},
		{"not breaking: column added, varchar widened, numeric precision, type case, constraint added", func(f map[string]string) {
			s := f["models/schema.yml"]
			s = replaceOnce(t, s, "varchar(3)", "VARCHAR(10)")
			s = replaceOnce(t, s, "numeric(10,2)", "numeric(12, 4)")
			s = replaceOnce(t, s, "data_type: integer", "data_type: INTEGER\n        constraints: [{type: not_null}, {type: unique}]")
			s = replaceOnce(t, s, "        constraints: [{type: not_null}]\n", "")
			s = replaceOnce(t, s, "  - name: report", "      - name: note\n        data_type: text\n  - name: report")
			f["models/schema.yml"] = s
		}, nil},
		{"not breaking: contract not enforced in base", func(f map[string]string) {
			f["models/schema.yml"] += "  - name: other\n    columns: [{name: id, data_type: int}]\n"
			f["models/other.sql"] = "select 'x' as name"
		}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := compareWith(t, tc.edit)
			var got []Break
			for _, b := range d.ContractBreaks {
				if b.Message == "" {
					t.Errorf("break without a message: %+v", b)
				}
				b.Message = ""
				got = append(got, b)
			}
			assertEqual(t, "breaks", got, tc.want)
		})
	}
}

func TestCompareBreakMessagesSayWhatToDo(t *testing.T) {
	d := compareWith(t, func(f map[string]string) {
		f["models/schema.yml"] = replaceOnce(t, f["models/schema.yml"], "data_type: integer", "data_type: text")
	})
	if len(d.ContractBreaks) != 1 {
		t.Fatalf("want one break, got %v", d.ContractBreaks)
	}
	assertEqual(t, "message", d.ContractBreaks[0].Message,
		"column id of model orders changed type integer -> text under an enforced contract: keep data_type: integer, or add a new model version")
}

func TestCompareNilProjects(t *testing.T) {
	head := mustLoad(t, contractFiles())
	d := Compare(nil, head)
	assertEqual(t, "added", d.Added, head.ModelKeys())
	d = Compare(head, nil)
	assertEqual(t, "deleted", d.Deleted, head.ModelKeys())
	assertEqual(t, "break kind", d.ContractBreaks[0].Kind, BreakModelDeleted)
}

func TestBaseType(t *testing.T) {
	same := [][2]string{{"varchar(3)", "varchar(10)"}, {"numeric(10,2)", "NUMERIC(12, 2)"}, {"Character Varying(5)", "character  varying"}, {"int", "INT"}}
	for _, s := range same {
		if baseType(s[0]) != baseType(s[1]) {
			t.Errorf("%q and %q should be the same base type", s[0], s[1])
		}
	}
	differ := [][2]string{{"int", "bigint"}, {"varchar(3)", "text"}, {"timestamp", "timestamp_tz"}, {"", "int"}}
	for _, s := range differ {
		if baseType(s[0]) == baseType(s[1]) {
			t.Errorf("%q and %q should differ", s[0], s[1])
		}
	}
}
