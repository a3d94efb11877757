package repoconfig

import (
	"strings"
	"testing"

	"github.com/conveyor-dev/conveyor/checks/kind/model"
)

const validateConfig = `version: 1
artifacts:
  web:
    kind: app
    paths: ["services/web/**", "services/webapp/**", "README.md"]
    deploy: {driver: web-argo}
  fraud:
    kind: model
    pointer: models/fraud.yaml
    deploy: {driver: mlflw}
  churn:
    kind: model
    pointer: models/churn.yaml
  broken-pointer:
    kind: model
    pointer: models/broken.yaml
  analytics:
    kind: dbt
    project: analytics/
    manifest: analytics/target/manifest.json
    deploy: {driver: dbt}
  warehouse:
    kind: dbt
    project: warehouse
`

var validateTree = MapRepo{
	"README.md":                 "# shop",
	"services/web/main.go":      "package main",
	"models/fraud.yaml":         "registry: main\nmodel: fraud-detector\nversion: \"14\"\n",
	"models/broken.yaml":        "registry: main\nmodl: x\nversion: 1\n",
	"analytics/dbt_project.yml": "name: analytics",
	"warehouse/models/a.sql":    "select 1",
}

func TestValidateReportsEachProblemWithItsLine(t *testing.T) {
	c := mustParse(t, validateConfig)
	probs := Validate(c, validateTree, map[string]bool{"web-argo": true, "mlflow": true, "dbt": true})
	want := []struct {
		file string
		line int
		text string
	}{
		{Path, 5, `"services/webapp/**" matches no file`},
		{Path, 10, `driver "mlflw" is not defined in the server config; did you mean "mlflow"?`},
		{Path, 13, "pointer file models/churn.yaml does not exist"},
		{Path, 20, "manifest analytics/target/manifest.json does not exist"},
		{Path, 24, `project "warehouse/" has no dbt_project.yml`},
		{"models/broken.yaml", 2, `did you mean "model"`},
		{"models/broken.yaml", 1, "has no model"},
	}
	if len(probs) != len(want) {
		t.Errorf("got %d problems, want %d: %v", len(probs), len(want), probs)
	}
	for _, w := range want {
		found := false
		for _, p := range probs {
			if p.File == w.file && p.Line == w.line && strings.Contains(p.Message, w.text) {
				found = true
			}
		}
		if !found {
			t.Errorf("missing problem %s:%d %q in %v", w.file, w.line, w.text, probs)
		}
	}
}

func TestValidateCleanTree(t *testing.T) {
	c := mustParse(t, "version: 1\nartifacts:\n  web: {kind: app, paths: [\"services/*/main.go\"], deploy: {driver: x}}\n")
	if probs := Validate(c, validateTree, map[string]bool{"x": true}); len(probs) != 0 {
		t.Errorf("problems = %v", probs)
	}
}

func TestValidateSkipsWhatItIsNotGiven(t *testing.T) {
	c := mustParse(t, validateConfig)
	if probs := Validate(c, nil, nil); len(probs) != 0 {
		t.Errorf("nil repo and nil drivers must skip all checks; got %v", probs)
	}
	probs := Validate(c, nil, map[string]bool{})
	if len(probs) != 3 || !strings.Contains(probs[0].Message, "server defines none") {
		t.Errorf("empty driver map: %v", probs)
	}
	if Validate(nil, validateTree, nil) != nil {
		t.Error("nil config must give no problems")
	}
}

func TestValidateSuggestsExistingFolder(t *testing.T) {
	c := mustParse(t, "version: 1\nartifacts:\n  web: {kind: app, paths: [\"servces/web/**\"]}\n")
	probs := Validate(c, validateTree, nil)
	if len(probs) != 1 || !strings.Contains(probs[0].Message, `"services/web/**"`) {
		t.Errorf("problems = %v", probs)
	}
}

func TestValidateConfigBuiltInCode(t *testing.T) {
	// A Config assembled without Parse has no positions: problems point at the
	// artifact's line, or line 1.
	c := &Config{Artifacts: []*Artifact{{Name: "m", Kind: "model", Spec: &model.Spec{Pointer: "nope.yaml"}}}}
	probs := Validate(c, validateTree, nil)
	if len(probs) != 1 || probs[0].Line != 1 {
		t.Errorf("problems = %v", probs)
	}
}

func TestMapRepo(t *testing.T) {
	if got := strings.Join(validateTree.Files()[:2], ","); got != "README.md,analytics/dbt_project.yml" {
		t.Errorf("Files() = %s", got)
	}
	if _, err := validateTree.ReadFile("missing"); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("ReadFile(missing) error = %v", err)
	}
}
