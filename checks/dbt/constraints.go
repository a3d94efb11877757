package dbt

import (
	"strings"

	"gopkg.in/yaml.v3"
)

// Constraint support levels, as dbt-adapters' ConstraintSupport names them.
const (
	ConstraintEnforced     = "enforced"
	ConstraintNotEnforced  = "not_enforced"
	ConstraintNotSupported = "not_supported"
)

// constraintSupport is each adapter's CONSTRAINT_SUPPORT
// (dbt-labs/dbt-adapters: dbt-<adapter>/src/dbt/adapters/<adapter>/impl.py,
// and BaseAdapter.CONSTRAINT_SUPPORT in dbt-adapters/src/dbt/adapters/base/impl.py
// for the adapters that keep the base's). dbt's same_contract reports a
// removed constraint as breaking only when the manifest's adapter_type has
// it ENFORCED. A "custom" constraint is in no adapter's table, so it is
// never enforced.
var constraintSupport = map[string]map[string]string{
	"postgres": {"check": ConstraintEnforced, "not_null": ConstraintEnforced, "unique": ConstraintEnforced,
		"primary_key": ConstraintEnforced, "foreign_key": ConstraintEnforced},
	"snowflake": {"check": ConstraintNotSupported, "not_null": ConstraintEnforced, "unique": ConstraintNotEnforced,
		"primary_key": ConstraintNotEnforced, "foreign_key": ConstraintNotEnforced},
	"bigquery": {"check": ConstraintNotSupported, "not_null": ConstraintEnforced, "unique": ConstraintNotSupported,
		"primary_key": ConstraintNotEnforced, "foreign_key": ConstraintNotEnforced},
	"redshift": {"check": ConstraintNotSupported, "not_null": ConstraintEnforced, "unique": ConstraintNotEnforced,
		"primary_key": ConstraintNotEnforced, "foreign_key": ConstraintNotEnforced},
	"spark": {"check": ConstraintNotEnforced, "not_null": ConstraintNotEnforced, "unique": ConstraintNotEnforced,
		"primary_key": ConstraintNotEnforced, "foreign_key": ConstraintNotEnforced},
	"athena": {"check": ConstraintNotSupported, "not_null": ConstraintNotSupported, "unique": ConstraintNotSupported,
		"primary_key": ConstraintNotSupported, "foreign_key": ConstraintNotSupported},
}

// KnownAdapters lists the adapters whose constraint support the contract
// check knows, sorted.
func KnownAdapters() []string {
	out := make([]string, 0, len(constraintSupport))
	for a := range constraintSupport {
		out = append(out, a)
	}
	return sortedUnique(out)
}

// ConstraintSupport says how adapter treats a constraint type (one of the
// Constraint* levels). An adapter that is unknown (or "") enforces every
// type, as Postgres does, so that no removal dbt might call breaking is
// missed.
func ConstraintSupport(adapter, constraintType string) string {
	table, ok := constraintSupport[strings.ToLower(adapter)]
	if !ok {
		return ConstraintEnforced
	}
	if s, ok := table[strings.ToLower(constraintType)]; ok {
		return s
	}
	return ConstraintNotSupported
}

// profileAdapter reads the adapter type of the project's profile from a
// profiles.yml committed in the project folder (dbt reads one there before
// ~/.dbt since 1.3): the `type:` of the profile's default target, or of its
// outputs when they all agree. "" when it cannot be known without the
// environment (templated with env_var, no such profile).
func profileAdapter(data []byte, profile string) string {
	root, perr := parseYAMLDoc(data)
	if perr != nil || root == nil {
		return ""
	}
	p := mapGet(root, profile)
	if profile == "" || p == nil {
		return ""
	}
	outputs := mapGet(p, "outputs")
	typeOf := func(n *yaml.Node) string {
		t := strings.ToLower(strings.TrimSpace(scalar(mapGet(n, "type"))))
		if strings.Contains(t, "{") {
			return ""
		}
		return t
	}
	if target := scalar(mapGet(p, "target")); target != "" && !strings.Contains(target, "{") {
		if o := mapGet(outputs, target); o != nil {
			return typeOf(o)
		}
	}
	seen := ""
	agree := true
	mapPairs(outputs, func(_, v *yaml.Node) {
		t := typeOf(v)
		if seen == "" {
			seen = t
		} else if t != seen {
			agree = false
		}
	})
	if !agree {
		return ""
	}
	return seen
}
