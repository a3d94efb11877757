package policies

import "github.com/conveyor-dev/conveyor/internal/freezewindow"

// FreezeReading is one entry of input.environment.freeze_windows: Conveyor's
// reading of a window in environment.config.freeze, which the policy
// compares with input.now using stock time built-ins (bundle/freeze.rego).
// Weekly bounds are minutes from Monday 00:00 (end excluded), yearly ones
// month*100+day (both included); Zone is the IANA zone, "UTC" for a weekly
// window that names none.
type FreezeReading struct {
	Window string `json:"window"` // as written in the config
	Form   string `json:"form"`   // weekly, yearly
	Start  int    `json:"start"`
	End    int    `json:"end"`
	Zone   string `json:"zone"`
}

// freezeReadings reads each window with freezewindow.Read, the reader that
// validates repository configs. A window of neither form gets no reading,
// and the policy denies on it; a zone is not loaded here, so one the time
// built-ins cannot load denies in the policy too.
func freezeReadings(windows []string) []FreezeReading {
	out := make([]FreezeReading, 0, len(windows))
	for _, s := range windows {
		if w, ok := freezewindow.Read(s); ok {
			out = append(out, FreezeReading{Window: s, Form: string(w.Form), Start: w.Start, End: w.End, Zone: w.Zone})
		}
	}
	return out
}
