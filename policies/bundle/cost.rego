# The cost gate: when the summed monthly cost delta of the artifacts is above
# pricing.cost_gate_usd, deploying needs one more approval, from
# pricing.finance_team. A check reports the delta as a warning only.
package conveyor

# An artifact without a cost adds nothing to the sum.
cost_delta := sum([d | some a in input.artifacts; d := a.cost.delta_usd])

default cost_gate := 0

cost_gate := conf.pricing.cost_gate_usd

default finance_team := ""

finance_team := trim_prefix(conf.pricing.finance_team, "@")

cost_gate_tripped if {
	cost_gate > 0
	cost_delta > cost_gate
}

approval_group contains {"count": 1, "from": [finance_team]} if {
	needs_approvals
	cost_gate_tripped
}

warn contains msg if {
	needs_approvals
	cost_gate_tripped
	msg := sprintf("monthly cost rises by $%s, above the $%s cost gate; 1 approval from %s is required", [money(cost_delta), money(cost_gate), finance_team])
}

warn contains msg if {
	input.action == "check"
	cost_delta != 0
	msg := sprintf("monthly cost changes by %s$%s (%s)", [cost_sign, money(abs(cost_delta)), concat(", ", artifact_costs)])
}

cost_sign := "+" if { cost_delta > 0 } else := "-"

artifact_costs := [sprintf("%s %s$%s", [a.name, s, money(abs(d))]) |
	some a in input.artifacts
	d := a.cost.delta_usd
	d != 0
	s := signs[d > 0]
]

signs := {true: "+", false: "-"}

warn contains msg if {
	input.action == "check"
	cost_gate_tripped
	msg := sprintf("a monthly cost delta above $%s needs 1 approval from %s at deploy time", [money(cost_gate), finance_team])
}
