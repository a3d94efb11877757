# Freeze windows: no deployments while one of the environment's windows is
# open. Two forms, each in an IANA time zone:
#   "Fri 15:00-Mon 08:00 Europe/Berlin"  weekly, may wrap over the weekend (no zone: UTC)
#   "Dec 24-Dec 26 UTC"                  yearly, whole days, may wrap over New Year
# A window that cannot be read, or a request time that is not RFC3339, denies:
# a freeze that cannot be checked is treated as closed.
package conveyor

# Minutes from Monday 00:00 to the start of each day.
weekday_minutes := {"Mon": 0, "Tue": 1440, "Wed": 2880, "Thu": 4320, "Fri": 5760, "Sat": 7200, "Sun": 8640}

long_weekday_minutes := {
	"Monday": 0, "Tuesday": 1440, "Wednesday": 2880, "Thursday": 4320,
	"Friday": 5760, "Saturday": 7200, "Sunday": 8640,
}

month_numbers := {
	"Jan": 1, "Feb": 2, "Mar": 3, "Apr": 4, "May": 5, "Jun": 6,
	"Jul": 7, "Aug": 8, "Sep": 9, "Oct": 10, "Nov": 11, "Dec": 12,
}

weekly_pattern := `^(Mon|Tue|Wed|Thu|Fri|Sat|Sun) ([01][0-9]|2[0-3]):([0-5][0-9])-(Mon|Tue|Wed|Thu|Fri|Sat|Sun) ([01][0-9]|2[0-3]):([0-5][0-9])(?: (\S+))?$`

yearly_pattern := `^(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) ([0-9]{1,2})-(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) ([0-9]{1,2}) (\S+)$`

now_ns := time.parse_rfc3339_ns(input.now)

# freeze_open(w) is true or false once the window has been read and compared
# with the request time; it is undefined when either cannot be read.
#
# parse_freeze_window(w) reads w (trimmed) with weekly_pattern, then
# yearly_pattern, into [form, start, end, zone]: weekly bounds in minutes from
# Monday 00:00 (weekday_minutes plus the clock; no zone is UTC, see
# zone_or_utc), yearly bounds as month_numbers[month] * 100 + day. It only
# parses, and caches what it parsed; a string of neither form is undefined.
#
# open says whether now lies in [start, end) on a circle whose period exceeds
# every value, so a start after the end wraps around (over the weekend or the
# year's end) and start == end is never open. A yearly window's end day is
# included.
freeze_open(w) := open if {
	some start, end, zone
	["weekly", start, end, zone] = parse_freeze_window(w)
	clock := time.clock([now_ns, zone])
	now := (long_weekday_minutes[time.weekday([now_ns, zone])] + clock[0] * 60) + clock[1]
	open := ((now - start) + 10080) % 10080 < ((end - start) + 10080) % 10080 # minutes in a week
} else := open if {
	some start, last, zone
	["yearly", start, last, zone] = parse_freeze_window(w)
	end := last + 1
	date := time.date([now_ns, zone])
	now := date[1] * 100 + date[2]
	open := ((now - start) + 10000) % 10000 < ((end - start) + 10000) % 10000 # above any month * 100 + day
}

# zone_or_utc: a weekly window without a zone is in UTC, as the repository
# config validator reads it.
zone_or_utc(z) := z if z != ""

else := "UTC"

# freeze_state maps each readable window to whether it is open now, so every
# window is parsed and compared once per decision.
freeze_state := {w: open | some w in freeze_windows; open := freeze_open(w)}

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
