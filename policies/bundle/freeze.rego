# Freeze windows: no deployments while one of the environment's windows is
# open. Two forms, each in an IANA time zone:
#   "Fri 15:00-Mon 08:00 Europe/Berlin"  weekly, may wrap over the weekend
#   "Dec 24-Dec 26 UTC"                  yearly, whole days, may wrap over New Year
# A window that cannot be read, or a request time that is not RFC3339, denies:
# a freeze that cannot be checked is treated as closed.
package conveyor

weekday_numbers := {"Mon": 1, "Tue": 2, "Wed": 3, "Thu": 4, "Fri": 5, "Sat": 6, "Sun": 7}

long_weekday_numbers := {
	"Monday": 1, "Tuesday": 2, "Wednesday": 3, "Thursday": 4,
	"Friday": 5, "Saturday": 6, "Sunday": 7,
}

month_numbers := {
	"Jan": 1, "Feb": 2, "Mar": 3, "Apr": 4, "May": 5, "Jun": 6,
	"Jul": 7, "Aug": 8, "Sep": 9, "Oct": 10, "Nov": 11, "Dec": 12,
}

weekly_pattern := `^(Mon|Tue|Wed|Thu|Fri|Sat|Sun) ([01][0-9]|2[0-3]):([0-5][0-9])-(Mon|Tue|Wed|Thu|Fri|Sat|Sun) ([01][0-9]|2[0-3]):([0-5][0-9]) (\S+)$`

yearly_pattern := `^(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) ([0-9]{1,2})-(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) ([0-9]{1,2}) (\S+)$`

now_ns := time.parse_rfc3339_ns(input.now)

# freeze_open(w) is true or false once the window has been read and compared
# with the request time; it is undefined when either cannot be read.
freeze_open(w) := open if {
	m := regex.find_all_string_submatch_n(weekly_pattern, trim_space(w), 1)[0]
	start := ((weekday_numbers[m[1]] - 1) * 1440 + to_number(m[2]) * 60) + to_number(m[3])
	end := ((weekday_numbers[m[4]] - 1) * 1440 + to_number(m[5]) * 60) + to_number(m[6])
	day := long_weekday_numbers[time.weekday([now_ns, m[7]])]
	clock := time.clock([now_ns, m[7]])
	now := ((day - 1) * 1440 + clock[0] * 60) + clock[1]
	open := within(now, start, end)
}

freeze_open(w) := open if {
	m := regex.find_all_string_submatch_n(yearly_pattern, trim_space(w), 1)[0]
	start := month_numbers[m[1]] * 100 + to_number(m[2])
	end := (month_numbers[m[3]] * 100 + to_number(m[4])) + 1
	date := time.date([now_ns, m[5]])
	now := date[1] * 100 + date[2]
	open := within(now, start, end)
}

# freeze_state maps each readable window to whether it is open now, so every
# window is parsed and compared once per decision.
freeze_state := {w: open | some w in freeze_windows; open := freeze_open(w)}

freeze_readable(w) if freeze_state[w] != null

# within says whether x lies in [start, end), where a start after the end
# wraps around (over the weekend or the year's end).
within(x, start, end) := true if {
	start <= end
	start <= x
	x < end
} else := true if {
	start > end
	x >= start
} else := true if {
	start > end
	x < end
} else := false

freeze_windows := object.get(env_config, "freeze", [])

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
