# Quality gates: a model whose evaluation did not pass or whose drift blocks
# it (drift.block, not addressed by the candidate), and a dbt change that
# breaks a contract or leaves modified models untested, deny a production
# deployment and warn elsewhere. A member of one of
# policies.override_teams turns the denial into a warning that names the team.
package conveyor

gate_violation contains msg if {
	some a in input.artifacts
	some m in metric_gates(a.evidence.metrics)
	m.passed == false
	msg := sprintf("%s: %s is %v (%s; serving in production %v, regression %v, allowed %v); the model evaluation did not pass", [
		a.name, object.get(m, "metric", "metric"), object.get(m, "candidate", 0), metric_bound(m),
		object.get(m, "production", 0), object.get(m, "regression", 0), object.get(m, "max_regression", 0),
	])
}

gate_violation contains msg if {
	some a in input.artifacts
	d := a.evidence.metrics.drift
	d.passed == false
	msg := sprintf("%s: drift %s on the version serving in production is %v, above the maximum %v, and the candidate does not address it (no %s of its own within the maximum); drift.block stops the promotion", [
		a.name, d.metric, d.production, d.max, d.metric,
	])
}

# Every metric gate of a model: the list when it has several, else the one.
metric_gates(m) := m.gates if {
	count(object.get(m, "gates", [])) > 0
} else := [m]

# The bound in the metric's direction: a maximum when lower is better
# (absent when the gate sets none, so only max_regression failed).
metric_bound(m) := sprintf("maximum %v, lower is better", [m.max]) if {
	object.get(m, "direction", "higher") == "lower"
	"max" in object.keys(m)
} else := "no maximum, lower is better" if {
	object.get(m, "direction", "higher") == "lower"
} else := sprintf("minimum %v", [object.get(m, "min", 0)])

gate_violation contains msg if {
	some a in input.artifacts
	breaks := a.evidence.dbt.contract_breaks
	count(breaks) > 0
	msg := sprintf("%s: dbt contract broken (%s); restore the columns and types or version the model", [a.name, concat("; ", breaks)])
}

gate_violation contains msg if {
	some a in input.artifacts
	untested := a.evidence.dbt.untested
	count(untested) > 0
	msg := sprintf("%s: modified dbt models without tests: %s; add tests for them", [a.name, concat(", ", untested)])
}

overriding_teams := sort({t |
	some o in conf.policies.override_teams
	t := trim_prefix(o, "@")
	actor_teams[t]
})

deny contains msg if {
	input.action == "deploy"
	production
	some msg in gate_violation
	count(overriding_teams) == 0
}

warn contains msg if {
	input.action == "deploy"
	production
	some v in gate_violation
	count(overriding_teams) > 0
	msg := sprintf("overridden by %s: %s", [overriding_teams[0], v])
}

warn contains msg if {
	input.action == "deploy"
	not production
	some msg in gate_violation
}
