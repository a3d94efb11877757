package main

import (
	"bytes"
	"context"
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
		!strings.Contains(out, `"engine": "plan"`) {
		t.Fatalf("eval: %v\n%s", err, out)
	}
	// The same decision from OPA's topdown evaluator, asked for by flag.
	td, err := runCLI(t, "policy", "eval", "--input", input, "--topdown")
	if err != nil || !strings.Contains(td, `"engine": "topdown (asked for)"`) ||
		strings.Replace(td, `"engine": "topdown (asked for)"`, `"engine": "plan"`, 1) != out {
		t.Fatalf("eval --topdown: %v\n%s\nplan:\n%s", err, td, out)
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
