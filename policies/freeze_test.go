package policies

import (
	"context"
	"sort"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
)

// TestRegoFreezeReadingsMatchGo keeps the readings written by hand in
// bundle/freeze_test.rego (which stock `opa test` runs without Conveyor's Go)
// equal to what Conveyor sends for the same windows.
func TestRegoFreezeReadingsMatchGo(t *testing.T) {
	srcs, err := defaultSources(true)
	if err != nil {
		t.Fatal(err)
	}
	mods, err := parseSources(srcs)
	if err != nil {
		t.Fatal(err)
	}
	compiler, err := compileModules(mods)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := rego.New(rego.Query("data.conveyor_test.readings"), rego.Compiler(compiler)).Eval(context.Background())
	if err != nil || len(rs) != 1 {
		t.Fatalf("readings: %v %v", rs, err)
	}
	hand := rs[0].Expressions[0].Value.(map[string]any)
	windows := make([]string, 0, len(hand))
	for w := range hand {
		windows = append(windows, w)
	}
	sort.Strings(windows)
	if len(windows) < 5 {
		t.Fatalf("only %d readings in freeze_test.rego", len(windows))
	}
	got, err := ast.InterfaceToValue(freezeReadings(windows))
	if err != nil {
		t.Fatal(err)
	}
	want := make([]any, len(windows))
	for i, w := range windows {
		want[i] = hand[w]
	}
	wantV, err := ast.InterfaceToValue(want)
	if err != nil {
		t.Fatal(err)
	}
	if got.Compare(wantV) != 0 {
		t.Errorf("Go reads the windows as\n%v\nfreeze_test.rego says\n%v", got, wantV)
	}
}

func TestFreezeReadingsSkipUnreadableWindows(t *testing.T) {
	got := freezeReadings([]string{"weekends", "  Dec 24-Dec 26 UTC ", "Fri 15:00-Mon 08:00"})
	want := []FreezeReading{
		{Window: "  Dec 24-Dec 26 UTC ", Form: "yearly", Start: 1224, End: 1226, Zone: "UTC"},
		{Window: "Fri 15:00-Mon 08:00", Form: "weekly", Start: 6660, End: 480, Zone: "UTC"},
	}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("freezeReadings = %+v, want %+v", got, want)
	}
}
