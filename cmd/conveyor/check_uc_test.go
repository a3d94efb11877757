package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/conveyor-dev/conveyor/internal/mlflowfake"
)

// commitFile writes one file on the checkout's current branch and commits it.
func commitFile(t *testing.T, dir, path, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, path), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"add", "-A"}, {"-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-qm", "edit " + path}} {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
}

// serverConfigWith writes the example server config with its registry line
// replaced by reg.
func serverConfigWith(t *testing.T, reg string) string {
	t.Helper()
	cfg, err := os.ReadFile("../../examples/monorepo/conveyor.server.yml")
	if err != nil {
		t.Fatal(err)
	}
	conf := strings.Replace(string(cfg), `main: {type: mlflow, url: "http://127.0.0.1:0"}`, reg, 1)
	if conf == string(cfg) {
		t.Fatal("the example server config no longer has the registry line this test rewrites")
	}
	path := filepath.Join(t.TempDir(), "conveyor.server.yml")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestCheckWithUnityCatalogRegistry: a model registered in Databricks Unity
// Catalog, named catalog.schema.model in its pointer file, is checked
// through the model kind against a `type: unity-catalog` registry with a
// token from token_env; every request is held to the UC protos.
func TestCheckWithUnityCatalogRegistry(t *testing.T) {
	reg := mlflowfake.NewTest(t, mlflowfake.WithToken("dapi-s3cret"))
	reg.AddVersion("main.ml.fraud_detector", "13", "", map[string]float64{"auc": 0.93})
	reg.AddVersion("main.ml.fraud_detector", "14", "", map[string]float64{"auc": 0.935})
	reg.SetAlias("main.ml.fraud_detector", "production", "13")
	cfg := serverConfigWith(t, `main: {type: unity-catalog, url: "`+reg.URL()+`", token_env: CONVEYOR_TEST_DATABRICKS_TOKEN}`)
	t.Setenv("CONVEYOR_TEST_DATABRICKS_TOKEN", "dapi-s3cret")
	dir := gitRepo(t, "good")
	check := func() (string, error) {
		var out bytes.Buffer
		err := runCheck(context.Background(), &out, &checkFlags{base: "main", head: "HEAD", format: "text", repo: dir, config: cfg})
		return out.String(), err
	}

	commitFile(t, dir, "models/fraud.yaml", "registry: main\nmodel: main.ml.fraud_detector\nversion: \"14\"\n")
	out, err := check()
	if err != nil || !strings.Contains(out, "main.ml.fraud_detector v14 is READY") || !strings.Contains(out, "auc 0.935") || strings.Contains(out, "dapi-s3cret") {
		t.Fatalf("UC model v14: %v\n%s", err, out)
	}
	ucCalls := 0
	for _, c := range reg.Calls() {
		if strings.HasPrefix(c.Path, "/api/2.0/mlflow/unity-catalog/") {
			ucCalls++
		}
		if c.Path == mlflowfake.PathModelVersion || c.Path == mlflowfake.PathAlias {
			t.Errorf("the check called the workspace registry: %s %s", c.Method, c.Path)
		}
	}
	if ucCalls == 0 {
		t.Fatal("no Unity Catalog endpoint was called")
	}

	// A two-level name cannot be a Unity Catalog model: the check says what to write.
	commitFile(t, dir, "models/fraud.yaml", "registry: main\nmodel: fraud_detector\nversion: \"14\"\n")
	out, err = check()
	if exitCode(err) != 1 || !strings.Contains(out, "catalog.schema.model (for example main.ml.fraud_detector)") {
		t.Fatalf("two-level name: exit %d (%v)\n%s", exitCode(err), err, out)
	}
}
