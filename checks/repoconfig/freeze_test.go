package repoconfig

import (
	"testing"
	"time"
)

func TestFreezeWindowContains(t *testing.T) {
	w, err := ParseFreeze("Fri 15:00-Mon 08:00 Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	berlin, _ := time.LoadLocation("Europe/Berlin")
	cases := []struct {
		at   time.Time
		want bool
	}{
		{time.Date(2025, 3, 7, 14, 59, 0, 0, berlin), false},  // Friday before
		{time.Date(2025, 3, 7, 15, 0, 0, 0, berlin), true},    // Friday start
		{time.Date(2025, 3, 9, 12, 0, 0, 0, berlin), true},    // Sunday
		{time.Date(2025, 3, 10, 7, 59, 0, 0, berlin), true},   // Monday morning
		{time.Date(2025, 3, 10, 8, 0, 0, 0, berlin), false},   // Monday end (exclusive)
		{time.Date(2025, 3, 12, 12, 0, 0, 0, berlin), false},  // Wednesday
		{time.Date(2025, 3, 7, 14, 30, 0, 0, time.UTC), true}, // 15:30 in Berlin
	}
	for _, tc := range cases {
		if got := w.Contains(tc.at); got != tc.want {
			t.Errorf("Contains(%s) = %v, want %v", tc.at, got, tc.want)
		}
	}
}

func TestParseFreezeDefaultsToUTCAndRejectsEmptyWindow(t *testing.T) {
	w, err := ParseFreeze("Sat 00:00-Sun 23:59")
	if err != nil || w.Location != time.UTC || w.StartDay != time.Saturday || w.EndMinute != 23*60+59 {
		t.Fatalf("w = %+v, err = %v", w, err)
	}
	if _, err := ParseFreeze("Mon 08:00-Mon 08:00"); err == nil {
		t.Error("a window that starts where it ends must be rejected")
	}
	if _, err := ParseFreeze("Mon 25:00-Tue 08:00"); err == nil {
		t.Error("hour 25 must be rejected")
	}
}
