package dbt

import (
	"testing"
	"testing/fstest"
)

// shopFiles is a small but complete project: staging and marts folders,
// project-level configs, packages, a versioned model, singular, generic and
// unit tests.
func shopFiles() map[string]string {
	return map[string]string{
		"dbt_project.yml": `name: shop
version: "1.0"
model-paths: ["models"]
test-paths: ["tests"]
models:
  shop:
    +materialized: view
    marts:
      +materialized: table
      +contract: {enforced: true}
      fct_orders:
        +tags: [daily]
  other_package:
    +materialized: ephemeral
`,
		"packages.yml": `packages:
  - package: dbt-labs/dbt_utils
    version: [">=1.0.0"]
  - git: "https://github.com/acme/dbt-finance.git"
  - local: ../shared/common_macros
`,
		"dependencies.yml":                 "projects:\n  - name: core_platform\n",
		"models/staging/stg_orders.sql":    "select * from {{ source('jaffle', 'raw_orders') }}\n",
		"models/staging/stg_customers.sql": "select * from {{ source('jaffle', 'raw_customers') }}\n",
		"models/staging/_sources.yml": `sources:
  - name: jaffle
    tables:
      - name: raw_orders
      - name: raw_customers
`,
		"models/marts/fct_orders.sql": `{{ config(materialized='incremental') }}
select o.*, d.day
from {{ ref('stg_orders') }} o
join {{ ref('dbt_utils', 'date_spine') }} d on true
`,
		"models/marts/dim_customers_v1.sql": "select id, country from {{ ref('stg_customers') }}\n",
		"models/marts/dim_customers_v2.sql": "select id from {{ ref('stg_customers') }}\n",
		"models/marts/report.sql":           "select * from {{ ref('fct_orders') }} join {{ ref('dim_customers') }} using (id)\n",
		"models/marts/_marts.yml": `models:
  - name: fct_orders
    config:
      materialized: table
    columns:
      - name: order_id
        data_type: integer
        constraints: [{type: not_null}]
        data_tests: [unique]
  - name: dim_customers
    latest_version: 2
    columns:
      - name: id
        data_type: int
    versions:
      - v: 1
        columns:
          - include: all
          - name: country
            data_type: text
      - v: 2
unit_tests:
  - name: orders_unit
    model: fct_orders
    given: []
    expect: {rows: []}
`,
		"tests/assert_orders_positive.sql": "select * from {{ ref('fct_orders') }} where amount < 0\n",
		"tests/generic/is_even.sql":        "{% test is_even(model, column_name) %}select 1 from {{ ref('report') }}{% endtest %}\n",
	}
}

func TestLoadParsesProject(t *testing.T) {
	p := mustLoad(t, shopFiles())
	assertEqual(t, "name", p.Name, "shop")
	assertEqual(t, "keys", p.ModelKeys(), []string{"dim_customers.v1", "dim_customers.v2", "fct_orders", "report", "stg_customers", "stg_orders"})
	assertEqual(t, "packages", p.Packages, []string{"common_macros", "core_platform", "dbt_finance", "dbt_utils"})
	assertEqual(t, "sources", len(p.Sources), 2)

	f := p.Models["fct_orders"]
	assertEqual(t, "path", f.Path, "analytics/models/marts/fct_orders.sql")
	assertEqual(t, "config precedence project < yaml < sql", f.Config, map[string]string{
		"materialized": "incremental", "contract": `{"enforced":true}`, "tags": `["daily"]`,
	})
	if !f.ContractEnforced {
		t.Errorf("fct_orders inherits contract enforcement from dbt_project.yml")
	}
	assertEqual(t, "refs", f.Refs, []Ref{{Name: "stg_orders", Line: 3}, {Package: "dbt_utils", Name: "date_spine", Line: 4}})
	// 1 column test + 1 unit test + 1 singular test
	assertEqual(t, "tests", f.Tests, 3)
	assertEqual(t, "yaml location", [2]any{f.YAMLFile, f.YAMLLine}, [2]any{"analytics/models/marts/_marts.yml", 2})
	assertEqual(t, "columns", f.Columns, []Column{{Name: "order_id", DataType: "integer", Constraints: []string{"not_null"}, Tests: 1, Line: 6}})

	v1, v2 := p.Models["dim_customers.v1"], p.Models["dim_customers.v2"]
	assertEqual(t, "v1", [3]string{v1.Name, v1.Version, v1.Path}, [3]string{"dim_customers", "1", "analytics/models/marts/dim_customers_v1.sql"})
	assertEqual(t, "v1 columns", len(v1.Columns), 2)
	assertEqual(t, "v2 columns", len(v2.Columns), 1)
	assertEqual(t, "staging materialization from project", p.Models["stg_orders"].Config["materialized"], "view")
	if p.Models["stg_orders"].ContractEnforced {
		t.Errorf("staging models are not contracted")
	}
	assertEqual(t, "report (only a generic test definition refs it)", p.Models["report"].Tests, 0)
	if f.Checksums.Body == "" || f.Checksums.Config == "" || f.Checksums.Contract == "" {
		t.Errorf("checksums must all be set: %+v", f.Checksums)
	}
	if probs := p.Validate(); len(probs) != 0 {
		t.Errorf("valid project reported %v", probs)
	}
	g := p.Graph()
	assertEqual(t, "report parents (unversioned ref -> latest)", g.Parents("report"), []string{"dim_customers.v2", "fct_orders"})
}

func TestLoadProjectAtRepoRoot(t *testing.T) {
	fsys := fstest.MapFS{
		"dbt_project.yml": {Data: []byte("name: root\n")},
		"models/a.sql":    {Data: []byte("select 1")},
		"models/b.sql":    {Data: []byte("select * from {{ ref('a') }}")},
	}
	for _, dir := range []string{".", "", "/"} {
		p, probs := Load(fsys, dir, LoadOptions{})
		if len(probs) > 0 {
			t.Fatalf("dir %q: %v", dir, probs)
		}
		assertEqual(t, "keys", p.ModelKeys(), []string{"a", "b"})
		assertEqual(t, "path", p.Models["b"].Path, "models/b.sql")
	}
}

func TestLoadMissingProjectFile(t *testing.T) {
	p, probs := Load(fstest.MapFS{"analytics/models/a.sql": {Data: []byte("select 1")}}, "analytics/", LoadOptions{})
	if p == nil || len(p.Models) != 0 {
		t.Fatalf("want an empty project, got %+v", p)
	}
	assertProblem(t, probs, "analytics/dbt_project.yml", 0, "no dbt_project.yml in analytics/")
	assertProblem(t, p.Validate(), "analytics/dbt_project.yml", 0, "no dbt_project.yml")
}

func TestLoadReportsBadFiles(t *testing.T) {
	files := map[string]string{
		"dbt_project.yml":        "version: 2\nmodel-paths: models\n",
		"packages.yml":           "packages:\n  - version: 1\n",
		"models/a.sql":           "select * from {{ ref(name) }}",
		"models/x/a.sql":         "select 2",
		"models/schema.yml":      "models:\n  - name: a\n  - name: a\n  - name: ghost\n",
		"models/broken.yml":      "models: [\n",
		"models/more/other.yaml": "sources:\n  - name: s\n    tables: [{name: t}]\n  - name: s\n    tables: [{name: t}]\n",
	}
	p, probs := Load(projectFS(files), "analytics", LoadOptions{})
	assertProblem(t, probs, "analytics/dbt_project.yml", 1, "has no name")
	assertProblem(t, probs, "analytics/dbt_project.yml", 2, "model-paths: must be a list")
	assertProblem(t, probs, "analytics/packages.yml", 2, "names no package")
	// model-paths was invalid, so the default "models" is used.
	assertProblem(t, p.Warnings(), "analytics/models/a.sql", 1, "dynamic ref(name), lineage incomplete")
	assertProblem(t, probs, "analytics/models/x/a.sql", 0, "model name a is used twice", "analytics/models/a.sql")
	assertProblem(t, probs, "analytics/models/schema.yml", 3, "described twice")
	assertProblem(t, p.Warnings(), "analytics/models/schema.yml", 4, "ghost", "has no ghost.sql")
	assertProblem(t, probs, "analytics/models/broken.yml", 1, "malformed YAML")
	assertProblem(t, probs, "analytics/models/more/other.yaml", 5, "source table s.t is declared twice")
}

func TestLoadVersionWithoutFile(t *testing.T) {
	files := map[string]string{
		"dbt_project.yml":   basicProjectYML,
		"models/m.sql":      "select 1",
		"models/schema.yml": "models:\n  - name: m\n    versions:\n      - v: 1\n      - v: 2\n",
	}
	p, probs := Load(projectFS(files), "analytics", LoadOptions{})
	// v2 is the latest and falls back to m.sql; v1 has no file.
	assertProblem(t, probs, "analytics/models/schema.yml", 4, "version 1 of model m has no SQL file", "m_v1.sql")
	assertEqual(t, "keys", p.ModelKeys(), []string{"m.v2"})
}
