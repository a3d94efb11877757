package conveyor_test

import data.conveyor

approve_input(login, teams, requester) := {
	"action": "approve",
	"actor": {"login": login, "permission": "write", "teams": teams},
	"repository": "acme/shop",
	"pull_request": {"number": 7, "author": "ana", "head_sha": "abc1234", "base": "main"},
	"environment": {"name": "production", "config": {"approvals": {"count": 2, "from": ["@acme/sre", "@acme/ml-leads"]}}},
	"artifacts": [],
	"requester": requester,
}

test_deploy_carries_environment_approvals if {
	inp := json.patch(approve_input("ana", [], "ana"), [{"op": "replace", "path": "/action", "value": "deploy"}, {"op": "replace", "path": "/actor/permission", "value": "admin"}])
	d := conveyor.decision with input as inp with data.conveyor.config as {}
	d.approvals_required == {"count": 2, "from": ["acme/ml-leads", "acme/sre"], "groups": [{"count": 2, "from": ["acme/sre", "acme/ml-leads"]}]}
}

test_team_member_may_approve if {
	d := conveyor.decision with input as approve_input("sam", ["acme/sre"], "ana") with data.conveyor.config as {}
	d.allow
}

test_author_may_not_approve if {
	d := conveyor.decision with input as approve_input("Ana", ["acme/sre"], "bob") with data.conveyor.config as {}
	d.deny == ["@Ana opened PR #7 and cannot approve its own deployment; someone else must approve"]
}

test_requester_may_not_approve if {
	d := conveyor.decision with input as approve_input("sam", ["acme/sre"], "sam") with data.conveyor.config as {}
	d.deny == ["@sam asked for this deployment and cannot approve it; someone else must approve"]
}

test_outsider_may_not_approve if {
	d := conveyor.decision with input as approve_input("sam", ["acme/web"], "ana") with data.conveyor.config as {}
	d.deny == ["@sam is not in acme/ml-leads or acme/sre and cannot approve this deployment to production"]
}

test_finance_member_may_approve_when_cost_gate_trips if {
	base := approve_input("fin", ["acme/finance"], "ana")
	inp := object.union(base, {"artifacts": [{"name": "web", "cost": {"delta_usd": 900}}]})
	d := conveyor.decision with input as inp with data.conveyor.config as {"pricing": {"cost_gate_usd": 500, "finance_team": "acme/finance"}}
	d.allow
	d.approvals_required.count == 3
}

test_no_groups_needs_write if {
	inp := json.patch(approve_input("sam", [], "ana"), [
		{"op": "replace", "path": "/environment/config", "value": {}},
		{"op": "replace", "path": "/actor/permission", "value": "read"},
	])
	d := conveyor.decision with input as inp with data.conveyor.config as {}
	d.deny == ["@sam has read permission on acme/shop; approving needs write"]
}

test_check_needs_no_approvals if {
	inp := json.patch(approve_input("sam", [], "ana"), [{"op": "replace", "path": "/action", "value": "check"}])
	d := conveyor.decision with input as inp with data.conveyor.config as {}
	d.approvals_required.count == 0
}
