package freezewindow

import (
	"strings"
	"testing"
	"time"
)

func TestParseReadsBothForms(t *testing.T) {
	cases := []struct {
		in   string
		want Window
	}{
		{"Fri 15:00-Mon 08:00 Europe/Berlin", Window{Weekly, 4*1440 + 15*60, 8 * 60, "Europe/Berlin"}},
		{"Sat 00:00-Sun 23:59", Window{Weekly, 5 * 1440, 6*1440 + 23*60 + 59, "UTC"}},
		{"  Tue 09:00-Thu 17:00 UTC  ", Window{Weekly, 1440 + 9*60, 3*1440 + 17*60, "UTC"}},
		{"Dec 24-Dec 26 UTC", Window{Yearly, 1224, 1226, "UTC"}},
		{"Dec 28-Jan 02 America/New_York", Window{Yearly, 1228, 102, "America/New_York"}},
		{"Feb 29-Feb 29 UTC", Window{Yearly, 229, 229, "UTC"}},
	}
	for _, tc := range cases {
		got, err := Parse(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("Parse(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
}

func TestParseRejectsWithAnExample(t *testing.T) {
	cases := map[string]string{
		"Friday 15:00-Mon 08:00":           "is not a freeze window; write a weekly one such as",
		"Mon 25:00-Tue 08:00":              "is not a freeze window",
		"weekends":                         "is not a freeze window",
		"":                                 "is not a freeze window",
		"Dec 24-Dec 26":                    "is not a freeze window", // a yearly window names its zone
		"Dec 24 - Dec 26 UTC":              "is not a freeze window",
		"Mon 08:00-Mon 08:00":              "starts and ends at the same moment",
		"Fri 15:00-Mon 08:00 Mars/Olympus": `"Mars/Olympus" is not a time zone`,
		"Fri 15:00-Mon 08:00 Local":        `"Local" is not a time zone`,
		"Feb 30-Mar 01 UTC":                "Feb has no day 30",
		"Jun 0-Jun 30 UTC":                 "Jun has no day 0",
		"Apr 1-Apr 31 UTC":                 "Apr has no day 31",
	}
	for in, want := range cases {
		if _, err := Parse(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q) = %v, want an error containing %q", in, err, want)
		}
	}
}

// Read is what the policy input carries: it reads by form alone, so the
// policy sees out-of-range days and zones it cannot load as written (and
// denies on them) rather than losing the window.
func TestReadKeepsWhatParseRejects(t *testing.T) {
	if w, ok := Read("Feb 30-Mar 01 UTC"); !ok || w != (Window{Yearly, 230, 301, "UTC"}) {
		t.Errorf("Read = %+v, %v", w, ok)
	}
	if w, ok := Read("Fri 15:00-Mon 08:00 Mars/Olympus"); !ok || w.Zone != "Mars/Olympus" {
		t.Errorf("Read = %+v, %v", w, ok)
	}
	if _, ok := Read("weekends"); ok {
		t.Error("Read(weekends) must not read a window")
	}
}

func TestContains(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	weekend, _ := Parse("Fri 15:00-Mon 08:00 Europe/Berlin")
	christmas, _ := Parse("Dec 24-Dec 26 UTC")
	newYear, _ := Parse("Dec 28-Jan 02 UTC")
	cases := []struct {
		w    Window
		at   time.Time
		want bool
	}{
		{weekend, time.Date(2025, 3, 7, 14, 59, 0, 0, berlin), false}, // Friday before
		{weekend, time.Date(2025, 3, 7, 15, 0, 0, 0, berlin), true},   // Friday start
		{weekend, time.Date(2025, 3, 9, 12, 0, 0, 0, berlin), true},   // Sunday
		{weekend, time.Date(2025, 3, 10, 7, 59, 0, 0, berlin), true},  // Monday morning
		{weekend, time.Date(2025, 3, 10, 8, 0, 0, 0, berlin), false},  // Monday end (exclusive)
		{weekend, time.Date(2025, 3, 12, 12, 0, 0, 0, berlin), false}, // Wednesday
		{weekend, time.Date(2025, 3, 7, 14, 30, 0, 0, time.UTC), true},
		{christmas, time.Date(2025, 12, 23, 23, 59, 0, 0, time.UTC), false},
		{christmas, time.Date(2025, 12, 24, 0, 0, 0, 0, time.UTC), true},
		{christmas, time.Date(2025, 12, 26, 23, 59, 0, 0, time.UTC), true}, // the end day is included
		{christmas, time.Date(2025, 12, 27, 0, 0, 0, 0, time.UTC), false},
		{newYear, time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC), true},
		{newYear, time.Date(2026, 1, 3, 10, 0, 0, 0, time.UTC), false},
		{newYear, time.Date(2025, 12, 27, 10, 0, 0, 0, time.UTC), false},
	}
	for _, tc := range cases {
		if got := tc.w.Contains(tc.at); got != tc.want {
			t.Errorf("%s contains %s = %v, want %v", tc.w, tc.at, got, tc.want)
		}
	}
}

// FuzzParse checks that Parse never panics, agrees with Read, keeps its
// bounds in range, and reads its own canonical form back.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"Fri 15:00-Mon 08:00 Europe/Berlin", "Sat 00:00-Sun 23:59", "Dec 24-Dec 26 UTC",
		"Dec 28-Jan 02 UTC", "Feb 29-Feb 29 Asia/Kolkata", "Feb 30-Mar 01 UTC", "Mon 08:00-Mon 08:00", " Tue 09:00-Thu 17:00 UTC\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, readOK := Read(s)
		w, err := Parse(s)
		if err != nil {
			if err.Error() == "" {
				t.Fatalf("Parse(%q): empty error", s)
			}
			return
		}
		if !readOK || r != w {
			t.Fatalf("Parse(%q) = %+v but Read = %+v, %v", s, w, r, readOK)
		}
		switch w.Form {
		case Weekly:
			if w.Start < 0 || w.Start >= minutesPerWeek || w.End < 0 || w.End >= minutesPerWeek || w.Start == w.End {
				t.Fatalf("Parse(%q): weekly bounds %d..%d", s, w.Start, w.End)
			}
		case Yearly:
			for _, d := range []int{w.Start, w.End} {
				if d/100 < 1 || d/100 > 12 || d%100 < 1 || d%100 > monthDays[d/100-1] {
					t.Fatalf("Parse(%q): yearly bound %d", s, d)
				}
			}
		default:
			t.Fatalf("Parse(%q): form %q", s, w.Form)
		}
		back, err := Parse(w.String())
		if err != nil || back != w {
			t.Fatalf("Parse(%q).String() = %q reads back as %+v, %v", s, w.String(), back, err)
		}
		w.Contains(time.Date(2025, 6, 11, 10, 0, 0, 0, time.UTC))
	})
}
