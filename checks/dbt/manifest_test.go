package dbt

import (
	"encoding/json"
	"maps"
	"strings"
	"testing"
)

// shopManifest is a trimmed dbt manifest.json (schema v12) of a project with
// a package model, a source, a contracted model with a column test, a
// singular test and a unit test.
func shopManifest(idType string) string {
	q := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	return `{
  "metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v12.json", "project_name": "shop", "adapter_type": "snowflake"},
  "nodes": {
    "model.shop.stg_orders": {
      "resource_type": "model", "name": "stg_orders", "package_name": "shop",
      "original_file_path": "models/stg_orders.sql",
      "raw_code": ` + q(stgOrdersSQL) + `,
      "checksum": {"name": "sha256", "checksum": "` + digest(stgOrdersSQL) + `"},
      "config": {"materialized": "view", "contract": {"enforced": false}},
      "unrendered_config": {},
      "columns": {},
      "depends_on": {"nodes": ["source.shop.jaffle.orders"]}
    },
    "model.shop.fct_orders": {
      "resource_type": "model", "name": "fct_orders", "package_name": "shop",
      "original_file_path": "models/fct_orders.sql",
      "patch_path": "shop://models/schema.yml",
      "raw_code": ` + q(fctOrdersSQL) + `,
      "checksum": {"name": "sha256", "checksum": "` + digest(fctOrdersSQL) + `"},
      "config": {"materialized": "table", "contract": {"enforced": true, "alias_types": true}},
      "unrendered_config": {"materialized": "table", "contract": {"enforced": true}},
      "columns": {
        "id": {"name": "id", "data_type": "` + idType + `", "constraints": [{"type": "not_null"}]},
        "amount": {"name": "amount", "data_type": "numeric(10,2)", "constraints": []}
      },
      "constraints": [{"type": "primary_key", "columns": ["id"]}],
      "depends_on": {"nodes": ["model.shop.stg_orders", "model.dbt_utils.spine"]},
      "version": null, "latest_version": null
    },
    "model.dbt_utils.spine": {
      "resource_type": "model", "name": "spine", "package_name": "dbt_utils",
      "original_file_path": "models/spine.sql", "raw_code": "select 1",
      "depends_on": {"nodes": []}
    },
    "test.shop.unique_fct_orders_id.abc": {
      "resource_type": "test", "name": "unique_fct_orders_id", "package_name": "shop",
      "column_name": "id", "attached_node": "model.shop.fct_orders",
      "depends_on": {"nodes": ["model.shop.fct_orders"]}
    },
    "test.shop.assert_positive": {
      "resource_type": "test", "name": "assert_positive", "package_name": "shop",
      "depends_on": {"nodes": ["model.shop.fct_orders", "model.shop.stg_orders"]}
    }
  },
  "sources": {
    "source.shop.jaffle.orders": {"source_name": "jaffle", "name": "orders", "original_file_path": "models/sources.yml"}
  },
  "unit_tests": {
    "unit_test.shop.fct_orders.u1": {"model": "fct_orders", "depends_on": {"nodes": ["model.shop.fct_orders"]}}
  }
}`
}

// The model files the manifest describes; dbt's checksum is sha256 of the
// stripped file, so a trailing newline on disk still matches.
const (
	stgOrdersSQL = "select * from {{ source('jaffle', 'orders') }}"
	fctOrdersSQL = "select *\nfrom {{ ref('stg_orders') }}\njoin {{ ref('dbt_utils', 'spine') }} using (d)"
)

const manifestSchemaYML = "models:\n  - name: fct_orders\n    columns:\n      - name: id\n      - name: amount\n"

func TestLoadFromManifest(t *testing.T) {
	files := map[string]string{
		"dbt_project.yml":       "name: shop\n",
		"target/manifest.json":  shopManifest("integer"),
		"models/schema.yml":     manifestSchemaYML,
		"models/stg_orders.sql": stgOrdersSQL + "\n",
		"models/fct_orders.sql": fctOrdersSQL + "\n\n",
	}
	p := mustLoad(t, files)
	if !p.FromManifest {
		t.Fatalf("target/manifest.json should be used")
	}
	assertEqual(t, "keys", p.ModelKeys(), []string{"fct_orders", "stg_orders"})
	assertEqual(t, "packages from the manifest", p.Packages, []string{"dbt_utils"})
	f := p.Models["fct_orders"]
	assertEqual(t, "refs", f.Refs, []Ref{{Name: "stg_orders", Line: 2}, {Package: "dbt_utils", Name: "spine", Line: 3}})
	assertEqual(t, "columns", f.Columns, []Column{
		{Name: "amount", DataType: "numeric(10,2)", Line: 5},
		{Name: "id", DataType: "integer", Constraints: []string{"not_null"}, Tests: 1, Line: 4},
	})
	assertEqual(t, "constraints", f.Constraints, []Constraint{{Type: "primary_key", Columns: []string{"id"}}})
	if !f.ContractEnforced {
		t.Errorf("config.contract.enforced is true in the manifest")
	}
	assertEqual(t, "tests (generic + singular + unit)", f.Tests, 3)
	assertEqual(t, "stg tests", p.Models["stg_orders"].Tests, 1)
	assertEqual(t, "config", f.Config, map[string]string{"materialized": "table", "contract": `{"enforced":true}`})
	assertEqual(t, "yaml", [2]any{f.YAMLFile, f.YAMLLine}, [2]any{"analytics/models/schema.yml", 2})
	assertEqual(t, "body checksum", f.Checksums.Body, digest(fctOrdersSQL))
	assertEqual(t, "sources", p.Models["stg_orders"].SourceRefs, []SourceRef{{Source: "jaffle", Table: "orders", Line: 1}})
	assertEqual(t, "validate", p.Validate(), []Problem(nil))
	assertEqual(t, "lineage", p.Graph().Children("stg_orders"), []string{"fct_orders"})
	assertEqual(t, "adapter from metadata.adapter_type", p.Adapter, "snowflake")
	if over, _ := Load(projectFS(files), "analytics", LoadOptions{Adapter: "BigQuery"}); over.Adapter != "bigquery" {
		t.Errorf("the configured adapter wins over the manifest's: got %q", over.Adapter)
	}

	// Ignoring the manifest parses the sources instead.
	parsed, _ := Load(projectFS(files), "analytics", LoadOptions{IgnoreManifest: true})
	if parsed.FromManifest || parsed.Models["fct_orders"].SQL != fctOrdersSQL+"\n\n" {
		t.Errorf("IgnoreManifest must parse the SQL files")
	}
	// The same body checksum either way: dbt's sha256 of the stripped file.
	assertEqual(t, "source checksum = manifest checksum", parsed.Models["fct_orders"].Checksums.Body, f.Checksums.Body)
}

// A manifest committed before an edit describes files that are no longer
// there: it is reported and not trusted (the files are parsed instead), so
// the edited model is seen as it is.
func TestLoadStaleManifestIsNotTrusted(t *testing.T) {
	base := map[string]string{
		"dbt_project.yml":       "name: shop\n",
		"target/manifest.json":  shopManifest("integer"),
		"models/schema.yml":     manifestSchemaYML,
		"models/stg_orders.sql": stgOrdersSQL,
		"models/fct_orders.sql": fctOrdersSQL,
		"models/sources.yml":    "sources:\n  - name: jaffle\n    tables: [{name: orders}]\n",
	}
	cases := []struct {
		name string
		edit func(map[string]string)
		want string
	}{
		{"edited model", func(f map[string]string) { f["models/fct_orders.sql"] = "select 2" }, "manifest is older than analytics/models/fct_orders.sql"},
		{"deleted model", func(f map[string]string) { delete(f, "models/stg_orders.sql") }, "analytics/models/stg_orders.sql (deleted)"},
		{"new model", func(f map[string]string) { f["models/new.sql"] = "select 1" }, "analytics/models/new.sql (not in the manifest)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			files := maps.Clone(base)
			tc.edit(files)
			p, _ := Load(projectFS(files), "analytics", LoadOptions{})
			if p.FromManifest {
				t.Fatalf("a stale manifest must not be trusted")
			}
			assertProblem(t, p.Warnings(), "analytics/target/manifest.json", 0, tc.want, "not trusted", "dbt parse")
		})
	}
	p, _ := Load(projectFS(base), "analytics", LoadOptions{})
	if !p.FromManifest {
		t.Errorf("a manifest matching the files is used")
	}
	edited := maps.Clone(base)
	edited["models/fct_orders.sql"] = "select 2"
	head, _ := Load(projectFS(edited), "analytics", LoadOptions{})
	baseParsed, _ := Load(projectFS(base), "analytics", LoadOptions{IgnoreManifest: true})
	assertEqual(t, "the edit is seen", Compare(baseParsed, head).Modified, []string{"fct_orders"})
}

func TestCompareManifests(t *testing.T) {
	loadAt := func(idType string) *Project {
		p, probs := Load(projectFS(map[string]string{
			"dbt_project.yml":       "name: shop\n",
			"state/m.json":          shopManifest(idType),
			"models/schema.yml":     manifestSchemaYML,
			"models/stg_orders.sql": stgOrdersSQL,
			"models/fct_orders.sql": fctOrdersSQL,
		}), "analytics", LoadOptions{ManifestPath: "state/m.json"})
		if len(probs) > 0 {
			t.Fatalf("problems: %v", probs)
		}
		return p
	}
	d := Compare(loadAt("integer"), loadAt("varchar"))
	assertEqual(t, "modified", d.Modified, []string{"fct_orders"})
	if len(d.ContractBreaks) != 1 || d.ContractBreaks[0].Kind != BreakTypeChanged || d.ContractBreaks[0].Line != 4 {
		t.Errorf("want one type_changed break at line 4, got %+v", d.ContractBreaks)
	}
	d = Compare(loadAt("integer"), loadAt("INTEGER"))
	assertEqual(t, "case-only type change breaks nothing", len(d.ContractBreaks), 0)
}

func TestLoadManifestBadInput(t *testing.T) {
	cases := []struct {
		name, manifest string
		opts           LoadOptions
		line           int
		want           string
	}{
		{"syntax", "{\n  \"nodes\": {\n    \"x\": [1,,]\n  }\n}", LoadOptions{}, 3, "malformed manifest.json"},
		{"wrong type", "{\n  \"nodes\": [\n  ]\n}", LoadOptions{}, 2, "malformed manifest.json"},
		{"not a manifest", `{"nodes": {}}`, LoadOptions{}, 0, "not a dbt manifest"},
		{"missing explicit path", "", LoadOptions{ManifestPath: "state/manifest.json"}, 0, "run `dbt parse`"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			files := map[string]string{"dbt_project.yml": "name: shop\n"}
			file := "analytics/state/manifest.json"
			if tc.manifest != "" {
				files["target/manifest.json"] = tc.manifest
				file = "analytics/target/manifest.json"
			}
			_, probs := Load(projectFS(files), "analytics", tc.opts)
			assertProblem(t, probs, file, tc.line, tc.want)
			for _, p := range probs {
				if strings.Contains(p.Message, "\n") {
					t.Errorf("messages are one line: %q", p.Message)
				}
			}
		})
	}
}
