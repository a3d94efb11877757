package dbt

import (
	"maps"
	"strings"
	"testing"
)

// A removed constraint breaks an enforced contract only where the project's
// adapter enforces that constraint type (dbt's same_contract reads
// constraint_support from the adapter named in metadata.adapter_type;
// each adapter's CONSTRAINT_SUPPORT is in dbt-adapters).
func TestConstraintRemovalFollowsTheAdapter(t *testing.T) {
	base := map[string]string{
		"dbt_project.yml": basicProjectYML + "profile: shop\n",
		"models/t.sql":    "select 1 as id, 2 as parent_id",
		"models/schema.yml": `models:
  - name: t
    config: {materialized: table, contract: {enforced: true}}
    constraints: [{type: primary_key, columns: [id]}]
    columns:
      - {name: id, data_type: int, constraints: [{type: not_null}, {type: unique}, {type: check, expression: "id > 0"}]}
      - {name: parent_id, data_type: int}
`,
	}
	// Every constraint goes: what breaks depends on who enforces it.
	strip := func(f map[string]string) {
		f["models/schema.yml"] = strings.NewReplacer(
			"    constraints: [{type: primary_key, columns: [id]}]\n", "",
			`, constraints: [{type: not_null}, {type: unique}, {type: check, expression: "id > 0"}]`, "").Replace(f["models/schema.yml"])
	}
	removed := func(d Diff) []string {
		var out []string
		for _, b := range d.ContractBreaks {
			if b.Kind != BreakConstraintRemoved {
				t.Errorf("unexpected break %s: %s", b.Kind, b.Message)
			}
			out = append(out, b.Message[:strings.Index(b.Message, " was removed")])
		}
		return out
	}
	cases := []struct {
		adapter, profiles string
		want              []string
	}{
		{"postgres", "", []string{"constraint not_null", "constraint unique", "constraint check", "model-level constraint primary_key (id)"}},
		{"snowflake", "", []string{"constraint not_null"}},
		{"bigquery", "", []string{"constraint not_null"}},
		{"redshift", "", []string{"constraint not_null"}},
		{"spark", "", nil},
		{"athena", "", nil},
		// Unknown adapter: every type counts, nothing dbt might flag is missed.
		{"", "", []string{"constraint not_null", "constraint unique", "constraint check", "model-level constraint primary_key (id)"}},
		{"somethingnew", "", []string{"constraint not_null", "constraint unique", "constraint check", "model-level constraint primary_key (id)"}},
		// From a committed profiles.yml: the profile's default target.
		{"", "shop:\n  target: prod\n  outputs:\n    dev: {type: postgres}\n    prod: {type: snowflake}\n", []string{"constraint not_null"}},
		// A templated type cannot be known: every type counts.
		{"", "shop:\n  target: dev\n  outputs:\n    dev: {type: \"{{ env_var('DBT_TYPE') }}\"}\n", []string{"constraint not_null", "constraint unique", "constraint check", "model-level constraint primary_key (id)"}},
		// The config's adapter wins over profiles.yml.
		{"postgres", "shop:\n  target: prod\n  outputs:\n    prod: {type: snowflake}\n", []string{"constraint not_null", "constraint unique", "constraint check", "model-level constraint primary_key (id)"}},
	}
	for _, tc := range cases {
		t.Run(tc.adapter+"/"+strings.ReplaceAll(tc.profiles, "\n", " "), func(t *testing.T) {
			files := maps.Clone(base)
			if tc.profiles != "" {
				files["profiles.yml"] = tc.profiles
			}
			head := maps.Clone(files)
			strip(head)
			opts := LoadOptions{Adapter: tc.adapter}
			b, probs := Load(projectFS(files), "analytics", opts)
			h, probs2 := Load(projectFS(head), "analytics", opts)
			if len(probs)+len(probs2) > 0 {
				t.Fatalf("load problems: %v %v", probs, probs2)
			}
			got := removed(Compare(b, h))
			for i := range got {
				got[i] = strings.Replace(got[i], " from column id of model t", "", 1)
			}
			assertEqual(t, "breaking removals", got, tc.want)
		})
	}
}

func TestConstraintSupportTable(t *testing.T) {
	for _, c := range []struct{ adapter, typ, want string }{
		{"snowflake", "not_null", ConstraintEnforced},
		{"Snowflake", "primary_key", ConstraintNotEnforced},
		{"bigquery", "unique", ConstraintNotSupported},
		{"postgres", "foreign_key", ConstraintEnforced},
		{"postgres", "custom", ConstraintNotSupported},
		{"", "custom", ConstraintEnforced},
	} {
		if got := ConstraintSupport(c.adapter, c.typ); got != c.want {
			t.Errorf("ConstraintSupport(%q, %q) = %s, want %s", c.adapter, c.typ, got, c.want)
		}
	}
	assertEqual(t, "known", KnownAdapters(), []string{"athena", "bigquery", "postgres", "redshift", "snowflake", "spark"})
}
