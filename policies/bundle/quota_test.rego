package conveyor_test

import data.conveyor

quota_config := {"teams": {"acme/ml": {"quota": {"production": {"cpu": 64, "memory_gib": 256, "gpu": 8}}}}}

model_artifact(gpu, replicas) := {
	"name": "fraud-model", "kind": "model", "owners": ["@acme/ml"],
	"resources": {"cpu": 4, "memory_gib": 16, "gpu": gpu, "replicas": replicas},
}

quota_input(action, artifacts, usage) := {
	"action": action,
	"actor": {"login": "dev", "permission": "admin", "teams": []},
	"repository": "acme/shop",
	"environment": {"name": "production", "config": {}},
	"artifacts": artifacts,
	"usage": usage,
}

test_within_quota_allows if {
	d := conveyor.decision with input as quota_input("check", [model_artifact(1, 2)], {"acme/ml": {"production": {"cpu": 40, "memory_gib": 100, "gpu": 6}}})
		with data.conveyor.config as quota_config
	d.allow
}

test_gpu_over_quota_denies if {
	d := conveyor.decision with input as quota_input("deploy", [model_artifact(1, 3)], {"acme/ml": {"production": {"cpu": 40, "memory_gib": 100, "gpu": 6}}})
		with data.conveyor.config as quota_config
	d.deny == ["team acme/ml would use 9 GPU in production (6 running + 3 requested), above its quota of 8; lower the request or ask for a larger quota"]
}

test_candidates_of_one_team_add_up if {
	arts := [model_artifact(0, 1), object.union(model_artifact(0, 1), {"name": "risk-model"})]
	d := conveyor.decision with input as quota_input("check", arts, {"acme/ml": {"production": {"cpu": 60}}})
		with data.conveyor.config as quota_config
	d.deny == ["team acme/ml would use 68 CPU in production (60 running + 8 requested), above its quota of 64; lower the request or ask for a larger quota"]
}

test_other_environment_has_no_quota if {
	inp := json.patch(quota_input("check", [model_artifact(100, 1)], {}), [{"op": "replace", "path": "/environment/name", "value": "staging"}])
	d := conveyor.decision with input as inp with data.conveyor.config as quota_config
	d.allow
}

test_user_owner_has_no_quota if {
	art := object.union(model_artifact(100, 1), {"owners": ["@octocat"]})
	d := conveyor.decision with input as quota_input("check", [art], {}) with data.conveyor.config as quota_config
	d.allow
}

test_zero_limit_is_no_limit if {
	cfg := {"teams": {"acme/ml": {"quota": {"production": {"cpu": 64, "memory_gib": 0, "gpu": 0}}}}}
	d := conveyor.decision with input as quota_input("check", [model_artifact(50, 1)], {}) with data.conveyor.config as cfg
	d.allow
}

test_artifact_naming_its_team_twice_counts_once if {
	art := object.union(model_artifact(3, 1), {"owners": ["@acme/ml", "acme/ml"]})
	d := conveyor.decision with input as quota_input("check", [art], {"acme/ml": {"production": {"gpu": 6}}})
		with data.conveyor.config as quota_config
	d.deny == ["team acme/ml would use 9 GPU in production (6 running + 3 requested), above its quota of 8; lower the request or ask for a larger quota"]
}

test_each_team_is_held_to_its_own_quota if {
	cfg := {"teams": {
		"acme/ml": {"quota": {"production": {"cpu": 64, "memory_gib": 256, "gpu": 8}}},
		"acme/web": {"quota": {"production": {"cpu": 10}}},
	}}
	web := {"name": "web", "owners": ["@acme/web"], "resources": {"cpu": 4, "memory_gib": 1, "gpu": 0, "replicas": 3}}
	d := conveyor.decision with input as quota_input("deploy", [model_artifact(1, 1), web], {"acme/ml": {"production": {"gpu": 7}}})
		with data.conveyor.config as cfg
	d.deny == ["team acme/web would use 12 CPU in production (0 running + 12 requested), above its quota of 10; lower the request or ask for a larger quota"]
}
