package policies

import (
	"context"
	"fmt"
	"math/rand"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
)

// regexReading is how freeze.rego read windows before parse_freeze_window:
// the bundle's own patterns, tables and zone_or_utc, through regex and
// to_number. The built-in must read every string the same way.
const regexReading = `package conveyor_reference

import data.conveyor

read(w) := ["weekly", start, end, zone] if {
	m := regex.find_all_string_submatch_n(conveyor.weekly_pattern, trim_space(w), 1)[0]
	start := (conveyor.weekday_minutes[m[1]] + to_number(m[2]) * 60) + to_number(m[3])
	end := (conveyor.weekday_minutes[m[4]] + to_number(m[5]) * 60) + to_number(m[6])
	zone := conveyor.zone_or_utc(m[7])
} else := ["yearly", start, end, m[5]] if {
	m := regex.find_all_string_submatch_n(conveyor.yearly_pattern, trim_space(w), 1)[0]
	start := conveyor.month_numbers[m[1]] * 100 + to_number(m[2])
	end := conveyor.month_numbers[m[3]] * 100 + to_number(m[4])
}
`

// freezeWindowCorpus is every shape of window the tests know, plus generated
// ones with out-of-range fields, odd spacing and zones.
func freezeWindowCorpus() []string {
	ws := []string{
		"Fri 15:00-Mon 08:00 Europe/Berlin", "Fri 15:00-Mon 08:00", "Tue 09:00-Thu 17:00 UTC",
		"Sat 00:00-Sat 00:00 UTC", "Dec 24-Dec 26 UTC", "Dec 28-Jan 02 UTC", "Jun 1-Jun 30 Europe/Berlin",
		"Feb 30-Mar 01 UTC", "Jun 0-Jun 99 UTC", "Jun 123-Jun 1 UTC", "Dec 24-Dec 26", "weekends", "",
		"  Fri 15:00-Mon 08:00 UTC  ", "Fri 15:00-Mon 08:00  UTC", "Fri 24:00-Mon 08:00", "fri 15:00-Mon 08:00",
		"Fri 5:00-Mon 08:00 UTC", "Dec 24 - Dec 26 UTC", "Fri 15:00-Mon 08:00\tUTC", "Fri 15:00-Mon 08:00 UTC\n",
		"\u00a0Fri 15:00-Mon 08:00 UTC", "Fri 15:00-Mon 08:00 Mars/Olympus", "Fri 15:00-Mon 08:00 Local",
		"Fri 15:00-Mon 08:00 UTC extra", "Mon 00:00-Sun 23:59 Etc/GMT+12",
	}
	r := rand.New(rand.NewSource(7))
	days := []string{"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun", "Fry"}
	months := []string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec", "Juny"}
	zones := []string{"", " UTC", " Europe/Berlin", " Asia/Kolkata", "  UTC", " ", " A B"}
	for i := 0; i < 300; i++ {
		ws = append(ws,
			fmt.Sprintf("%s %02d:%02d-%s %d:%02d%s", days[r.Intn(len(days))], r.Intn(26), r.Intn(62),
				days[r.Intn(len(days))], r.Intn(26), r.Intn(62), zones[r.Intn(len(zones))]),
			fmt.Sprintf("%s %d-%s %03d%s", months[r.Intn(len(months))], r.Intn(120),
				months[r.Intn(len(months))], r.Intn(40), zones[r.Intn(len(zones))]),
		)
	}
	return ws
}

func TestFreezeWindowReadsLikeTheRegexReading(t *testing.T) {
	srcs, err := defaultSources(false)
	if err != nil {
		t.Fatal(err)
	}
	mods, err := parseSources(append(srcs, source{name: "reference.rego", text: regexReading}))
	if err != nil {
		t.Fatal(err)
	}
	compiler, err := compileModules(mods)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	pq, err := rego.New(
		rego.Query(`builtin := [x | x := parse_freeze_window(input)]; reference := [x | x := data.conveyor_reference.read(input)]`),
		rego.Compiler(compiler),
	).PrepareForEval(ctx)
	if err != nil {
		t.Fatal(err)
	}
	read := 0
	for _, w := range freezeWindowCorpus() {
		for range 2 { // the second call is served from the cache
			rs, err := pq.Eval(ctx, rego.EvalInput(w))
			if err != nil || len(rs) != 1 {
				t.Fatalf("%q: %v %v", w, rs, err)
			}
			got, want := rs[0].Bindings["builtin"], rs[0].Bindings["reference"]
			gotV, _ := ast.InterfaceToValue(got)
			wantV, _ := ast.InterfaceToValue(want)
			if gotV.Compare(wantV) != 0 {
				t.Errorf("%q: parse_freeze_window gives %v, the regex reading %v", w, gotV, wantV)
			}
			if a, ok := wantV.(*ast.Array); ok && a.Len() == 1 {
				read++
			}
		}
	}
	if read < 100 {
		t.Errorf("only %d readings of windows; the corpus should exercise both forms", read)
	}
}

func TestFreezeWindowPatternsMatchRego(t *testing.T) {
	srcs, err := defaultSources(false)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := rego.New(rego.Query("w := data.conveyor.weekly_pattern; y := data.conveyor.yearly_pattern"), rego.Compiler(mustCompile(t, srcs))).Eval(context.Background())
	if err != nil || len(rs) != 1 {
		t.Fatal(rs, err)
	}
	if w := rs[0].Bindings["w"]; w != weeklyPattern {
		t.Errorf("weekly_pattern is %q in freeze.rego, %q in freeze.go", w, weeklyPattern)
	}
	if y := rs[0].Bindings["y"]; y != yearlyPattern {
		t.Errorf("yearly_pattern is %q in freeze.rego, %q in freeze.go", y, yearlyPattern)
	}
}

func TestFreezeWindowCacheIsBounded(t *testing.T) {
	for i := 0; i < freezeWindowCacheSize+10; i++ {
		cachedFreezeWindow(fmt.Sprintf("Mon 00:00-Tue 00:00 Zone/%d", i))
	}
	freezeWindows.RLock()
	n := len(freezeWindows.m)
	freezeWindows.RUnlock()
	if n > freezeWindowCacheSize {
		t.Fatalf("cache holds %d windows; the bound is %d", n, freezeWindowCacheSize)
	}
	v, ok := cachedFreezeWindow("Fri 15:00-Mon 08:00 Europe/Berlin")
	if !ok || v.String() != `["weekly", 6660, 480, "Europe/Berlin"]` {
		t.Fatalf("after a reset: %v %v", v, ok)
	}
}
