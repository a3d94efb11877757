# Freeze windows: no deployments while one of the environment's windows is
# open. Two forms, each in an IANA time zone:
#   "Fri 15:00-Mon 08:00 Europe/Berlin"  weekly, may wrap over the weekend (no zone: UTC)
#   "Dec 24-Dec 26 UTC"                  yearly, whole days, may wrap over New Year
# Conveyor reads the windows of input.environment.config.freeze (in Go, the
# same reader that validates the repository config) and sends the readings
# as input.environment.freeze_windows (docs/policies.md, "The contract"):
#   {"window": "Fri 15:00-Mon 08:00 Europe/Berlin", "form": "weekly", "start": 6660, "end": 480, "zone": "Europe/Berlin"}
#   {"window": "Dec 24-Dec 26 UTC", "form": "yearly", "start": 1224, "end": 1226, "zone": "UTC"}
# Weekly bounds are minutes from Monday 00:00, the end excluded; yearly
# bounds are month * 100 + day, both days included.
# A window without a reading, one whose zone the time built-ins cannot load,
# or a request time that is not RFC3339 denies: a freeze that cannot be
# checked is treated as closed.
package conveyor

long_weekday_minutes := {
	"Monday": 0, "Tuesday": 1440, "Wednesday": 2880, "Thursday": 4320,
	"Friday": 5760, "Saturday": 7200, "Sunday": 8640,
}

now_ns := time.parse_rfc3339_ns(input.now)

# freeze_open(r) is true or false once the reading r has been compared with
# the request time; it is undefined when that cannot be done.
#
# open says whether now lies in [start, end) on a circle whose period exceeds
# every value, so a start after the end wraps around (over the weekend or the
# year's end) and start == end is never open.
freeze_open(r) := open if {
	r.form == "weekly"
	clock := time.clock([now_ns, r.zone])
	now := (long_weekday_minutes[time.weekday([now_ns, r.zone])] + clock[0] * 60) + clock[1]
	open := ((now - r.start) + 10080) % 10080 < ((r.end - r.start) + 10080) % 10080 # minutes in a week
} else := open if {
	r.form == "yearly"
	end := r.end + 1
	date := time.date([now_ns, r.zone])
	now := date[1] * 100 + date[2]
	open := ((now - r.start) + 10000) % 10000 < ((end - r.start) + 10000) % 10000 # above any month * 100 + day
}

default freeze_readings := []

freeze_readings := input.environment.freeze_windows

# freeze_state maps each window that has a reading to whether it is open now,
# so every window is compared once per decision.
freeze_state := {w: open |
	some w in freeze_windows
	some r in freeze_readings
	r.window == w
	open := freeze_open(r)
}

freeze_readable(w) if freeze_state[w] != null

default freeze_windows := []

freeze_windows := input.environment.config.freeze

deny contains msg if {
	input.action == "deploy"
	some w, open in freeze_state
	open == true
	msg := sprintf("%s is frozen now (freeze window %q); deploy after it closes or ask for the window to be lifted", [env_name, w])
}

deny contains msg if {
	input.action == "deploy"
	some w in freeze_windows
	not freeze_readable(w)
	msg := sprintf("freeze window %q could not be checked against the request time %q; write windows like \"Fri 15:00-Mon 08:00 Europe/Berlin\" or \"Dec 24-Dec 26 UTC\"", [w, object.get(input, "now", "")])
}
