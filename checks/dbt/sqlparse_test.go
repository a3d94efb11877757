package dbt

import (
	"strings"
	"testing"
)

func TestParseSQLRefsSourcesAndConfig(t *testing.T) {
	sql := `{{ config(materialized='incremental', unique_key="id", tags=['a', 'b'],
          meta={'owner': {'team': 'data'}}, contract={'enforced': True}, full_refresh=False) }}
{# a comment with {{ ref('ignored') }} inside
   spanning lines #}
with orders as (select * from {{ ref('stg_orders') }}),
customers as (select * from {{- ref("stg_customers") -}}),
pkg as (select * from {{ ref('dbt_utils', 'date_spine') }}),
v2 as (select * from {{ ref('dim_customers', v=2) }}),
v3 as (select * from {{ ref('dim_customers', version='3') }}),
raw as (select * from {{ source('jaffle', 'raw_payments') }})
{% set rel = ref('lookup') %}
{% raw %} {{ ref('not_parsed') }} {% endraw %}
select '{' as literal, ref_count from orders -- ref('plain_sql_is_ignored')
`
	facts, errs := parseSQL(sql)
	if len(errs) > 0 {
		t.Fatalf("unexpected errors: %v", errs)
	}
	assertEqual(t, "refs", facts.Refs, []Ref{
		{Name: "stg_orders", Line: 5},
		{Name: "stg_customers", Line: 6},
		{Package: "dbt_utils", Name: "date_spine", Line: 7},
		{Name: "dim_customers", Version: "2", Line: 8},
		{Name: "dim_customers", Version: "3", Line: 9},
		{Name: "lookup", Line: 11},
	})
	assertEqual(t, "sources", facts.Sources, []SourceRef{{Source: "jaffle", Table: "raw_payments", Line: 10}})
	assertEqual(t, "config", facts.Config, map[string]string{
		"materialized": "incremental",
		"unique_key":   "id",
		"tags":         "['a', 'b']",
		"meta":         "{'owner': {'team': 'data'}}",
		"contract":     "{'enforced': True}",
		"full_refresh": "false",
	})
	if !contractEnforced(facts.Config["contract"]) {
		t.Errorf("contract %q should read as enforced", facts.Config["contract"])
	}
	if facts.Macro {
		t.Errorf("a model is not a macro file")
	}
}

func TestParseSQLDetectsGenericTestDefinitions(t *testing.T) {
	facts, errs := parseSQL("{% test is_even(model, column_name) %}\nselect * from {{ model }} where {{ column_name }} % 2 = 1\n{% endtest %}")
	if len(errs) > 0 || !facts.Macro {
		t.Fatalf("want a macro file without errors, got macro=%v errs=%v", facts.Macro, errs)
	}
}

func TestParseSQLBadInput(t *testing.T) {
	cases := []struct {
		name, sql string
		line      int
		want      string
	}{
		{"dynamic ref", "select 1\nfrom {{ ref(var('model')) }}", 2, "dynamic ref(var('model')), lineage incomplete"},
		{"ref of a run-time value", "{{ ref(target.name ~ '_x') }}", 1, "dynamic ref"},
		{"empty ref", "{{ ref() }}", 1, "takes one or two quoted names, got 0"},
		{"three names", "{{ ref('a', 'b', 'c') }}", 1, "got 3"},
		{"empty name", "{{ ref('') }}", 1, "names no model"},
		{"one source name", "\n\n{{ source('raw') }}", 3, "exactly two quoted names, got 1"},
		{"dynamic source", "{{ source('raw', table_name) }}", 1, "cannot be resolved without running dbt"},
		{"unclosed expression", "select\n{{ ref('a') ", 2, "never closed: add }}"},
		{"unclosed statement", "{% if x \n", 1, "never closed: add %}"},
		{"unclosed comment", "a\nb {# note", 2, "add #}"},
		{"unclosed raw", "{% raw %} x", 1, "endraw"},
		{"positional config", "{{ config('table') }}", 1, "key=value pairs"},
		{"unclosed call", "{{ ref('a' }}", 1, "never closed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, errs := parseSQL(tc.sql)
			if len(errs) != 1 {
				t.Fatalf("want one error, got %v", errs)
			}
			if errs[0].Line != tc.line || !strings.Contains(errs[0].Message, tc.want) {
				t.Errorf("got line %d %q, want line %d containing %q", errs[0].Line, errs[0].Message, tc.line, tc.want)
			}
		})
	}
}

func TestParseSQLIgnoresMethodCallsAndLookalikes(t *testing.T) {
	facts, errs := parseSQL("{{ adapter.ref('x') }} {{ my_ref('y') }} {{ config.get('materialized') }} {{ refs }}")
	if len(errs) > 0 || len(facts.Refs) != 0 || len(facts.Config) != 0 {
		t.Fatalf("want nothing, got refs=%v config=%v errs=%v", facts.Refs, facts.Config, errs)
	}
}

func TestContractEnforcedSpellings(t *testing.T) {
	for raw, want := range map[string]bool{
		`{"enforced":true}`: true, `{'enforced': True}`: true, "{enforced: true, alias_types: false}": true,
		`{"enforced":false}`: false, `{"enforced":"trueish"}`: false, "": false, "{alias_types: true}": false,
		`{"not_enforced": false, "enforced" : TRUE}`: true,
	} {
		if got := contractEnforced(raw); got != want {
			t.Errorf("contractEnforced(%q) = %v, want %v", raw, got, want)
		}
	}
}
