package conveyor_test

import data.conveyor

fork_input(from_fork) := {
	"action": "deploy",
	"actor": {"login": "dev", "permission": "admin", "teams": []},
	"repository": "acme/shop",
	"pull_request": {"number": 9, "author": "ext", "head_sha": "abc1234", "base": "main", "from_fork": from_fork},
	"environment": {"name": "staging", "config": {}},
	"artifacts": [],
}

test_branch_pr_deploys if {
	d := conveyor.decision with input as fork_input(false) with data.conveyor.config as {}
	d.allow
}

test_fork_pr_is_denied if {
	d := conveyor.decision with input as fork_input(true) with data.conveyor.config as {}
	d.deny == ["PR #9 comes from a fork and fork PRs are not deployed; push the branch to acme/shop and open the PR from there"]
}

test_fork_pr_allowed_by_rule if {
	d := conveyor.decision with input as fork_input(true) with data.conveyor.config as {}
		with conveyor.fork_deploy_allowed as true
	d.allow
}
