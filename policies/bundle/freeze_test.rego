package conveyor_test

import data.conveyor

freeze_input(now, windows) := {
	"action": "deploy",
	"actor": {"login": "dev", "permission": "admin", "teams": []},
	"repository": "acme/shop",
	"environment": {"name": "staging", "config": {"freeze": windows}},
	"artifacts": [],
	"now": now,
}

weekend := ["Fri 15:00-Mon 08:00 Europe/Berlin"]

frozen(now, windows) if {
	d := conveyor.decision with input as freeze_input(now, windows) with data.conveyor.config as {}
	not d.allow
	some msg in d.deny
	startswith(msg, "staging is frozen now")
}

open(now, windows) if {
	d := conveyor.decision with input as freeze_input(now, windows) with data.conveyor.config as {}
	d.allow
}

# 2025-06-06 is a Friday; Berlin is UTC+2 in June.
test_friday_before_window_is_open if open("2025-06-06T12:59:00Z", weekend)

test_friday_after_start_in_berlin_is_frozen if frozen("2025-06-06T13:00:00Z", weekend)

test_saturday_is_frozen if frozen("2025-06-07T10:00:00Z", weekend)

test_sunday_night_is_frozen if frozen("2025-06-08T23:30:00Z", weekend)

test_monday_morning_before_end_is_frozen if frozen("2025-06-09T05:59:00Z", weekend)

test_monday_after_end_is_open if open("2025-06-09T06:00:00Z", weekend)

test_wednesday_is_open if open("2025-06-11T10:00:00Z", weekend)

test_midweek_window_does_not_wrap if {
	frozen("2025-06-11T10:00:00Z", ["Tue 09:00-Thu 17:00 UTC"])
	open("2025-06-13T10:00:00Z", ["Tue 09:00-Thu 17:00 UTC"])
}

test_yearly_window if {
	frozen("2025-12-25T10:00:00Z", ["Dec 24-Dec 26 UTC"])
	frozen("2025-12-26T23:59:00Z", ["Dec 24-Dec 26 UTC"])
	open("2025-12-27T00:00:00Z", ["Dec 24-Dec 26 UTC"])
}

test_yearly_window_wraps_new_year if {
	frozen("2026-01-01T10:00:00Z", ["Dec 28-Jan 02 UTC"])
	open("2026-01-03T10:00:00Z", ["Dec 28-Jan 02 UTC"])
}

test_unreadable_window_denies if {
	d := conveyor.decision with input as freeze_input("2025-06-11T10:00:00Z", ["weekends"]) with data.conveyor.config as {}
	d.deny == ["freeze window \"weekends\" could not be checked against the request time \"2025-06-11T10:00:00Z\"; write windows like \"Fri 15:00-Mon 08:00 Europe/Berlin\" or \"Dec 24-Dec 26 UTC\""]
}

test_unknown_zone_denies if {
	d := conveyor.decision with input as freeze_input("2025-06-11T10:00:00Z", ["Fri 15:00-Mon 08:00 Mars/Olympus"]) with data.conveyor.config as {}
	not d.allow
}

test_bad_request_time_denies if {
	d := conveyor.decision with input as freeze_input("yesterday", weekend) with data.conveyor.config as {}
	not d.allow
}

test_rollback_ignores_freeze if {
	inp := json.patch(freeze_input("2025-06-07T10:00:00Z", weekend), [{"op": "replace", "path": "/action", "value": "rollback"}])
	d := conveyor.decision with input as inp with data.conveyor.config as {}
	d.allow
}

# A window without a zone is in UTC, as the repository config reads it.
test_window_without_zone_is_utc if {
	frozen("2025-06-06T15:00:00Z", ["Fri 15:00-Mon 08:00"])
	open("2025-06-06T14:59:00Z", ["Fri 15:00-Mon 08:00"])
}

# parse_freeze_window only reads a window: minutes from Monday 00:00 for
# the weekly form (UTC when no zone is given), month * 100 + day for the
# yearly one, undefined for anything else.
test_freeze_window_reads_both_forms if {
	parse_freeze_window("Fri 15:00-Mon 08:00 Europe/Berlin") == ["weekly", 6660, 480, "Europe/Berlin"]
	parse_freeze_window("  Tue 09:00-Thu 17:00  ") == ["weekly", 1980, 5340, "UTC"]
	parse_freeze_window("Dec 28-Jan 02 UTC") == ["yearly", 1228, 102, "UTC"]
	not parse_freeze_window("weekends")
	not parse_freeze_window("Fri 24:00-Mon 08:00")
	not parse_freeze_window("Dec 24-Dec 26")
}

test_window_of_either_form_reports_open_and_closed if {
	conveyor.freeze_state == {"Fri 15:00-Mon 08:00 Europe/Berlin": false, "Jun 10-Jun 12 UTC": true}
		with input as freeze_input("2025-06-11T10:00:00Z", ["Fri 15:00-Mon 08:00 Europe/Berlin", "Jun 10-Jun 12 UTC", "weekends"])
}
