package repoconfig

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"
)

const schemaPath = "../../docs/conveyor.schema.json"

func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open(schemaPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatalf("schema is not JSON: %v", err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	if err := c.AddResource("conveyor.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("conveyor.schema.json")
	if err != nil {
		t.Fatalf("schema does not compile: %v", err)
	}
	return sch
}

// yamlToJSON converts a YAML document to the JSON value an editor would
// validate.
func yamlToJSON(t *testing.T, src []byte) any {
	t.Helper()
	var v any
	if err := yaml.Unmarshal(src, &v); err != nil {
		t.Fatalf("yaml: %v", err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("json: %v", err)
	}
	out, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// exampleConfigs returns every examples/**/.github/conveyor.yml.
func exampleConfigs(t *testing.T) []string {
	var out []string
	err := filepath.WalkDir("../../examples", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.HasSuffix(filepath.ToSlash(p), "/"+Path) {
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) < 2 {
		t.Fatalf("found only %v", out)
	}
	return out
}

// TestSchemaAgreesWithParse: the design's example and every example config
// that Parse accepts pass the schema; those Parse rejects fail it.
func TestSchemaAgreesWithParse(t *testing.T) {
	sch := compileSchema(t)
	files := append([]string{"testdata/design.yml"}, exampleConfigs(t)...)
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		_, probs := Parse(src)
		err = sch.Validate(yamlToJSON(t, src))
		if len(probs) == 0 && err != nil {
			t.Errorf("%s: Parse accepts it but the schema rejects it: %v", f, err)
		}
		if len(probs) > 0 && err == nil {
			t.Errorf("%s: Parse reports %v but the schema accepts it", f, probs)
		}
	}
}

func TestSchemaRejectsBrokenConfigs(t *testing.T) {
	sch := compileSchema(t)
	broken := map[string]string{
		"unknown key":         "version: 1\nartifacts:\n  web: {kind: app, paths: [x], owner: [a]}\n",
		"version 2":           "version: 2\n",
		"bad name":            "version: 1\nartifacts:\n  Web: {kind: app, paths: [x]}\n",
		"app without paths":   "version: 1\nartifacts:\n  web: {kind: app}\n",
		"model with paths":    "version: 1\nartifacts:\n  m: {kind: model, pointer: m.yaml, paths: [x]}\n",
		"bad memory":          "version: 1\nartifacts:\n  web: {kind: app, paths: [x], resources: {memory: 4GB}}\n",
		"step above 100":      "version: 1\nenvironments:\n  p: {rollout: {steps: [10, 150]}}\n",
		"count without from":  "version: 1\nenvironments:\n  p: {approvals: {count: 2}}\n",
		"bad freeze":          "version: 1\nenvironments:\n  p: {freeze: [\"Friday\"]}\n",
		"absolute path":       "version: 1\nartifacts:\n  web: {kind: app, paths: [/srv/**]}\n",
		"min with lower":      "version: 1\nartifacts:\n  m: {kind: model, pointer: m.yaml, evaluation: {metric: rmse, direction: lower, min: 1}}\n",
		"max with higher":     "version: 1\nartifacts:\n  m: {kind: model, pointer: m.yaml, evaluation: {metric: auc, max: 1}}\n",
		"empty gate list":     "version: 1\nartifacts:\n  m: {kind: model, pointer: m.yaml, evaluation: []}\n",
		"min in a lower gate": "version: 1\nartifacts:\n  m: {kind: model, pointer: m.yaml, evaluation: [{metric: auc}, {metric: p95, direction: lower, min: 3}]}\n",
		"bad drift source":    "version: 1\nartifacts:\n  m: {kind: model, pointer: m.yaml, drift: {metric: psi, max: 0.2, source: logs}}\n",
		"bad direction":       "version: 1\nartifacts:\n  m: {kind: model, pointer: m.yaml, evaluation: {metric: auc, direction: up}}\n",
	}
	for name, src := range broken {
		if _, probs := Parse([]byte(src)); len(probs) == 0 {
			t.Errorf("%s: Parse accepts it", name)
		}
		if err := sch.Validate(yamlToJSON(t, []byte(src))); err == nil {
			t.Errorf("%s: the schema accepts it", name)
		}
	}
}

// TestSchemaAcceptsBothMetricDirections: a bound on the side the direction
// asks for passes Parse and the schema alike.
func TestSchemaAcceptsBothMetricDirections(t *testing.T) {
	sch := compileSchema(t)
	good := map[string]string{
		"lower with max":    "version: 1\nartifacts:\n  m: {kind: model, pointer: m.yaml, evaluation: {metric: rmse, direction: lower, max: 0.3, max_regression: 0.01}}\n",
		"higher with min":   "version: 1\nartifacts:\n  m: {kind: model, pointer: m.yaml, evaluation: {metric: auc, direction: higher, min: 0.9}}\n",
		"default with min":  "version: 1\nartifacts:\n  m: {kind: model, pointer: m.yaml, evaluation: {metric: auc, min: 0.9}}\n",
		"two gates":         "version: 1\nartifacts:\n  m: {kind: model, pointer: m.yaml, evaluation: [{metric: auc, min: 0.9}, {metric: p95_ms, direction: lower, max: 300}]}\n",
		"drift from a tag":  "version: 1\nartifacts:\n  m: {kind: model, pointer: m.yaml, drift: {metric: psi, max: 0.2, source: tag, block: true}}\n",
		"lower, bound-free": "version: 1\nartifacts:\n  m: {kind: model, pointer: m.yaml, evaluation: {metric: log_loss, direction: lower, max_regression: 0.02}}\n",
	}
	for name, src := range good {
		if _, probs := Parse([]byte(src)); len(probs) > 0 {
			t.Errorf("%s: Parse reports %v", name, probs)
		}
		if err := sch.Validate(yamlToJSON(t, []byte(src))); err != nil {
			t.Errorf("%s: the schema rejects it: %v", name, err)
		}
	}
}

// TestDocumentedExampleIsValid: the example .github/conveyor.yml in
// docs/configuration.md parses and passes the schema, so the reference does
// not teach a config Conveyor refuses.
func TestDocumentedExampleIsValid(t *testing.T) {
	b, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)## The repository config: `.github/conveyor.yml`\n\n```yaml\n(.*?)```").FindSubmatch(b)
	if m == nil {
		t.Fatal("docs/configuration.md no longer has the example under \"The repository config\"")
	}
	if _, probs := Parse(m[1]); len(probs) > 0 {
		t.Errorf("Parse refuses the documented example: %v", probs)
	}
	if err := compileSchema(t).Validate(yamlToJSON(t, m[1])); err != nil {
		t.Errorf("the schema refuses the documented example: %v", err)
	}
}
