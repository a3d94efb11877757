package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/conveyor-dev/conveyor/internal/store"
	"github.com/conveyor-dev/conveyor/internal/store/storetest"
	"github.com/conveyor-dev/conveyor/policies"
)

func runCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := newRoot()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	return out.String(), err
}

func TestPolicyTestCommand(t *testing.T) {
	out, err := runCLI(t, "policy", "test")
	if err != nil || !strings.Contains(out, "passed, 0 failed") {
		t.Fatalf("policy test: %v\n%s", err, out)
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "extra_test.rego"), []byte("package acme_test\n\ntest_fails if { 1 == 2 }\n"), 0o644)
	out, err = runCLI(t, "policy", "test", dir)
	if exitCode(err) != 1 || !strings.Contains(out, "1 failed") {
		t.Fatalf("failing test: exit %d\n%s", exitCode(err), out)
	}
	os.WriteFile(filepath.Join(dir, "broken.rego"), []byte("package conveyor\n\ndeny contains msg if {\n"), 0o644)
	if _, err := runCLI(t, "policy", "test", dir); exitCode(err) != 2 || !strings.Contains(err.Error(), "broken.rego") {
		t.Fatalf("broken policy: %v", err)
	}
}

func TestPolicyEvalCommand(t *testing.T) {
	input := filepath.Join(t.TempDir(), "input.json")
	os.WriteFile(input, []byte(`{"action":"deploy","actor":{"login":"dev","permission":"read","teams":[]},
		"repository":"acme/shop","pull_request":{"number":7,"author":"dev","head_sha":"abc","base":"main"},
		"environment":{"name":"staging","config":{}},"artifacts":[],"deployments":{},"approvals":[],"now":"2026-11-26T10:00:00Z"}`), 0o644)
	out, err := runCLI(t, "policy", "eval", "--input", input)
	if err != nil || !strings.Contains(out, `"allow": false`) || !strings.Contains(out, "write") || !strings.Contains(out, "input_digest") ||
		strings.Contains(out, "engine") {
		t.Fatalf("eval: %v\n%s", err, out)
	}
	// --action overrides the input's action: the same reader may check.
	out, err = runCLI(t, "policy", "eval", "--input", input, "--action", "check")
	if err != nil || !strings.Contains(out, `"allow": true`) {
		t.Fatalf("eval --action check: %v\n%s", err, out)
	}
	// --document prints what the policy evaluates, for the stock opa eval -i.
	frozen := filepath.Join(t.TempDir(), "frozen.json")
	os.WriteFile(frozen, []byte(`{"action":"deploy","environment":{"name":"production","config":{"freeze":["Dec 24-Dec 26 UTC","weekends"]}},"now":"2026-12-25T10:00:00Z"}`), 0o644)
	out, err = runCLI(t, "policy", "eval", "--input", frozen, "--document")
	var doc struct {
		Environment struct {
			FreezeWindows []map[string]any `json:"freeze_windows"`
		} `json:"environment"`
		Requested map[string]any `json:"requested"`
		Artifacts []any          `json:"artifacts"`
	}
	if err != nil || json.Unmarshal([]byte(out), &doc) != nil || len(doc.Environment.FreezeWindows) != 1 ||
		doc.Environment.FreezeWindows[0]["form"] != "yearly" || doc.Environment.FreezeWindows[0]["start"] != 1224.0 ||
		doc.Requested == nil || doc.Artifacts == nil {
		t.Fatalf("eval --document: %v\n%s", err, out)
	}
	if _, err := runCLI(t, "policy", "eval"); exitCode(err) != 2 {
		t.Fatalf("missing --input: %v", err)
	}
	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, []byte(`{"action":`), 0o644)
	if _, err := runCLI(t, "policy", "eval", "--input", bad); exitCode(err) != 2 {
		t.Fatalf("malformed input: %v", err)
	}
}

// An unknown action, whether in --action or in the input, and an input
// that breaks the documented contract exit 2, list the valid values and
// point to the repository's own docs.
func TestPolicyEvalRejectsWhatTheContractDoesNot(t *testing.T) {
	dir := t.TempDir()
	write := func(name, doc string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.json", `{"action":"deploy","repository":"acme/shop","now":"2026-11-26T10:00:00Z"}`)
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"misspelt --action", []string{"--input", good, "--action", "deply"},
			`--action: action "deply" is not one of check, deploy, approve, rollback, lock (docs/policies.md, section "The contract")`},
		{"unknown action in the input", []string{"--input", write("launch.json", `{"action":"launch"}`)},
			`action "launch" is not one of check, deploy, approve, rollback, lock`},
		{"no action anywhere", []string{"--input", write("none.json", `{"repository":"acme/shop"}`)},
			"no action; write one of check, deploy, approve, rollback, lock"},
		{"unknown field", []string{"--input", write("field.json", `{"action":"check","colour":"red"}`)},
			`unknown field "colour" (the fields are listed in docs/policies.md`},
		{"wrong type", []string{"--input", write("type.json", `{"action":"check","artifacts":{}}`)},
			"artifacts must be a list, not a JSON object (docs/policies.md"},
		{"unknown permission", []string{"--input", write("perm.json", `{"action":"check","actor":{"permission":"owner"}}`)},
			`actor.permission "owner" is not one of admin, maintain, write, triage, read`},
		{"bad now", []string{"--input", write("now.json", `{"action":"deploy","now":"yesterday"}`)},
			`now "yesterday" is not an RFC 3339 time`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, err := runCLI(t, append([]string{"policy", "eval"}, tc.args...)...)
			if exitCode(err) != 2 || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("exit %d, error %v; want exit 2 mentioning %q", exitCode(err), err, tc.want)
			}
			if strings.Contains(err.Error(), "DESIGN") || strings.Contains(out, `"decision"`) {
				t.Fatalf("error %v, output %q", err, out)
			}
		})
	}
	// A missing action in the input is fine when --action gives one.
	none := write("none2.json", `{"repository":"acme/shop","actor":{"login":"dev","permission":"read"}}`)
	if out, err := runCLI(t, "policy", "eval", "--input", none, "--action", "lock"); err != nil || !strings.Contains(out, `"allow": false`) {
		t.Fatalf("--action lock on an input without action: %v\n%s", err, out)
	}
}

func TestAuditCommandListsDecisions(t *testing.T) {
	url := storetest.URL(t, store.SQLite)
	st := storetest.OpenURL(t, url)
	ev, err := policies.New(context.Background(), policies.Options{Recorder: auditRecorder{st}})
	if err != nil {
		t.Fatal(err)
	}
	in := policies.Input{Action: "deploy", Actor: policies.Actor{Login: "dev", Permission: "read"}, Repository: "acme/shop",
		Environment: policies.Environment{Name: "staging"}, Now: time.Now().UTC().Format(time.RFC3339)}
	if _, meta, err := ev.Eval(context.Background(), in); err != nil || meta.RecordErr != nil {
		t.Fatalf("eval: %v %v", err, meta.RecordErr)
	}
	t.Setenv("DATABASE_URL", url)
	out, err := runCLI(t, "audit", "--kind", "decision")
	if err != nil || !strings.Contains(out, "decision") || !strings.Contains(out, "acme/shop") || !strings.Contains(out, "deny") {
		t.Fatalf("audit: %v\n%s", err, out)
	}
	out, err = runCLI(t, "audit", "--json")
	if err != nil || !strings.Contains(out, `"digest":"`) || !strings.Contains(out, `"environment":"staging"`) {
		t.Fatalf("audit --json: %v\n%s", err, out)
	}
}
