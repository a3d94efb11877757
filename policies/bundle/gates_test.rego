package conveyor_test

import data.conveyor

failed_model := {
	"name": "fraud-model", "kind": "model", "owners": ["@acme/ml"],
	"evidence": {"ci": {}, "metrics": {"metric": "auc", "candidate": 0.87, "production": 0.91, "min": 0.9, "max_regression": 0.005, "regression": 0.04, "passed": false}},
}

broken_dbt := {
	"name": "analytics", "kind": "dbt", "owners": ["@acme/data"],
	"evidence": {"ci": {}, "dbt": {"modified": ["orders"], "downstream": ["revenue"], "untested": ["orders"], "contract_breaks": ["orders.amount: type numeric -> text"]}},
}

gate_input(env, teams, artifacts) := {
	"action": "deploy",
	"actor": {"login": "dev", "permission": "admin", "teams": teams},
	"repository": "acme/shop",
	"environment": {"name": env, "config": {}},
	"artifacts": artifacts,
}

model_reason := "fraud-model: auc is 0.87 (minimum 0.9; serving in production 0.91, regression 0.04, allowed 0.005); the model evaluation did not pass"

gate_config := {"policies": {"override_teams": ["acme/ml-leads"]}}

test_failed_model_denies_production if {
	d := conveyor.decision with input as gate_input("production", [], [failed_model]) with data.conveyor.config as gate_config
	d.deny == [model_reason]
}

test_failed_model_warns_in_staging if {
	d := conveyor.decision with input as gate_input("staging", [], [failed_model]) with data.conveyor.config as gate_config
	d.allow
	d.warn == [model_reason]
}

test_lower_is_better_model_names_its_maximum if {
	slow := json.patch(failed_model, [{"op": "replace", "path": "/evidence/metrics", "value": {
		"metric": "p95_latency_ms", "direction": "lower", "candidate": 310, "production": 240,
		"min": 0, "max": 300, "max_regression": 20, "regression": 70, "passed": false,
	}}])
	d := conveyor.decision with input as gate_input("production", [], [slow]) with data.conveyor.config as gate_config
	d.deny == ["fraud-model: p95_latency_ms is 310 (maximum 300, lower is better; serving in production 240, regression 70, allowed 20); the model evaluation did not pass"]
}

drifted_model := json.patch(failed_model, [{"op": "replace", "path": "/evidence/metrics", "value": {
	"metric": "auc", "direction": "higher", "candidate": 0.935, "production": 0.93, "min": 0.9, "max_regression": 0.005, "regression": -0.005, "passed": true,
	"drift": {"metric": "psi", "source": "metric", "max": 0.2, "measured": true, "production": 0.31, "above": true, "addressed": false, "candidate": 0, "block": true, "passed": false},
}}])

drift_reason := "fraud-model: drift psi on the version serving in production is 0.31, above the maximum 0.2, and the candidate does not address it (no psi of its own within the maximum); drift.block stops the promotion"

test_blocking_drift_denies_production_and_yields_to_override if {
	d := conveyor.decision with input as gate_input("production", [], [drifted_model]) with data.conveyor.config as gate_config
	d.deny == [drift_reason]
	o := conveyor.decision with input as gate_input("production", ["acme/ml-leads"], [drifted_model]) with data.conveyor.config as gate_config
	o.allow
	o.warn == [concat("", ["overridden by acme/ml-leads: ", drift_reason])]
}

test_addressed_drift_allows_production if {
	ok := json.patch(drifted_model, [
		{"op": "replace", "path": "/evidence/metrics/drift/addressed", "value": true},
		{"op": "replace", "path": "/evidence/metrics/drift/passed", "value": true},
	])
	d := conveyor.decision with input as gate_input("production", [], [ok]) with data.conveyor.config as gate_config
	d.allow
	d.deny == []
}

test_lower_is_better_without_maximum_says_so if {
	slow := json.patch(failed_model, [{"op": "replace", "path": "/evidence/metrics", "value": {
		"metric": "log_loss", "direction": "lower", "candidate": 0.41, "production": 0.35,
		"min": 0, "max_regression": 0.02, "regression": 0.06, "passed": false,
	}}])
	d := conveyor.decision with input as gate_input("production", [], [slow]) with data.conveyor.config as gate_config
	d.deny == ["fraud-model: log_loss is 0.41 (no maximum, lower is better; serving in production 0.35, regression 0.06, allowed 0.02); the model evaluation did not pass"]
}

test_every_failed_gate_of_a_model_is_named if {
	auc := {"metric": "auc", "direction": "higher", "candidate": 0.93, "production": 0.93, "min": 0.9, "max_regression": 0.005, "regression": 0, "passed": true}
	lat := {"metric": "p95_ms", "direction": "lower", "candidate": 340, "production": 250, "min": 0, "max": 300, "max_regression": 20, "regression": 90, "passed": false}
	two := json.patch(failed_model, [{"op": "replace", "path": "/evidence/metrics", "value": object.union(lat, {"gates": [auc, lat]})}])
	d := conveyor.decision with input as gate_input("production", [], [two]) with data.conveyor.config as gate_config
	d.deny == ["fraud-model: p95_ms is 340 (maximum 300, lower is better; serving in production 250, regression 90, allowed 20); the model evaluation did not pass"]
}

test_passed_model_allows_production if {
	ok := json.patch(failed_model, [{"op": "replace", "path": "/evidence/metrics/passed", "value": true}])
	d := conveyor.decision with input as gate_input("production", [], [ok]) with data.conveyor.config as gate_config
	d.allow
	d.warn == []
}

test_override_team_turns_deny_into_warn if {
	d := conveyor.decision with input as gate_input("production", ["acme/ml-leads"], [failed_model]) with data.conveyor.config as gate_config
	d.allow
	d.warn == [concat("", ["overridden by acme/ml-leads: ", model_reason])]
}

test_dbt_contract_break_and_untested_deny_production if {
	d := conveyor.decision with input as gate_input("production", [], [broken_dbt]) with data.conveyor.config as gate_config
	d.deny == [
		"analytics: dbt contract broken (orders.amount: type numeric -> text); restore the columns and types or version the model",
		"analytics: modified dbt models without tests: orders; add tests for them",
	]
}

test_clean_dbt_allows_production if {
	clean := json.patch(broken_dbt, [
		{"op": "replace", "path": "/evidence/dbt/untested", "value": []},
		{"op": "replace", "path": "/evidence/dbt/contract_breaks", "value": []},
	])
	d := conveyor.decision with input as gate_input("production", [], [clean]) with data.conveyor.config as gate_config
	d.allow
}
