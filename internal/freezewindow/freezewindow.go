// Package freezewindow is the one reader of freeze windows, the times when an
// environment takes no deployments. A repository config's windows are
// checked with Parse when the config is loaded; the policy input carries
// what Read makes of each window (docs/policies.md, "The contract"), and the
// Rego policy compares that with the request time using stock built-ins.
// Whether a deployment may go ahead is decided in the policy, not here.
//
// Two forms, each in an IANA time zone:
//
//	"Fri 15:00-Mon 08:00 Europe/Berlin"  weekly; may wrap over the weekend; no zone means UTC
//	"Dec 24-Dec 26 UTC"                  yearly, whole days; may wrap over New Year; zone required
package freezewindow

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	// Windows name IANA zones; embed the zone database so they work on
	// machines without tzdata.
	_ "time/tzdata"
)

// Form says how a window repeats.
type Form string

// The two forms of window.
const (
	Weekly Form = "weekly"
	Yearly Form = "yearly"
)

// Window is one freeze window as read from its text.
type Window struct {
	Form Form
	// Start and End bound the window. Weekly: minutes after Monday 00:00 in
	// the window's zone, the start included and the end excluded. Yearly:
	// month*100 + day (1224 for Dec 24), both days included.
	Start, End int
	// Zone is the IANA zone as written; a weekly window that names none is in
	// "UTC".
	Zone string
}

// The patterns Read accepts, after trimming surrounding white space. They
// are the patterns the bundle's freeze.rego used before windows were read in
// Go, so every window reads as it did.
var (
	weeklyRE = regexp.MustCompile(`^(Mon|Tue|Wed|Thu|Fri|Sat|Sun) ([01][0-9]|2[0-3]):([0-5][0-9])-(Mon|Tue|Wed|Thu|Fri|Sat|Sun) ([01][0-9]|2[0-3]):([0-5][0-9])(?: (\S+))?$`)
	yearlyRE = regexp.MustCompile(`^(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) ([0-9]{1,2})-(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) ([0-9]{1,2}) (\S+)$`)

	weekdays = []string{"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"}
	months   = []string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}
	// monthDays allows Feb 29: a yearly window is a calendar range, and leap
	// years have the day.
	monthDays = []int{31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}
)

const (
	minutesPerWeek = 7 * 24 * 60
	// yearlyPeriod exceeds every month*100 + day, so yearly bounds can be
	// compared on a circle that wraps over New Year.
	yearlyPeriod = 10000
)

// Read reads s by form alone: the weekly or yearly pattern, fields in their
// ranges as the patterns spell them. It neither loads the zone nor checks
// that a yearly day exists in its month; Parse does. ok is false when s is
// of neither form.
func Read(s string) (w Window, ok bool) {
	s = strings.TrimSpace(s)
	if m := weeklyRE.FindStringSubmatch(s); m != nil {
		w = Window{Form: Weekly, Zone: "UTC",
			Start: index(weekdays, m[1])*1440 + atoi(m[2])*60 + atoi(m[3]),
			End:   index(weekdays, m[4])*1440 + atoi(m[5])*60 + atoi(m[6])}
		if m[7] != "" {
			w.Zone = m[7]
		}
		return w, true
	}
	if m := yearlyRE.FindStringSubmatch(s); m != nil {
		return Window{Form: Yearly, Zone: m[5],
			Start: (index(months, m[1])+1)*100 + atoi(m[2]),
			End:   (index(months, m[3])+1)*100 + atoi(m[4])}, true
	}
	return Window{}, false
}

// Parse reads s as Read does and checks what a repository config's window
// must satisfy: the zone is an IANA zone (not the server's "Local"), a
// yearly window's days exist, and a weekly window is not empty. Its errors
// say how to write the window.
func Parse(s string) (Window, error) {
	w, ok := Read(s)
	if !ok {
		return Window{}, fmt.Errorf("%q is not a freeze window; write a weekly one such as \"Fri 15:00-Mon 08:00 Europe/Berlin\" or a yearly one such as \"Dec 24-Dec 26 UTC\"", s)
	}
	if _, err := w.Location(); err != nil {
		return Window{}, fmt.Errorf("%q: %v", s, err)
	}
	switch w.Form {
	case Weekly:
		if w.Start == w.End {
			return Window{}, fmt.Errorf("%q starts and ends at the same moment; write a window such as \"Fri 15:00-Mon 08:00\"", s)
		}
	case Yearly:
		for _, d := range []int{w.Start, w.End} {
			if month, day := d/100, d%100; day < 1 || day > monthDays[month-1] {
				return Window{}, fmt.Errorf("%q: %s has no day %d; write days that exist, such as \"Dec 24-Dec 26 UTC\"", s, months[month-1], day)
			}
		}
	}
	return w, nil
}

// Location loads the window's zone.
func (w Window) Location() (*time.Location, error) {
	// time.LoadLocation reads "Local" as the machine's zone and "" as UTC;
	// a window must mean the same on every server.
	if w.Zone == "" || w.Zone == "Local" {
		return nil, fmt.Errorf("%q is not a time zone; write an IANA zone such as Europe/Berlin or UTC", w.Zone)
	}
	loc, err := time.LoadLocation(w.Zone)
	if err != nil {
		return nil, fmt.Errorf("%q is not a time zone; write an IANA zone such as Europe/Berlin or UTC", w.Zone)
	}
	return loc, nil
}

// Contains reports whether t falls inside the window, judged in the
// window's zone with the arithmetic the bundle's freeze.rego uses. A window
// whose zone cannot be loaded contains nothing; Parse rejects such windows.
func (w Window) Contains(t time.Time) bool {
	loc, err := w.Location()
	if err != nil {
		return false
	}
	t = t.In(loc)
	switch w.Form {
	case Weekly:
		now := (int(t.Weekday())+6)%7*1440 + t.Hour()*60 + t.Minute()
		return circular(now, w.Start, w.End, minutesPerWeek)
	case Yearly:
		now := int(t.Month())*100 + t.Day()
		return circular(now, w.Start, w.End+1, yearlyPeriod)
	}
	return false
}

// circular reports whether now lies in [start, end) on a circle of the
// given period: a start after the end wraps around, start == end is empty.
func circular(now, start, end, period int) bool {
	return ((now-start)%period+period)%period < ((end-start)%period+period)%period
}

// String writes the window in its canonical form, which Parse reads back.
func (w Window) String() string {
	switch w.Form {
	case Weekly:
		return fmt.Sprintf("%s %02d:%02d-%s %02d:%02d %s", weekdays[w.Start/1440], w.Start%1440/60, w.Start%60,
			weekdays[w.End/1440], w.End%1440/60, w.End%60, w.Zone)
	case Yearly:
		return fmt.Sprintf("%s %d-%s %d %s", months[w.Start/100-1], w.Start%100, months[w.End/100-1], w.End%100, w.Zone)
	}
	return ""
}

func index(xs []string, x string) int {
	for i, y := range xs {
		if x == y {
			return i
		}
	}
	return -1
}

// atoi reads the one or two digits the patterns allow.
func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// NextChange is the first moment after t at which Contains changes its
// answer: when the window in force at t ends, or when the next one begins.
// Weekly windows change on a minute, yearly ones at midnight, both in the
// window's zone (a wall-clock time skipped by a DST change is normalised
// as time.Date does). A window whose zone cannot be loaded never changes:
// the zero Time.
func (w Window) NextChange(t time.Time) time.Time {
	loc, err := w.Location()
	if err != nil {
		return time.Time{}
	}
	in := w.Contains(t)
	lt := t.In(loc)
	switch w.Form {
	case Weekly:
		if w.Start == w.End {
			return time.Time{}
		}
		now := (int(lt.Weekday())+6)%7*1440 + lt.Hour()*60 + lt.Minute()
		bound := w.Start
		if in {
			bound = w.End
		}
		delta := ((bound-now)%minutesPerWeek + minutesPerWeek) % minutesPerWeek
		if delta == 0 {
			delta = minutesPerWeek
		}
		return time.Date(lt.Year(), lt.Month(), lt.Day(), lt.Hour(), lt.Minute()+delta, 0, 0, loc)
	case Yearly:
		day := time.Date(lt.Year(), lt.Month(), lt.Day(), 0, 0, 0, 0, loc)
		for i := 1; i <= 366; i++ {
			next := day.AddDate(0, 0, i)
			if w.Contains(next) != in {
				return next
			}
		}
	}
	return time.Time{}
}
