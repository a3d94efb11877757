package freezewindow

import (
	"testing"
	"time"
)

func TestNextChange(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	at := func(y int, m time.Month, d, h, min int, loc *time.Location) time.Time {
		return time.Date(y, m, d, h, min, 0, 0, loc)
	}
	cases := []struct {
		window string
		now    time.Time
		want   time.Time
	}{
		// Inside the weekend freeze (Sat 2026-12-05): it ends Monday 08:00 Berlin.
		{"Fri 15:00-Mon 08:00 Europe/Berlin", at(2026, 12, 5, 12, 0, berlin), at(2026, 12, 7, 8, 0, berlin)},
		// Before it (Wed): it starts Friday 15:00.
		{"Fri 15:00-Mon 08:00 Europe/Berlin", at(2026, 12, 2, 9, 30, berlin), at(2026, 12, 4, 15, 0, berlin)},
		// At the very minute it ends, the next change is the next start.
		{"Fri 15:00-Mon 08:00 Europe/Berlin", at(2026, 12, 7, 8, 0, berlin), at(2026, 12, 11, 15, 0, berlin)},
		// Across the spring DST change (Sun 2026-03-29 02:00 -> 03:00 in Berlin).
		{"Sat 12:00-Mon 06:00 Europe/Berlin", at(2026, 3, 28, 13, 0, berlin), at(2026, 3, 30, 6, 0, berlin)},
		// Yearly: inside, it ends at midnight after its last day; outside, it starts at midnight of its first.
		{"Dec 24-Dec 26 UTC", at(2026, 12, 25, 10, 0, time.UTC), at(2026, 12, 27, 0, 0, time.UTC)},
		{"Dec 24-Dec 26 UTC", at(2026, 12, 6, 10, 0, time.UTC), at(2026, 12, 24, 0, 0, time.UTC)},
		{"Dec 28-Jan 02 UTC", at(2026, 12, 30, 10, 0, time.UTC), at(2027, 1, 3, 0, 0, time.UTC)},
	}
	for _, c := range cases {
		w, err := Parse(c.window)
		if err != nil {
			t.Fatal(err)
		}
		got := w.NextChange(c.now)
		if !got.Equal(c.want) {
			t.Errorf("%s at %v: next change %v, want %v", c.window, c.now, got, c.want)
		}
		if w.Contains(got) == w.Contains(c.now) || w.Contains(got.Add(-time.Minute)) != w.Contains(c.now) {
			t.Errorf("%s: %v is not where the answer changes", c.window, got)
		}
	}
	if got := (Window{Form: Weekly, Start: 10, End: 20, Zone: "Local"}).NextChange(time.Now()); !got.IsZero() {
		t.Errorf("a window without a loadable zone changes at %v", got)
	}
}
