package conveyor_test

import data.conveyor

owners_input(owners) := {
	"action": "check",
	"actor": {"login": "dev", "permission": "write", "teams": []},
	"repository": "acme/shop",
	"environment": {"name": "staging", "config": {}},
	"artifacts": [{"name": "web", "kind": "app", "owners": owners}],
}

test_artifact_without_owners_warns if {
	d := conveyor.decision with input as owners_input([]) with data.conveyor.config as {}
	d.allow
	d.warn == ["web has no owners; add owners: [\"@org/team\"] to it in .github/conveyor.yml"]
}

test_artifact_with_owners_is_quiet if {
	d := conveyor.decision with input as owners_input(["@acme/web"]) with data.conveyor.config as {}
	d.warn == []
}
