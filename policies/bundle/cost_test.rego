package conveyor_test

import data.conveyor

cost_config := {"pricing": {"cost_gate_usd": 500, "finance_team": "acme/finance"}}

cost_input(action, deltas) := {
	"action": action,
	"actor": {"login": "dev", "permission": "admin", "teams": []},
	"repository": "acme/shop",
	"environment": {"name": "staging", "config": {}},
	"artifacts": [{"name": sprintf("a%d", [i]), "owners": ["@acme/web"], "cost": {"monthly_usd": 1000, "delta_usd": d}} | some i, d in deltas],
}

test_cost_below_gate_needs_no_finance if {
	d := conveyor.decision with input as cost_input("deploy", [200, 300]) with data.conveyor.config as cost_config
	d.allow
	d.approvals_required.count == 0
	d.warn == []
}

test_cost_above_gate_adds_finance_group if {
	d := conveyor.decision with input as cost_input("deploy", [300, 312.4]) with data.conveyor.config as cost_config
	d.allow
	d.approvals_required == {"count": 1, "from": ["acme/finance"], "groups": [{"count": 1, "from": ["acme/finance"]}]}
	d.warn == ["monthly cost rises by $612.40, above the $500.00 cost gate; 1 approval from acme/finance is required"]
}

test_no_gate_configured if {
	d := conveyor.decision with input as cost_input("deploy", [10000]) with data.conveyor.config as {}
	d.approvals_required.count == 0
}

test_check_warns_the_delta_without_approvals if {
	d := conveyor.decision with input as cost_input("check", [700, -50.5]) with data.conveyor.config as cost_config
	d.allow
	d.approvals_required.count == 0
	d.warn == [
		"a monthly cost delta above $500.00 needs 1 approval from acme/finance at deploy time",
		"monthly cost changes by +$649.50 (a0 +$700.00, a1 -$50.50)",
	]
}
