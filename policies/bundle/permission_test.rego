package conveyor_test

import data.conveyor

prod_env := {"name": "production", "config": {"approvals": {"count": 2, "from": ["@acme/sre", "@acme/ml-leads"]}}}

perm_input(action, permission, teams, env) := {
	"action": action,
	"actor": {"login": "dev", "permission": permission, "teams": teams},
	"repository": "acme/shop",
	"environment": env,
}

test_write_may_lock_staging if {
	d := conveyor.decision with input as perm_input("lock", "write", [], {"name": "staging", "config": {}})
		with data.conveyor.config as {}
	d.allow
}

test_read_may_not_deploy_staging if {
	d := conveyor.decision with input as perm_input("rollback", "read", [], {"name": "staging", "config": {}})
		with data.conveyor.config as {}
	d.deny == ["@dev has read permission on acme/shop; rolling back needs write"]
}

test_missing_permission_is_denied if {
	inp := json.remove(perm_input("lock", "", [], {"name": "staging", "config": {}}), ["actor/permission"])
	d := conveyor.decision with input as inp with data.conveyor.config as {}
	d.deny == ["@dev has no permission on acme/shop; locking an environment needs write"]
}

test_write_may_not_lock_production_without_team if {
	d := conveyor.decision with input as perm_input("lock", "write", ["acme/web"], prod_env)
		with data.conveyor.config as {}
	d.deny == ["@dev has write permission; production needs maintain or membership in acme/sre or acme/ml-leads"]
}

test_write_in_listed_team_may_lock_production if {
	d := conveyor.decision with input as perm_input("lock", "write", ["acme/sre"], prod_env)
		with data.conveyor.config as {}
	d.allow
}

test_maintain_may_lock_production if {
	d := conveyor.decision with input as perm_input("lock", "maintain", [], prod_env)
		with data.conveyor.config as {}
	d.allow
}

test_production_without_teams_needs_maintain if {
	d := conveyor.decision with input as perm_input("rollback", "write", [], {"name": "production", "config": {}})
		with data.conveyor.config as {}
	d.deny == ["@dev has write permission; production needs maintain"]
}

test_check_needs_no_permission if {
	d := conveyor.decision with input as perm_input("check", "read", [], prod_env)
		with data.conveyor.config as {}
	d.allow
}
