package conveyor_test

import data.conveyor

test_empty_check_is_allowed if {
	d := conveyor.decision with input as {"action": "check", "environment": {"name": "staging", "config": {}}, "artifacts": []}
		with data.conveyor.config as {}
	d.allow
	d.deny == []
	d.approvals_required == {"count": 0, "from": [], "groups": []}
}

test_unknown_action_is_denied if {
	d := conveyor.decision with input as {"action": "launch"} with data.conveyor.config as {}
	not d.allow
	d.deny == ["action \"launch\" is not one of check, deploy, approve, rollback, lock"]
}

test_missing_action_is_denied if {
	d := conveyor.decision with input as {} with data.conveyor.config as {}
	not d.allow
}

test_money_formats_integers_and_floats if {
	conveyor.money(500) == "500.00"
	conveyor.money(612.4) == "612.40"
	conveyor.money(-3.456) == "-3.46"
}

test_or_list if {
	conveyor.or_list(["a"]) == "a"
	conveyor.or_list(["a", "b", "c"]) == "a, b or c"
}
