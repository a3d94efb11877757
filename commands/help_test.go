package commands

import (
	"strings"
	"testing"
)

func TestHelpListsEveryCommand(t *testing.T) {
	h := Help()
	names := []string{"deploy", "plan", "rollback", "approve", "reject", "cancel", "lock", "unlock", "status", "help"}
	specs := CommandSpecs()
	if len(specs) != len(names) {
		t.Fatalf("CommandSpecs() has %d commands, want %d", len(specs), len(names))
	}
	for i, name := range names {
		s := specs[i]
		if s.Name != name || s.Help == "" || !strings.HasPrefix(s.Usage, "/"+name) || s.parse == nil {
			t.Errorf("spec %d = %+v, want a complete spec for %s", i, s, name)
		}
		if !strings.Contains(h, "| `"+s.Usage+"` | "+s.Help+" |") {
			t.Errorf("Help() lacks the row for %s:\n%s", name, h)
		}
	}
}

func TestHelpExamplesParse(t *testing.T) {
	// Every "like /x ..." example in the parsers' messages must itself parse.
	examples := []string{"/deploy staging", "/plan staging", "/rollback staging", "/approve production",
		`/lock production "release freeze"`, "/lock production", "/unlock production"}
	for _, ex := range examples {
		if cmds, errs := ParseComment(ex); len(cmds) != 1 || len(errs) != 0 {
			t.Errorf("example %q does not parse: %v", ex, errs)
		}
	}
}

func TestLookupSpec(t *testing.T) {
	if s, ok := LookupSpec("/Deploy"); !ok || s.Name != "deploy" {
		t.Errorf(`LookupSpec("/Deploy") = %+v, %v; want deploy`, s, ok)
	}
	if _, ok := LookupSpec("ship"); ok {
		t.Error(`LookupSpec("ship") found a spec; want none`)
	}
	specs := CommandSpecs()
	specs[0].Name = "changed"
	if s, _ := LookupSpec("deploy"); s.Name != "deploy" {
		t.Error("CommandSpecs() returned the registry itself; changing it changed lookups")
	}
}
