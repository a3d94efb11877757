package dbt

import (
	"strings"
	"testing"
)

// Each test here is a small project reproducing one pattern of a real
// project, with the answer dbt gives, stated from dbt's rules.

// ref() names models (SQL and Python), seeds and snapshots alike (dbt's
// Manifest.resolve_ref searches every refable node). jaffle_shop refs its
// seeds this way.
func TestResolveSeedsSnapshotsAndPythonModels(t *testing.T) {
	p := mustLoad(t, map[string]string{
		"dbt_project.yml":          "name: shop\nseed-paths: [data]\n",
		"data/raw_customers.csv":   "id,name\n1,a\n",
		"snapshots/customers.sql":  "{% snapshot customers_snapshot %}\n{{ config(unique_key='id', strategy='check') }}\nselect * from {{ ref('raw_customers') }}\n{% endsnapshot %}\n",
		"models/stg_customers.sql": "select * from {{ ref('raw_customers') }}",
		"models/scored.py":         "# dbt.ref('commented_out')\ndef model(dbt, session):\n    dbt.config(materialized='table')\n    df = dbt.ref(\"stg_customers\")\n    return df\n",
		"models/history.sql":       "select * from {{ ref('customers_snapshot') }} join {{ ref('scored') }} using (id)",
	})
	assertEqual(t, "validate", p.Validate(), []Problem(nil))
	assertEqual(t, "kinds", [4]string{p.Models["raw_customers"].Resource, p.Models["customers_snapshot"].Resource, p.Models["scored"].Language, p.Models["scored"].Config["materialized"]},
		[4]string{ResourceSeed, ResourceSnapshot, "python", "table"})
	g := p.Graph()
	assertEqual(t, "seed children", g.Children("raw_customers"), []string{"customers_snapshot", "stg_customers"})
	assertEqual(t, "python model parents", g.Parents("scored"), []string{"stg_customers"})
	assertEqual(t, "snapshot ref line", p.Models["customers_snapshot"].Refs[0].Line, 3)
	assertEqual(t, "downstream of the seed", g.Downstream("raw_customers"), []string{"customers_snapshot", "history", "scored", "stg_customers"})
}

// A local or vendored package is known by its own dbt_project.yml name, not
// its folder; ref('package', 'model') and unqualified refs find its nodes;
// ref('model', v=2) finds a version.
func TestResolvePackagesByProjectName(t *testing.T) {
	files := map[string]string{
		"dbt_project.yml": basicProjectYML,
		"packages.yml":    "packages:\n  - package: dbt-labs/dbt_utils\n    version: 1.3.0\n  - local: ../libs/shared-lib\n",
		"dbt_packages/dbt-utils-1.3/dbt_project.yml":       "name: dbt_utils\n",
		"dbt_packages/dbt-utils-1.3/models/date_spine.sql": "select 1",
		"models/orders.sql": "select * from {{ ref('core_lib', 'dim_date') }} join {{ ref('dim_region') }} using (r)\n" +
			"join {{ ref('dbt_utils', 'date_spine') }} using (d) join {{ ref('customers', v=2) }} using (id)",
		"models/customers_v1.sql": "select 1 as id",
		"models/customers_v2.sql": "select 2 as id",
		"models/schema.yml":       "models:\n  - name: customers\n    latest_version: 1\n    versions: [{v: 1}, {v: 2}]\n",
	}
	fsys := projectFS(files)
	fsys["libs/shared-lib/dbt_project.yml"] = mapFile("name: core_lib\n")
	fsys["libs/shared-lib/models/dim_date.sql"] = mapFile("select 1")
	fsys["libs/shared-lib/models/dim_region.sql"] = mapFile("select 1")
	p, probs := Load(fsys, "analytics", LoadOptions{})
	assertEqual(t, "load", probs, []Problem(nil))
	assertEqual(t, "validate", p.Validate(), []Problem(nil))
	assertEqual(t, "warnings", p.Warnings(), []Problem(nil))
	assertEqual(t, "packages", p.Packages, []string{"core_lib", "dbt_utils", "shared_lib"})
	assertEqual(t, "pinned version parent", p.Graph().Parents("orders"), []string{"customers.v2"})

	// The folder name is not the package name: dbt fails this ref.
	fsys["analytics/models/bad.sql"] = mapFile("select * from {{ ref('shared_lib_x', 'dim_date') }}")
	p, _ = Load(fsys, "analytics", LoadOptions{})
	assertProblem(t, p.Validate(), "analytics/models/bad.sql", 1, "package \"shared_lib_x\"", "does not declare")
}

// Disabled nodes (enabled: false in a config block, in YAML, or for a path
// in dbt_project.yml, also through a var) are not built and their refs are
// not resolved; an enabled node reffing a disabled one fails in dbt.
func TestResolveDisabledNodes(t *testing.T) {
	files := map[string]string{
		"dbt_project.yml":              basicProjectYML + "vars:\n  use_legacy: false\nmodels:\n  shop:\n    legacy:\n      +enabled: \"{{ var('use_legacy', true) }}\"\n",
		"models/legacy/old_orders.sql": "select * from {{ ref('gone_model') }}",
		"models/off_in_sql.sql":        "{{ config(enabled=false) }}\nselect * from {{ ref('also_gone') }}",
		"models/off_in_yaml.sql":       "select * from {{ ref('nothing_here') }}",
		"models/schema.yml":            "models:\n  - name: off_in_yaml\n    config:\n      enabled: false\n",
		"models/orders.sql":            "select 1",
		// Two files of one name are fine when only one is enabled.
		"models/pg/orders.sql": "{{ config(enabled=false) }} select 2",
	}
	p := mustLoad(t, files)
	assertEqual(t, "enabled", p.ModelKeys(), []string{"orders"})
	assertEqual(t, "disabled", len(p.Disabled), 4)
	assertEqual(t, "validate", p.Validate(), []Problem(nil))

	files["models/report.sql"] = "select * from {{ ref('off_in_yaml') }}"
	p = mustLoad(t, files)
	assertProblem(t, p.Validate(), "analytics/models/report.sql", 1, "ref('off_in_yaml') names a disabled node")
}

// Enabled configs written as expressions, as large var-driven projects
// write them: a config() keyword or dict value (passed to dbt unrendered,
// evaluated when the model is parsed), nested var() defaults, and the
// converting filters (as_bool) binding tighter than == and and. All
// default to disabled here, so the refs between them are not errors; with
// the var set they are enabled and resolve.
func TestResolveEnabledExpressions(t *testing.T) {
	files := map[string]string{
		"dbt_project.yml": basicProjectYML,
		"models/claims.sql": "{{ config(\n  enabled = var('claims_preprocessing_enabled', var('claims_enabled', var('marts_enabled', False))) | as_bool\n) }}\n" +
			"select * from {{ ref('ccsr_map') }}",
		"seeds/ccsr_map.csv": "code\nA\n",
		"seeds/seeds.yml":    "seeds:\n  - name: ccsr_map\n    config:\n      enabled: \"{{ var('claims_enabled', var('clinical_enabled', False)) }}\"\n",
		"snapshots/claims_snapshot.sql": "{% snapshot claims_snapshot %}\n{{ config({\n  \"strategy\": \"check\", \"unique_key\": \"id\", \"check_cols\": [\"id\"],\n" +
			"  \"enabled\": var('snapshots_enabled', False) == true and var('claims_enabled', False) == true | as_bool\n}) }}\n" +
			"select * from {{ ref('claims') }}\n{% endsnapshot %}",
		"models/always.sql": "select 1",
	}
	p := mustLoad(t, files)
	assertEqual(t, "enabled by default", p.ModelKeys(), []string{"always"})
	assertEqual(t, "validate", p.Validate(), []Problem(nil))

	files["dbt_project.yml"] = basicProjectYML + "vars:\n  claims_enabled: true\n  snapshots_enabled: true\n"
	p = mustLoad(t, files)
	assertEqual(t, "enabled by the vars", p.ModelKeys(), []string{"always", "ccsr_map", "claims", "claims_snapshot"})
	assertEqual(t, "validate", p.Validate(), []Problem(nil))
	assertEqual(t, "lineage", p.Graph().Downstream("ccsr_map"), []string{"claims", "claims_snapshot"})

	// Half of the snapshot's condition: still disabled; the model it reads
	// is enabled, which is fine.
	files["dbt_project.yml"] = basicProjectYML + "vars:\n  claims_enabled: true\n"
	p = mustLoad(t, files)
	assertEqual(t, "snapshot off", p.ModelKeys(), []string{"always", "ccsr_map", "claims"})
}

// Expressions that decide lineage in var-driven packages: a conditional
// expression inside ref(), decided by a {% set %} of vars (or both targets
// when its condition is not known); `in` over a list var; a list var
// compared with []; a for loop over a list var. Each as dbt renders it at
// parse time with the project's vars.
func TestResolveConditionalRefsAndListVars(t *testing.T) {
	files := map[string]string{
		"dbt_project.yml":       basicProjectYML + "vars:\n  history_columns: ['assignee_id', 'status']\n  extra_models: ['a', 'b']\n  no_columns: []\n",
		"models/users.sql":      "select 1",
		"models/user_roles.sql": "select 1",
		"models/forms.sql":      "select 1",
		"models/a.sql":          "select 1",
		"models/b.sql":          "select 1",
		"models/c.sql":          "select 1",
		"models/d.sql":          "select 1",
		"models/comments.sql": "{% set using_roles = var('using_roles', True) and var('using_audit_log', False) %}\n" +
			"select * from {{ ref('user_roles' if using_roles else 'users') }}",
		"models/either.sql": "select * from {{ ref('c' if adapter.get_relation(this) else 'd') }}",
		"models/backlog.sql": "select 1\n{% if 'ticket_form_id' in var('history_columns') %}join {{ ref('forms') }}{% endif %}\n" +
			"{% for m in var('extra_models') %}union all select * from {{ ref(m) }}{% endfor %}\n" +
			"{% if var('no_columns', []) != [] %}join {{ ref('users') }}{% endif %}",
	}
	p := mustLoad(t, files)
	assertEqual(t, "validate", p.Validate(), []Problem(nil))
	assertEqual(t, "warnings", p.Warnings(), []Problem(nil))
	g := p.Graph()
	assertEqual(t, "conditional ref decided by vars", g.Parents("comments"), []string{"users"})
	assertEqual(t, "conditional ref not known: both", g.Parents("either"), []string{"c", "d"})
	assertEqual(t, "in, for and [] over list vars", g.Parents("backlog"), []string{"a", "b"})

	files["dbt_project.yml"] = basicProjectYML + "vars:\n  using_audit_log: true\n  history_columns: ['ticket_form_id']\n  extra_models: []\n  no_columns: [x]\n"
	g = mustLoad(t, files).Graph()
	assertEqual(t, "with other vars", g.Parents("comments"), []string{"user_roles"})
	assertEqual(t, "with other vars", g.Parents("backlog"), []string{"forms", "users"})
}

// A macro that refs its own parameter (ref(base_ref)) refs what each
// call passes: a quoted name at the call binds it for that model (as dbt
// renders the call); a call passing anything else, or a call from another
// macro, leaves a warning on the macro.
func TestResolveMacroRefOfItsParameter(t *testing.T) {
	files := map[string]string{
		"dbt_project.yml": basicProjectYML,
		"macros/metrics.sql": "{% macro adjust_metrics(base_ref, cte='x') %}\n" +
			"{% set cols = adapter.get_columns_in_relation(ref(base_ref)) %}{{ return(cols) }}\n{% endmacro %}\n",
		"models/email_sends.sql":   "select 1",
		"models/email_opens.sql":   "select 1",
		"models/contact_lists.sql": "{% set m = adjust_metrics('email_sends', 'metrics') %}\nselect 1",
		"models/campaigns.sql":     "select 1\n{% set m = adjust_metrics(cte='y', base_ref='email_opens') %}",
	}
	p := mustLoad(t, files)
	g := p.Graph()
	assertEqual(t, "positional", g.Parents("contact_lists"), []string{"email_sends"})
	assertEqual(t, "keyword", g.Parents("campaigns"), []string{"email_opens"})
	assertEqual(t, "warnings", p.Warnings(), []Problem(nil))
	assertEqual(t, "validate", p.Validate(), []Problem(nil))

	files["models/dynamic.sql"] = "{% set m = adjust_metrics(var('which', 'x') ~ '_sends') %}\nselect 1"
	p = mustLoad(t, files)
	assertEqual(t, "unbound: no edge", p.Graph().Parents("dynamic"), []string(nil))
	ws := p.Warnings()
	if len(ws) != 1 || ws[0].File != "analytics/macros/metrics.sql" || ws[0].Line != 2 || !strings.Contains(ws[0].Message, "dynamic ref(base_ref)") {
		t.Errorf("warnings = %v, want one dynamic ref(base_ref) at analytics/macros/metrics.sql:2", ws)
	}
}

// A package declared but not vendored cannot be checked: a warning that
// says what to do, never a failure.
func TestResolveUnvendoredPackageIsAWarning(t *testing.T) {
	p := mustLoad(t, map[string]string{
		"dbt_project.yml": basicProjectYML,
		"packages.yml":    "packages:\n  - package: fivetran/hubspot_source\n    version: 1.0.0\n",
		"models/contacts.sql": "select * from {{ ref('stg_hubspot__contact') }} join {{ ref('hubspot_source', 'stg_hubspot__deal') }} using (id)\n" +
			"join {{ source('hubspot', 'owner') }} using (owner_id)",
	})
	assertEqual(t, "validate", p.Validate(), []Problem(nil))
	w := p.Warnings()
	assertProblem(t, w, "analytics/packages.yml", 2, "package hubspot_source is declared but not in the repository", "run dbt deps, or commit dbt_packages")
	assertProblem(t, w, "analytics/models/contacts.sql", 1, "ref('stg_hubspot__contact')", "may be in package hubspot_source")
	assertProblem(t, w, "analytics/models/contacts.sql", 2, "source('hubspot', 'owner')", "may be in package")
	for _, x := range w {
		if !x.Warning {
			t.Errorf("not marked a warning: %v", x)
		}
	}
}

// Refs made in a macro a model calls are the model's (dbt renders the
// macro while parsing the model), also through adapter.dispatch into the
// project's or a package's implementation and through macros calling
// macros.
func TestResolveRefsInsideMacros(t *testing.T) {
	p := mustLoad(t, macroProject())
	assertEqual(t, "validate", p.Validate(), []Problem(nil))
	g := p.Graph()
	assertEqual(t, "direct macro", g.Parents("orders_enriched"), []string{"currencies"})
	assertEqual(t, "dispatch into the package", g.Parents("daily"), []string{"calendar"})
	assertEqual(t, "macro calling a macro", g.Parents("report"), []string{"currencies", "orders_enriched"})
	assertEqual(t, "downstream of currencies", g.Downstream("currencies"), []string{"orders_enriched", "report"})
	assertEqual(t, "macros of report", p.Models["report"].Macros, []string{"shop.convert", "shop.with_fx"})
	assertEqual(t, "macros of daily", p.Models["daily"].Macros, []string{"shop.spine_for", "util_pkg.default__spine", "util_pkg.postgres__spine"})
	ref := p.Models["orders_enriched"].Refs[0]
	assertEqual(t, "ref via macro at the call line", [2]any{ref.Via, ref.Line}, [2]any{"shop.convert", 2})
}

func macroProject() map[string]string {
	return map[string]string{
		"dbt_project.yml": basicProjectYML + "dispatch:\n  - macro_namespace: util_pkg\n    search_order: [shop, util_pkg]\n",
		"macros/fx.sql": "{% macro convert(col) %}\n  {{ col }} * (select rate from {{ ref('currencies') }})\n{% endmacro %}\n" +
			"{% macro with_fx(col) -%}\n  {{ convert(col) }}\n{%- endmacro %}\n",
		"macros/spine.sql":                  "{% macro spine_for(d) %}{{ return(adapter.dispatch('spine', 'util_pkg')(d)) }}{% endmacro %}",
		"models/currencies.sql":             "select 1 as rate",
		"models/calendar.sql":               "select 1 as d",
		"models/orders_enriched.sql":        "select\n  {{ convert('amount') }} as amount_usd\nfrom t",
		"models/report.sql":                 "select {{ with_fx('x') }} from {{ ref('orders_enriched') }}",
		"models/daily.sql":                  "select * from {{ spine_for('day') }}",
		"dbt_packages/util/dbt_project.yml": "name: util_pkg\n",
		"dbt_packages/util/macros/spine.sql": "{% macro default__spine(d) %}select * from {{ ref('calendar') }}{% endmacro %}\n" +
			"{% macro postgres__spine(d) %}select 1{% endmacro %}\n",
		"packages.yml": "packages:\n  - package: acme/util_pkg\n    version: 1.0.0\n",
	}
}

// var() with project vars and defaults, if branches decided by vars or
// literals, and for loops over literal lists decide lineage as dbt's
// parse-time render does; what only the database knows is a warning.
func TestResolveJinjaVarsBranchesAndLoops(t *testing.T) {
	p := mustLoad(t, map[string]string{
		"dbt_project.yml":   basicProjectYML + "vars:\n  source_model: stg_b\n  use_new: true\n  shop:\n    region: eu\n",
		"models/stg_a.sql":  "select 1",
		"models/stg_b.sql":  "select 1",
		"models/stg_eu.sql": "select 1",
		"models/stg_us.sql": "select 1",
		"models/pick.sql": "select * from {{ ref(var('source_model')) }}\n" +
			"{% if var('use_new') %} join {{ ref('stg_a') }} {% else %} join {{ ref('missing_old') }} {% endif %}\n" +
			"{% if var('region', 'us') == 'eu' %} join {{ ref('stg_eu') }} {% elif true %} join {{ ref('stg_us') }} {% endif %}\n" +
			"{% if var('flag_absent', false) %} join {{ ref('never') }} {% endif %}\n",
		"models/unioned.sql": "{% set parts = ['stg_a', 'stg_b'] %}\n{% for m in ['stg_eu', 'stg_us'] %} select * from {{ ref(m) }} union all {% endfor %}\n" +
			"{% for p in parts %} select * from {{ ref(p) }} {% endfor %}",
		"models/by_target.sql": "{% if target.name == 'prod' %} select * from {{ ref('stg_a') }} {% else %} select * from {{ ref('stg_b') }} {% endif %}\n" +
			"{% for t in run_query('select 1').columns %} {{ ref(t) }} {% endfor %}",
	})
	assertEqual(t, "validate", p.Validate(), []Problem(nil))
	g := p.Graph()
	assertEqual(t, "pick", g.Parents("pick"), []string{"stg_a", "stg_b", "stg_eu"})
	assertEqual(t, "unioned", g.Parents("unioned"), []string{"stg_a", "stg_b", "stg_eu", "stg_us"})
	assertEqual(t, "unknown branch keeps both", g.Parents("by_target"), []string{"stg_a", "stg_b"})
	assertProblem(t, p.Warnings(), "analytics/models/by_target.sql", 2, "dynamic ref(t), lineage incomplete", "manifest")
}

// Bad input costs little and never panics: deep nesting, unbalanced
// blocks, a huge loop list.
func TestResolveJinjaBadInputIsBounded(t *testing.T) {
	src := strings.Repeat("{% if x %}{% for a in b %}", 5000) + "{{ ref('a') }}" + strings.Repeat("{% endif %}{% endfor %}{% else %}", 3000)
	facts, _ := parseSQL(src)
	if len(facts.Refs) != 1 {
		t.Errorf("want the one ref, got %d", len(facts.Refs))
	}
	list := "[" + strings.Repeat("'m', ", 20000) + "'m']"
	facts, _ = parseSQL("{% for x in " + list + " %}{{ ref(x) }}{% endfor %}")
	assertEqual(t, "one ref per item", len(facts.Refs), 20001)
}

// A package's models disabled through a var the root project sets (the
// way Fivetran packages switch sources off) are disabled; a ref to one is
// the error dbt gives.
func TestResolvePackageVarsFromTheRootProject(t *testing.T) {
	files := map[string]string{
		"dbt_project.yml": basicProjectYML + "vars:\n  hubspot:\n    hubspot_marketing_enabled: false\n",
		"packages.yml":    "packages:\n  - package: fivetran/hubspot\n    version: 1.0.0\n",
		"dbt_packages/hubspot/dbt_project.yml": "name: hubspot\nvars:\n  hubspot_marketing_enabled: true\n" +
			"models:\n  hubspot:\n    marketing:\n      +enabled: \"{{ var('hubspot_marketing_enabled', true) }}\"\n",
		"dbt_packages/hubspot/models/marketing/hubspot__email_sends.sql": "select 1",
		"dbt_packages/hubspot/models/sales/hubspot__deals.sql":           "select 1",
		"models/deals.sql": "select * from {{ ref('hubspot__deals') }}",
	}
	p := mustLoad(t, files)
	assertEqual(t, "validate", p.Validate(), []Problem(nil))
	files["models/emails.sql"] = "select * from {{ ref('hubspot__email_sends') }}"
	p = mustLoad(t, files)
	assertProblem(t, p.Validate(), "analytics/models/emails.sql", 1, "names a disabled node")

	// The root project's models: block for the package wins too.
	files["dbt_project.yml"] = basicProjectYML + "models:\n  hubspot:\n    sales:\n      +enabled: false\n"
	delete(files, "models/emails.sql")
	p = mustLoad(t, files)
	assertProblem(t, p.Validate(), "analytics/models/deals.sql", 1, "ref('hubspot__deals') names a disabled node")
}
