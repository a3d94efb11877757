package conveyor_test

import data.conveyor

# readings are Conveyor's readings of the windows these tests use, as it
# sends them in input.environment.freeze_windows (TestRegoFreezeReadingsMatchGo
# checks them against the Go reader); "weekends" has none.
readings := {
	"Fri 15:00-Mon 08:00 Europe/Berlin": {"window": "Fri 15:00-Mon 08:00 Europe/Berlin", "form": "weekly", "start": 6660, "end": 480, "zone": "Europe/Berlin"},
	"Fri 15:00-Mon 08:00": {"window": "Fri 15:00-Mon 08:00", "form": "weekly", "start": 6660, "end": 480, "zone": "UTC"},
	"Fri 15:00-Mon 08:00 Mars/Olympus": {"window": "Fri 15:00-Mon 08:00 Mars/Olympus", "form": "weekly", "start": 6660, "end": 480, "zone": "Mars/Olympus"},
	"Tue 09:00-Thu 17:00 UTC": {"window": "Tue 09:00-Thu 17:00 UTC", "form": "weekly", "start": 1980, "end": 5340, "zone": "UTC"},
	"Dec 24-Dec 26 UTC": {"window": "Dec 24-Dec 26 UTC", "form": "yearly", "start": 1224, "end": 1226, "zone": "UTC"},
	"Dec 28-Jan 02 UTC": {"window": "Dec 28-Jan 02 UTC", "form": "yearly", "start": 1228, "end": 102, "zone": "UTC"},
	"Jun 10-Jun 12 UTC": {"window": "Jun 10-Jun 12 UTC", "form": "yearly", "start": 610, "end": 612, "zone": "UTC"},
}

freeze_input(now, windows) := {
	"action": "deploy",
	"actor": {"login": "dev", "permission": "admin", "teams": []},
	"repository": "acme/shop",
	"environment": {
		"name": "staging",
		"config": {"freeze": windows},
		"freeze_windows": [readings[w] | some w in windows],
	},
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

# A window the input carries no reading for cannot be checked, and denies.
test_window_without_reading_denies if {
	inp := json.patch(freeze_input("2025-06-11T10:00:00Z", weekend), [{"op": "replace", "path": "/environment/freeze_windows", "value": []}])
	d := conveyor.decision with input as inp with data.conveyor.config as {}
	d.deny == ["freeze window \"Fri 15:00-Mon 08:00 Europe/Berlin\" could not be checked against the request time \"2025-06-11T10:00:00Z\"; write windows like \"Fri 15:00-Mon 08:00 Europe/Berlin\" or \"Dec 24-Dec 26 UTC\""]
}

test_window_of_either_form_reports_open_and_closed if {
	conveyor.freeze_state == {"Fri 15:00-Mon 08:00 Europe/Berlin": false, "Jun 10-Jun 12 UTC": true}
		with input as freeze_input("2025-06-11T10:00:00Z", ["Fri 15:00-Mon 08:00 Europe/Berlin", "Jun 10-Jun 12 UTC", "weekends"])
}
