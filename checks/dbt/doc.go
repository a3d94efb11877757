// Package dbt owns the static analysis of a dbt project: it reads
// dbt_project.yml, model SQL and Python, seeds, snapshots, macros, schema
// YAML, installed packages and, when present and not stale, a
// manifest.json, and from them resolves refs, builds the lineage and
// compares two states of a project the way dbt-core's parser,
// state:modified and contract checks do.
//
// It never runs dbt, never touches a warehouse and never decides whether a
// change may ship: it reports facts (problems, warnings, modified nodes,
// downstream impact, untested models, contract breaks) for the check suite
// and the policy.
package dbt
