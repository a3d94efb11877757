// Package dbt owns the static analysis of a dbt project: it reads
// dbt_project.yml, model SQL (ref, source and config calls in Jinja), schema
// YAML and, when present, a manifest.json, and from them builds the model
// lineage, validates references and compares two states of a project the way
// dbt's state:modified and contract checks do.
//
// It never runs dbt, never touches a warehouse and never decides whether a
// change may ship: it reports facts (problems, modified models, downstream
// impact, untested models, contract breaks) for the check suite and the policy.
package dbt
