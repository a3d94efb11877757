package dbt

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"syscall"
	"testing"
	"testing/fstest"
	"time"
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

// realisticProject is generatedProject with what large real projects
// have besides models: 50 seeds, 40 project macros (a third of the models
// call one, some through adapter.dispatch into a vendored package with 100
// macros and 20 models), a unit test per tenth model and singular tests.
func realisticProject(n int) fstest.MapFS {
	fsys := generatedProject(n)
	fsys["analytics/packages.yml"] = mapFile("packages:\n  - package: acme/util_pkg\n    version: 1.0.0\n")
	fsys["analytics/dbt_packages/util/dbt_project.yml"] = mapFile("name: util_pkg\n")
	var pkgMacros strings.Builder
	for k := 0; k < 100; k++ {
		fmt.Fprintf(&pkgMacros, "{%% macro default__helper%d(x) %%}coalesce({{ x }}, 0){%% endmacro %%}\n", k)
	}
	fsys["analytics/dbt_packages/util/macros/helpers.sql"] = mapFile(pkgMacros.String())
	for k := 0; k < 20; k++ {
		fsys[fmt.Sprintf("analytics/dbt_packages/util/models/util_%d.sql", k)] = mapFile("select 1 as id")
	}
	var macros strings.Builder
	for k := 0; k < 40; k++ {
		fmt.Fprintf(&macros, "{%% macro cents_%d(col) %%}({{ col }} / 100)::numeric(16, 2) {{ adapter.dispatch('helper%d', 'util_pkg')(col) }}{%% endmacro %%}\n", k, k)
	}
	fsys["analytics/macros/money.sql"] = mapFile(macros.String())
	for k := 0; k < 50; k++ {
		fsys[fmt.Sprintf("analytics/seeds/seed_%02d.csv", k)] = mapFile(strings.Repeat("id,code,label\n1,a,first\n", 40))
	}
	var units strings.Builder
	units.WriteString("unit_tests:\n")
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("analytics/models/f%02d/m%04d.sql", i/100, i)
		body := string(fsys[name].Data)
		if i%3 == 0 {
			body += fmt.Sprintf("-- money\nselect {{ cents_%d('amount') }} from {{ ref('seed_%02d') }}\n", i%40, i%50)
		}
		fsys[name] = mapFile(body)
		if i%10 == 0 {
			fmt.Fprintf(&units, "  - name: u%d\n    model: m%04d\n    given: []\n    expect: {rows: []}\n", i, i)
		}
		if i%25 == 0 {
			fsys[fmt.Sprintf("analytics/tests/t%04d.sql", i)] = mapFile(fmt.Sprintf("select * from {{ ref('m%04d') }} where id is null", i))
		}
	}
	fsys["analytics/models/unit_tests.yml"] = mapFile(units.String())
	return fsys
}

// edited returns fsys with one macro and one seed changed, as a PR would.
func edited(fsys fstest.MapFS) fstest.MapFS {
	out := maps.Clone(fsys)
	out["analytics/macros/money.sql"] = mapFile(strings.Replace(string(fsys["analytics/macros/money.sql"].Data), "cents_7(col) %}({{ col }} / 100)", "cents_7(col) %}({{ col }} / 1000)", 1))
	out["analytics/seeds/seed_03.csv"] = mapFile(string(fsys["analytics/seeds/seed_03.csv"].Data) + "2,b,second\n")
	return out
}

func TestRealisticProjectThroughTheEngine(t *testing.T) {
	base := realisticProject(1200)
	p, probs := Load(base, "analytics", LoadOptions{})
	if len(probs) > 0 {
		t.Fatalf("problems: %v", probs[:min(len(probs), 5)])
	}
	assertEqual(t, "validate", p.Validate(), []Problem(nil))
	assertEqual(t, "warnings", p.Warnings(), []Problem(nil))
	assertEqual(t, "nodes", len(p.Models), 1250)
	assertEqual(t, "m0010 tests: 2 generic + 1 unit", p.Models["m0010"].Tests, 3)
	head, _ := Load(edited(base), "analytics", LoadOptions{})
	d := Compare(p, head)
	// cents_7 is called by the models i%3 == 0 && i%40 == 7: modified
	// (dbt: a changed macro modifies its users). The seed is modified
	// itself; the models reading it (i%3 == 0 && i%50 == 3) are downstream.
	var want []string
	for i := 0; i < 1200; i++ {
		if i%3 == 0 && i%40 == 7 {
			want = append(want, fmt.Sprintf("m%04d", i))
		}
	}
	want = append(want, "seed_03")
	assertEqual(t, "modified", d.Modified, want)
	for _, k := range []string{"m0003", "m0153"} {
		if !slices.Contains(d.Downstream, k) {
			t.Errorf("%s reads seed_03 and is downstream", k)
		}
	}
}

// BenchmarkEngine1200 is what the dbt check does on a 1,200-model project
// with packages and seeds: load base and head, validate, compare.
func BenchmarkEngine1200(b *testing.B) { benchEngine(b, 1200) }

// BenchmarkEngine20000 is the same on 20,000 models.
func BenchmarkEngine20000(b *testing.B) { benchEngine(b, 20000) }

// The machine is shared, so besides wall time the benchmark reports the
// CPU time the process spent per op (user + system, from getrusage), which
// other load does not inflate much, and the process's peak RSS.
func benchEngine(b *testing.B, n int) {
	base := realisticProject(n)
	head := edited(base)
	b.ReportAllocs()
	var before, after syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &before)
	b.ResetTimer()
	defer func() {
		_ = syscall.Getrusage(syscall.RUSAGE_SELF, &after)
		cpu := time.Duration(after.Utime.Nano()+after.Stime.Nano()-before.Utime.Nano()-before.Stime.Nano()) / time.Duration(b.N)
		b.ReportMetric(float64(cpu.Milliseconds()), "cpu-ms/op")
		b.ReportMetric(float64(after.Maxrss)/1024, "maxrss-MB")
	}()
	for b.Loop() {
		hp, _ := Load(head, "analytics", LoadOptions{})
		if probs := hp.Validate(); len(probs) > 0 {
			b.Fatalf("problems: %v", probs[:1])
		}
		bp, _ := Load(base, "analytics", LoadOptions{})
		if d := Compare(bp, hp); len(d.Modified) == 0 {
			b.Fatal("nothing modified")
		}
	}
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

// A 100,000-model tree is refused with one clear problem, quickly, instead
// of being parsed; a YAML alias bomb is read without expanding it, and
// unparseable Jinja is a problem at its line.
func TestBadInputIsBounded(t *testing.T) {
	fsys := fstest.MapFS{"analytics/dbt_project.yml": mapFile("name: big\n")}
	for i := 0; i < 100000; i++ {
		fsys[fmt.Sprintf("analytics/models/f%03d/m%06d.sql", i/1000, i)] = mapFile("select 1")
	}
	p, probs := Load(fsys, "analytics", LoadOptions{})
	assertProblem(t, probs, "analytics/dbt_project.yml", 0, "100000 model files", "more than the 50000", "manifest")
	assertEqual(t, "nothing parsed", len(p.Models), 0)

	bomb := "a: &a [x, x, x, x, x, x, x, x, x]\n"
	for k := 'b'; k <= 'k'; k++ {
		bomb += fmt.Sprintf("%c: &%c [*%c, *%c, *%c, *%c, *%c, *%c, *%c, *%c, *%c]\n", k, k, k-1, k-1, k-1, k-1, k-1, k-1, k-1, k-1, k-1)
	}
	bomb += "models:\n  - name: m\n    meta: *k\n"
	// The aliases are never expanded (canonical text is cut at 1 MiB), so
	// the 10^10-element meta costs nothing.
	p, probs = Load(projectFS(map[string]string{
		"dbt_project.yml": basicProjectYML,
		"models/m.sql":    "select {{ ref('a' }}\n{% if %}",
		"models/bomb.yml": bomb,
	}), "analytics", LoadOptions{})
	assertProblem(t, probs, "analytics/models/m.sql", 1, "never closed")
	assertEqual(t, "the bomb's entry is read", p.Models["m"].YAMLFile, "analytics/models/bomb.yml")
}
