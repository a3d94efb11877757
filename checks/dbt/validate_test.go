package dbt

import "testing"

func TestValidateUnresolvedReferences(t *testing.T) {
	files := map[string]string{
		"dbt_project.yml": basicProjectYML,
		"packages.yml":    "packages:\n  - package: dbt-labs/dbt_utils\n",
		"models/orders.sql": `select *
from {{ ref('customer') }}
join {{ ref('dbt_utils', 'date_spine') }} using (day)
join {{ ref('finance', 'ledger') }} using (id)
join {{ ref('shop', 'customers') }} using (id)
join {{ source('raw', 'payments') }} using (id)
join {{ ref('customers', v=3) }} using (id)
`,
		"models/customers.sql": "select 1 as id",
		// dbt_utils is vendored, so every ref is checked.
		"dbt_packages/dbt_utils/dbt_project.yml":       "name: dbt_utils\n",
		"dbt_packages/dbt_utils/models/date_spine.sql": "select 1",
	}
	p := mustLoad(t, files)
	probs := p.Validate()
	assertEqual(t, "problem count", len(probs), 4)
	assertProblem(t, probs, "analytics/models/orders.sql", 2, "ref('customer') names no model, seed or snapshot in project shop", "did you mean 'customers'?")
	assertProblem(t, probs, "analytics/models/orders.sql", 4, "package \"finance\"", "declared: dbt_utils")
	assertProblem(t, probs, "analytics/models/orders.sql", 6, "source('raw', 'payments') is not declared")
	assertProblem(t, probs, "analytics/models/orders.sql", 7, "ref('customers', v=3)", "version")
}

func TestValidateCyclesAndGraph(t *testing.T) {
	files := map[string]string{
		"dbt_project.yml": basicProjectYML,
		"models/a.sql":    "select 1",
		"models/b.sql":    "select * from {{ ref('a') }} join {{ ref('d') }}",
		"models/c.sql":    "select * from {{ ref('b') }}",
		"models/d.sql":    "select * from {{ ref('c') }}",
		"models/e.sql":    "select * from {{ ref('d') }} union select * from {{ ref('d') }}",
		"models/self.sql": "select 1\n-- recursive\nfrom {{ ref('self') }}",
		"models/f.sql":    "select * from {{ ref('a') }}",
	}
	p := mustLoad(t, files)
	g := p.Graph()
	assertEqual(t, "cycles", g.Cycles(), [][]string{{"b", "c", "d"}, {"self"}})
	assertEqual(t, "parents of b", g.Parents("b"), []string{"a", "d"})
	assertEqual(t, "children of a", g.Children("a"), []string{"b", "f"})
	assertEqual(t, "children of d (deduplicated)", g.Children("d"), []string{"b", "e"})
	assertEqual(t, "downstream of a", g.Downstream("a"), []string{"b", "c", "d", "e", "f"})
	assertEqual(t, "downstream of c,d", g.Downstream("c", "d"), []string{"b", "e"})
	assertEqual(t, "downstream of leaf", g.Downstream("e"), []string{})
	assertEqual(t, "unknown model", g.Parents("nope"), []string(nil))

	probs := p.Validate()
	assertEqual(t, "problem count", len(probs), 2)
	assertProblem(t, probs, "analytics/models/b.sql", 1, "cycle (b -> c -> d)")
	assertProblem(t, probs, "analytics/models/self.sql", 3, "cycle (self)")
}

func TestGraphNilAndEmpty(t *testing.T) {
	var p *Project
	if got := p.Graph().Downstream("a"); len(got) != 0 {
		t.Errorf("nil project has no lineage, got %v", got)
	}
	if got := p.Validate(); got != nil {
		t.Errorf("nil project has no problems, got %v", got)
	}
}
