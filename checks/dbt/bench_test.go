package dbt

import (
	"fmt"
	"strings"
	"testing"
	"testing/fstest"
)

// generatedProject builds a project of n models in folders of 100, each
// model ref()ing up to four earlier models (a realistic fan-in), staging
// models reading sources, and one schema YAML per folder.
func generatedProject(n int) fstest.MapFS {
	fsys := fstest.MapFS{"analytics/dbt_project.yml": {Data: []byte("name: gen\nmodels:\n  gen:\n    +materialized: view\n")}}
	var schema strings.Builder
	for i := 0; i < n; i++ {
		folder := fmt.Sprintf("f%02d", i/100)
		if i%100 == 0 {
			schema.Reset()
			schema.WriteString("version: 2\nsources:\n  - name: raw_" + folder + "\n    tables:\n")
			for k := 0; k < 10; k++ {
				fmt.Fprintf(&schema, "      - name: t%d\n", k)
			}
			schema.WriteString("models:\n")
		}
		var sql strings.Builder
		fmt.Fprintf(&sql, "{{ config(materialized='table', tags=['gen', '%s']) }}\n-- model %d\nwith\n", folder, i)
		if i%10 == 0 {
			fmt.Fprintf(&sql, "src as (select * from {{ source('raw_%s', 't%d') }}),\n", folder, i%10)
		}
		for k, step := range []int{1, 7, 53, 401} {
			if i-step >= 0 && (i+k)%3 != 0 {
				fmt.Fprintf(&sql, "p%d as (select * from {{ ref('m%04d') }}),\n", k, i-step)
			}
		}
		sql.WriteString("final as (select 1 as id, 'x' as name)\nselect * from final\n")
		fsys[fmt.Sprintf("analytics/models/%s/m%04d.sql", folder, i)] = &fstest.MapFile{Data: []byte(sql.String())}
		fmt.Fprintf(&schema, "  - name: m%04d\n    description: generated model %d\n    config:\n      contract: {enforced: %v}\n    columns:\n      - name: id\n        data_type: integer\n        constraints: [{type: not_null}]\n        data_tests: [unique, not_null]\n      - name: name\n        data_type: varchar(20)\n", i, i, i%2 == 0)
		if i%100 == 99 || i == n-1 {
			fsys["analytics/models/"+folder+"/schema.yml"] = &fstest.MapFile{Data: []byte(schema.String())}
		}
	}
	return fsys
}

func TestGeneratedProjectIsValid(t *testing.T) {
	p, probs := Load(generatedProject(500), "analytics", LoadOptions{})
	if len(probs) > 0 {
		t.Fatalf("problems: %v", probs[:min(len(probs), 5)])
	}
	assertEqual(t, "models", len(p.Models), 500)
	assertEqual(t, "validate", p.Validate(), []Problem(nil))
	g := p.Graph()
	assertEqual(t, "parents of m0402", g.Parents("m0402"), []string{"m0349", "m0395"})
	if got := len(g.Downstream("m0000")); got < 400 {
		t.Errorf("m0000 should feed most of the project, feeds %d", got)
	}
	assertEqual(t, "tests", p.Models["m0001"].Tests, 2)
	assertEqual(t, "contract", [2]bool{p.Models["m0000"].ContractEnforced, p.Models["m0001"].ContractEnforced}, [2]bool{true, false})
}

// BenchmarkLoadLineage parses a 2,000-model project and builds its lineage.
func BenchmarkLoadLineage(b *testing.B) {
	fsys := generatedProject(2000)
	b.ReportAllocs()
	for b.Loop() {
		p, probs := Load(fsys, "analytics", LoadOptions{})
		if len(probs) > 0 || len(p.Models) != 2000 {
			b.Fatalf("bad project: %d models, %v", len(p.Models), probs)
		}
		g := p.Graph()
		if len(g.Cycles()) != 0 {
			b.Fatal("unexpected cycle")
		}
		_ = g.Downstream("m0000")
	}
}
