package dbt

import (
	"maps"
	"strings"
	"testing"
)

// compareEdit loads base and base changed by edit and compares them.
func compareEdit(t *testing.T, base map[string]string, edit func(map[string]string)) Diff {
	t.Helper()
	head := maps.Clone(base)
	edit(head)
	return Compare(mustLoad(t, base), mustLoad(t, head))
}

// state:modified as dbt computes it (selector_methods.py,
// StateSelectorMethod; nodes.py, same_contents), and state:modified+ as the
// downstream set.
func TestStateModifiedAsDBT(t *testing.T) {
	base := macroProject()
	base["seeds/fx_rates.csv"] = "ccy,rate\nEUR,1.1\n"
	base["models/currencies.sql"] = "select * from {{ ref('fx_rates') }}"
	base["models/schema.yml"] = "models:\n  - name: report\n    description: The report\n    columns:\n      - name: x\n        description: an x\n        data_tests: [not_null]\n"
	base["models/exposures.yml"] = "exposures:\n  - name: finance_dashboard\n    type: dashboard\n    owner: {email: a@b.c}\n    depends_on: [\"ref('report')\"]\n"
	cases := []struct {
		name                 string
		edit                 func(map[string]string)
		modified, downstream []string
		reasons              map[string][]string
		tests, docs          []string
		exposures            []string
	}{
		{name: "macro edit modifies every model using it, transitively", edit: func(f map[string]string) {
			f["macros/fx.sql"] = strings.Replace(f["macros/fx.sql"], "* (select", "/ (select", 1)
		}, modified: []string{"orders_enriched", "report"}, downstream: nil,
			reasons:   map[string][]string{"orders_enriched": {"macro shop.convert"}, "report": {"macro shop.convert"}},
			exposures: []string{"finance_dashboard"}},
		{name: "package macro behind a dispatch", edit: func(f map[string]string) {
			f["dbt_packages/util/macros/spine.sql"] = strings.Replace(f["dbt_packages/util/macros/spine.sql"], "select 1", "select 2", 1)
		}, modified: []string{"daily"}, reasons: map[string][]string{"daily": {"macro util_pkg.postgres__spine"}}},
		{name: "seed content", edit: func(f map[string]string) { f["seeds/fx_rates.csv"] += "USD,1.0\n" },
			modified: []string{"fx_rates"}, downstream: []string{"currencies", "orders_enriched", "report"},
			reasons: map[string][]string{"fx_rates": {"body"}}, exposures: []string{"finance_dashboard"}},
		{name: "description only: not rebuilt", edit: func(f map[string]string) {
			f["models/schema.yml"] = strings.Replace(f["models/schema.yml"], "an x", "the x", 1)
		}, docs: []string{"report"}},
		{name: "test only: not rebuilt", edit: func(f map[string]string) {
			f["models/schema.yml"] = strings.Replace(f["models/schema.yml"], "[not_null]", "[not_null, unique]", 1)
		}, tests: []string{"report"}},
		{name: "singular test added: not rebuilt", edit: func(f map[string]string) {
			f["tests/report_ok.sql"] = "select * from {{ ref('report') }} where x is null"
		}, tests: []string{"report"}},
		{name: "description with persist_docs columns", edit: func(f map[string]string) {
			f["models/schema.yml"] = strings.Replace(f["models/schema.yml"], "    columns:", "    config:\n      persist_docs: {columns: true}\n    columns:", 1)
			maps.Copy(f, map[string]string{"models/schema2.yml": ""})
		}, modified: []string{"report"}, reasons: map[string][]string{"report": {"config", "persisted descriptions"}}, exposures: []string{"finance_dashboard"}},
		{name: "relation", edit: func(f map[string]string) {
			f["models/calendar.sql"] = "{{ config(schema='finance') }}select 1 as d"
		}, modified: []string{"calendar"}, downstream: []string{"daily"}, reasons: map[string][]string{"calendar": {"body", "relation"}}},
		{name: "dbt_project.yml path config", edit: func(f map[string]string) {
			f["dbt_project.yml"] += "models:\n  shop:\n    +materialized: table\nseeds:\n  shop:\n    +quote_columns: true\n"
		}, modified: []string{"calendar", "currencies", "daily", "fx_rates", "orders_enriched", "report"},
			reasons: map[string][]string{"calendar": {"config"}, "currencies": {"config"}, "daily": {"config"}, "fx_rates": {"config"},
				"orders_enriched": {"config"}, "report": {"config"}}, exposures: []string{"finance_dashboard"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := compareEdit(t, base, tc.edit)
			assertEqual(t, "modified", d.Modified, tc.modified)
			if len(d.Downstream)+len(tc.downstream) > 0 {
				assertEqual(t, "downstream", d.Downstream, tc.downstream)
			}
			if tc.reasons == nil {
				tc.reasons = map[string][]string{}
			}
			assertEqual(t, "reasons", d.Reasons, tc.reasons)
			assertEqual(t, "tests changed", d.TestsChanged, tc.tests)
			assertEqual(t, "docs changed", d.DocsChanged, tc.docs)
			assertEqual(t, "exposures", d.Exposures, tc.exposures)
		})
	}
}

// A seed over 1 MiB is compared by path only (dbt's MAXIMUM_SEED_SIZE), so
// editing its content does not modify it; one under the limit does.
func TestStateBigSeedComparedByPath(t *testing.T) {
	big := "id\n" + strings.Repeat("1\n", maxSeedSize/2+1)
	base := map[string]string{"dbt_project.yml": basicProjectYML, "seeds/big.csv": big, "seeds/small.csv": "id\n1\n"}
	d := compareEdit(t, base, func(f map[string]string) {
		f["seeds/big.csv"] = big + "2\n"
		f["seeds/small.csv"] = "id\n2\n"
	})
	assertEqual(t, "modified", d.Modified, []string{"small"})
}

// Contracts as dbt 1.11 judges them (ModelNode.same_contract and
// same_contract_removed).
func TestStateContractsAsDBT111(t *testing.T) {
	base := map[string]string{
		"dbt_project.yml": basicProjectYML,
		"models/v.sql":    "select 1 as id",
		"models/t.sql":    "select 1 as id",
		"models/old.sql":  "select 1 as id",
		"models/gone.sql": "select 1 as id",
		"models/c.sql":    "select 1 as id",
		"models/schema.yml": `models:
  - name: v
    config: {materialized: view, contract: {enforced: true}}
    columns: [{name: id, data_type: int, constraints: [{type: not_null}]}]
  - name: t
    config: {materialized: table, contract: {enforced: true}}
    columns: [{name: id, data_type: int, constraints: [{type: not_null}]}]
  - name: old
    deprecation_date: 2001-01-01
    config: {contract: {enforced: true}}
    columns: [{name: id, data_type: int}]
  - name: gone
    config: {contract: {enforced: true}}
    columns: [{name: id, data_type: int}]
  - name: c
    config: {contract: {enforced: true}}
    columns: [{name: id, data_type: int}]
`,
	}
	kinds := func(d Diff) map[string]string {
		out := map[string]string{}
		for _, b := range d.ContractBreaks {
			out[b.Model] += b.Kind
		}
		return out
	}
	cases := []struct {
		name string
		edit func(map[string]string)
		want map[string]string
	}{
		{"constraint removed on a view: views do not enforce constraints", func(f map[string]string) {
			f["models/schema.yml"] = strings.Replace(f["models/schema.yml"], "data_type: int, constraints: [{type: not_null}]}]\n  - name: t", "data_type: int}]\n  - name: t", 1)
		}, map[string]string{}},
		{"constraint removed on a table", func(f map[string]string) {
			f["models/schema.yml"] = strings.Replace(f["models/schema.yml"], "data_type: int, constraints: [{type: not_null}]}]\n  - name: old", "data_type: int}]\n  - name: old", 1)
		}, map[string]string{"t": BreakConstraintRemoved}},
		{"table -> view drops enforced constraints", func(f map[string]string) {
			f["models/schema.yml"] = strings.Replace(f["models/schema.yml"], "materialized: table", "materialized: view", 1)
		}, map[string]string{"t": BreakMaterializationChanged}},
		{"deleted past its deprecation_date; deleted before it; disabled", func(f map[string]string) {
			delete(f, "models/old.sql")
			delete(f, "models/gone.sql")
			f["models/c.sql"] = "{{ config(enabled=false) }}select 1 as id"
		}, map[string]string{"gone": BreakModelDeleted, "c": BreakModelDisabled}},
		{"a new version of the model exists", func(f map[string]string) {
			delete(f, "models/gone.sql")
			f["models/gone_v1.sql"] = "select 1 as id"
			f["models/gone_v2.sql"] = "select 1 as id, 2 as x"
			f["models/schema.yml"] = strings.Replace(f["models/schema.yml"], "  - name: gone\n", "  - name: gone\n    versions: [{v: 1}, {v: 2}]\n", 1)
		}, map[string]string{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assertEqual(t, "breaks", kinds(compareEdit(t, base, tc.edit)), tc.want)
		})
	}
}
