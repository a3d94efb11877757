package policies

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

const opaModule = "github.com/open-policy-agent/opa"

// stockOPA builds the opa command line of the OPA version this module
// requires (go.mod) into a temporary folder: the bundle must need nothing
// that the stock binary lacks.
func stockOPA(t *testing.T) string {
	t.Helper()
	v, err := exec.Command("go", "list", "-m", "-f", "{{.Version}}", opaModule).Output()
	if err != nil {
		t.Fatalf("go list -m %s: %v", opaModule, err)
	}
	version := strings.TrimSpace(string(v))
	bin := t.TempDir()
	// go install module@version builds OPA's own main package with OPA's own
	// go.mod, outside this module (as `make opa-test` does).
	cmd := exec.Command("go", "install", opaModule+"@"+version)
	cmd.Env = append(os.Environ(), "GOBIN="+bin, "GOFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go install %s@%s: %v\n%s", opaModule, version, err, out)
	}
	return filepath.Join(bin, "opa")
}

// TestStockOPA runs the stock `opa test -v` over the bundle, then `opa eval`
// over an input document and the server config as data, and requires the
// same decision as the Evaluator's.
func TestStockOPA(t *testing.T) {
	opa := stockOPA(t)
	out, err := exec.Command(opa, "test", "-v", "bundle").CombinedOutput()
	if err != nil {
		t.Fatalf("opa test -v bundle: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`(?m)^PASS: (\d+)/(\d+)$`).FindSubmatch(out)
	if m == nil || string(m[1]) != string(m[2]) || strings.Contains(string(out), "FAIL") {
		t.Fatalf("opa test -v bundle:\n%s", out)
	}
	if !strings.Contains(string(out), "data.conveyor_test.test_yearly_window: PASS") {
		t.Errorf("opa test -v does not list the freeze tests:\n%s", out)
	}

	dir := t.TempDir()
	in := productionDeploy()
	in.Environment.Config.Freeze = []string{"Fri 15:00-Mon 08:00 Europe/Berlin", "Dec 24-Dec 26 UTC"}
	doc, err := Document(in)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := configData(testConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(map[string]any{"conveyor": map[string]any{"config": cfg}})
	if err != nil {
		t.Fatal(err)
	}
	inputFile, dataFile := filepath.Join(dir, "input.json"), filepath.Join(dir, "data.json")
	if err := os.WriteFile(inputFile, doc, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dataFile, data, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err = exec.Command(opa, "eval", "--format", "raw", "-d", "bundle", "-d", dataFile, "-i", inputFile, DecisionQuery).Output()
	if err != nil {
		t.Fatalf("opa eval: %v\n%s", err, out)
	}
	var got Decision
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("opa eval printed %q: %v", out, err)
	}
	e, err := New(context.Background(), Options{Config: testConfig(t)})
	if err != nil {
		t.Fatal(err)
	}
	want, _, err := e.Eval(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) || !want.Allow || want.ApprovalsRequired.Count == 0 {
		t.Errorf("opa eval decided\n%+v\nthe Evaluator\n%+v", got, want)
	}
}
