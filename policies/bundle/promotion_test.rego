package conveyor_test

import data.conveyor

promo_input(deployments) := {
	"action": "deploy",
	"actor": {"login": "dev", "permission": "admin", "teams": []},
	"repository": "acme/shop",
	"pull_request": {"number": 7, "author": "ana", "head_sha": "abc1234def", "base": "main"},
	"environment": {"name": "production", "config": {"requires": ["staging"]}},
	"artifacts": [],
	"deployments": deployments,
}

test_staging_succeeded_at_head_allows if {
	d := conveyor.decision with input as promo_input({"staging": {"sha": "abc1234def", "state": "succeeded"}})
		with data.conveyor.config as {}
	d.allow
}

test_staging_never_deployed_denies if {
	d := conveyor.decision with input as promo_input({}) with data.conveyor.config as {}
	d.deny == ["production requires a successful deployment of abc1234 to staging first; run /deploy staging"]
}

test_staging_at_other_sha_denies if {
	d := conveyor.decision with input as promo_input({"staging": {"sha": "0000000", "state": "succeeded"}})
		with data.conveyor.config as {}
	not d.allow
}

test_staging_failed_denies if {
	d := conveyor.decision with input as promo_input({"staging": {"sha": "abc1234def", "state": "failed"}})
		with data.conveyor.config as {}
	not d.allow
}

test_no_pull_request_denies if {
	inp := json.remove(promo_input({"staging": {"sha": "", "state": "succeeded"}}), ["pull_request"])
	d := conveyor.decision with input as inp with data.conveyor.config as {}
	d.deny == ["production requires a successful deployment to staging first, and this request names no pull request head SHA to compare"]
}

test_rollback_ignores_promotion_order if {
	inp := json.patch(promo_input({}), [{"op": "replace", "path": "/action", "value": "rollback"}])
	d := conveyor.decision with input as inp with data.conveyor.config as {}
	d.allow
}
