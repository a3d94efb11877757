package kind

import (
	"context"
	"strings"
	"testing"
)

type fakeKind struct{ name string }

func (k fakeKind) Name() string                                  { return k.name }
func (fakeKind) Persona() string                                 { return "a tester" }
func (fakeKind) Keys() []string                                  { return nil }
func (fakeKind) Parse(*Doc, Ident, []Field) Spec                 { return nil }
func (fakeKind) Schema() map[string]any                          { return nil }
func (fakeKind) Evaluate(context.Context, Env, Artifact) Outcome { return Outcome{} }
func (fakeKind) Plan(context.Context, PlanEnv, Artifact) (Payload, string) {
	return Payload{}, ""
}

func panics(f func()) (msg string) {
	defer func() {
		if r := recover(); r != nil {
			msg = r.(string)
		}
	}()
	f()
	return ""
}

// The registry keeps registration order, refuses a second kind of the same
// name and names that cannot appear in a config, and Ensure is idempotent.
func TestRegistry(t *testing.T) {
	Register(fakeKind{"reg-a"})
	Register(fakeKind{"reg-b"})
	names := strings.Join(Names(), ",")
	if !strings.Contains(names, "reg-a,reg-b") {
		t.Errorf("names = %s, want registration order", names)
	}
	if Lookup("reg-a") == nil || Lookup("nope") != nil {
		t.Error("Lookup")
	}
	if msg := panics(func() { Register(fakeKind{"reg-a"}) }); !strings.Contains(msg, "registered twice") {
		t.Errorf("second registration: panic %q", msg)
	}
	for _, bad := range []string{"", "Notebook", "a b", "a/b"} {
		if msg := panics(func() { Register(fakeKind{bad}) }); !strings.Contains(msg, "invalid kind name") {
			t.Errorf("name %q: panic %q", bad, msg)
		}
	}
	if msg := panics(func() { Ensure(fakeKind{"reg-a"}, fakeKind{"reg-c"}, fakeKind{"reg-c"}) }); msg != "" {
		t.Errorf("Ensure panicked: %s", msg)
	}
	if Lookup("reg-c") == nil || len(All()) != len(Names()) {
		t.Error("Ensure did not register reg-c")
	}
}

func TestOr(t *testing.T) {
	for in, want := range map[string]string{"": "(no kinds are registered)", "app": "app", "app,model": "app or model", "app,model,dbt": "app, model or dbt"} {
		var names []string
		if in != "" {
			names = strings.Split(in, ",")
		}
		if got := Or(names); got != want {
			t.Errorf("Or(%q) = %q, want %q", in, got, want)
		}
	}
}
