package policies

import (
	"bytes"
	"context"
	"io/fs"
	"strings"
	"testing"
)

// TestRegoBundle runs every Rego test of the embedded bundle and requires
// each rule file to have passing tests beside it.
func TestRegoBundle(t *testing.T) {
	results, err := runRegoTests(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	perFile := map[string]int{}
	for _, r := range results {
		if !r.Pass() {
			t.Errorf("%s:%d %s: %s", r.Location.File, r.Location.Row, r.Name, r.String())
			continue
		}
		perFile[r.Location.File]++
	}
	entries, err := fs.ReadDir(bundleFS, "bundle")
	if err != nil {
		t.Fatal(err)
	}
	rules := 0
	for _, e := range entries {
		name := e.Name()
		if strings.HasSuffix(name, "_test.rego") {
			continue
		}
		rules++
		testFile := "bundle/" + strings.TrimSuffix(name, ".rego") + "_test.rego"
		if perFile[testFile] == 0 {
			t.Errorf("%s has no passing tests in %s", name, testFile)
		}
	}
	if rules < 8 {
		t.Errorf("bundle has %d rule files, want every rule in its own file", rules)
	}
}

func TestRunTestsReport(t *testing.T) {
	var buf bytes.Buffer
	passed, failed, err := RunTests(context.Background(), nil, &buf, true)
	if err != nil {
		t.Fatal(err)
	}
	if failed != 0 || passed < 40 {
		t.Fatalf("passed=%d failed=%d\n%s", passed, failed, buf.String())
	}
	out := buf.String()
	if !strings.Contains(out, "PASS: ") || !strings.Contains(out, "test_fork_pr_is_denied") {
		t.Errorf("report lacks opa-test style lines:\n%s", out)
	}
}

func TestRunTestsWithExtraDir(t *testing.T) {
	dir := writePolicy(t, "extra_test.rego", `package conveyor_test

import data.conveyor

test_lock_staging_allowed if {
	d := conveyor.decision with input as {"action": "lock", "actor": {"login": "a", "permission": "write", "teams": []}, "environment": {"name": "staging", "config": {}}}
	d.allow
}

test_wrong_expectation if {
	d := conveyor.decision with input as {"action": "lock", "actor": {"login": "a", "permission": "read", "teams": []}, "environment": {"name": "staging", "config": {}}}
	d.allow
}
`)
	var all bytes.Buffer
	base, _, err := RunTests(context.Background(), nil, &all, false)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	passed, failed, err := RunTests(context.Background(), []string{dir}, &buf, false)
	if err != nil {
		t.Fatal(err)
	}
	if passed != base+1 || failed != 1 || !strings.Contains(buf.String(), "test_wrong_expectation: FAIL") {
		t.Fatalf("passed=%d (bundle alone %d) failed=%d\n%s", passed, base, failed, buf.String())
	}

	bad := writePolicy(t, "bad_test.rego", "package conveyor_test\n\ntest_x if {\n\t1 ==\n}\n")
	if _, _, err := RunTests(context.Background(), []string{bad}, &buf, false); err == nil || !strings.Contains(err.Error(), "bad_test.rego:5:") {
		t.Fatalf("parse error = %v; want it to name bad_test.rego:5", err)
	}
}
