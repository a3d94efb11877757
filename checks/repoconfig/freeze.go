package repoconfig

import (
	"fmt"
	"regexp"
	"strconv"
	"time"
	_ "time/tzdata" // freeze windows name IANA zones; do not depend on the host's zoneinfo
)

// FreezeWindow is a weekly window during which an environment takes no
// deployments, for example "Fri 15:00-Mon 08:00 Europe/Berlin".
type FreezeWindow struct {
	StartDay    time.Weekday
	StartMinute int // minutes after midnight
	EndDay      time.Weekday
	EndMinute   int
	Location    *time.Location
}

var (
	freezeRE = regexp.MustCompile(`^(Mon|Tue|Wed|Thu|Fri|Sat|Sun) ([01]\d|2[0-3]):([0-5]\d)-(Mon|Tue|Wed|Thu|Fri|Sat|Sun) ([01]\d|2[0-3]):([0-5]\d)(?: ([A-Za-z][A-Za-z0-9_+\-/]*))?$`)
	weekdays = map[string]time.Weekday{"Sun": time.Sunday, "Mon": time.Monday, "Tue": time.Tuesday,
		"Wed": time.Wednesday, "Thu": time.Thursday, "Fri": time.Friday, "Sat": time.Saturday}
)

// ParseFreeze parses "Day HH:MM-Day HH:MM [IANA zone]"; the zone defaults to UTC.
func ParseFreeze(s string) (FreezeWindow, error) {
	m := freezeRE.FindStringSubmatch(s)
	if m == nil {
		return FreezeWindow{}, fmt.Errorf("%q is not a weekly window; write for example \"Fri 15:00-Mon 08:00 Europe/Berlin\"", s)
	}
	w := FreezeWindow{StartDay: weekdays[m[1]], EndDay: weekdays[m[4]], Location: time.UTC}
	w.StartMinute = atoi(m[2])*60 + atoi(m[3])
	w.EndMinute = atoi(m[5])*60 + atoi(m[6])
	if m[7] != "" {
		loc, err := time.LoadLocation(m[7])
		if err != nil {
			return FreezeWindow{}, fmt.Errorf("%q: %q is not a time zone; write an IANA zone such as Europe/Berlin or UTC", s, m[7])
		}
		w.Location = loc
	}
	if w.StartDay == w.EndDay && w.StartMinute == w.EndMinute {
		return FreezeWindow{}, fmt.Errorf("%q starts and ends at the same moment; write a window such as \"Fri 15:00-Mon 08:00\"", s)
	}
	return w, nil
}

// Contains reports whether t falls inside the window (start inclusive, end
// exclusive), judged in the window's time zone. Windows may wrap the week.
func (w FreezeWindow) Contains(t time.Time) bool {
	t = t.In(w.Location)
	const week = 7 * 24 * 60
	at := int(t.Weekday())*24*60 + t.Hour()*60 + t.Minute()
	start := int(w.StartDay)*24*60 + w.StartMinute
	end := int(w.EndDay)*24*60 + w.EndMinute
	length := (end - start + week) % week
	return (at-start+week)%week < length
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}
