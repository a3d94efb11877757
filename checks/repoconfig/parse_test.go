package repoconfig

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

func mustParse(t *testing.T, src string) *Config {
	t.Helper()
	c, probs := Parse([]byte(src))
	if len(probs) > 0 {
		t.Fatalf("unexpected problems: %v", probs)
	}
	return c
}

func TestParseDesignExample(t *testing.T) {
	data, err := os.ReadFile("testdata/design.yml")
	if err != nil {
		t.Fatal(err)
	}
	c := mustParse(t, string(data))
	if c.Version != 1 || len(c.Artifacts) != 3 || len(c.Environments) != 2 {
		t.Fatalf("got version %d, %d artifacts, %d environments", c.Version, len(c.Artifacts), len(c.Environments))
	}
	if got := []string{c.Artifacts[0].Name, c.Artifacts[1].Name, c.Artifacts[2].Name}; strings.Join(got, ",") != "web,fraud-model,analytics" {
		t.Errorf("artifacts not in file order: %v", got)
	}
	web := c.Artifact("web")
	if web.Kind != "app" || paths(web)[0] != "services/web/**" || web.Owners[0] != "acme/web" || web.Line != 3 {
		t.Errorf("web = %+v", web)
	}
	if web.Resources.CPU != 2 || web.Resources.MemoryBytes != 4<<30 || web.Resources.Replicas != 3 || web.Deploy.Driver != "web-argo" {
		t.Errorf("web resources/deploy = %+v %+v", web.Resources, web.Deploy)
	}
	if strings.Join(web.CI, ",") != "build,test" {
		t.Errorf("web ci = %v", web.CI)
	}
	fm := c.Artifact("fraud-model")
	if ms := modelSpec(fm); ms.Pointer != "models/fraud.yaml" || len(ms.Evaluation) != 1 || ms.Evaluation[0].Metric != "auc" ||
		*ms.Evaluation[0].Min != 0.90 || *ms.Evaluation[0].MaxRegression != 0.005 || fm.Resources.GPU != 1 {
		t.Errorf("fraud-model = %+v eval %+v", fm, ms.Evaluation)
	}
	if a := c.Artifact("analytics"); dbtSpec(a).Project != "analytics" || a.Kind != "dbt" {
		t.Errorf("analytics = %+v", a)
	}
	if c.Artifact("nope") != nil || c.Environment("nope") != nil {
		t.Error("lookups of unknown names must return nil")
	}
	prod := c.Environment("production")
	if strings.Join(prod.Requires, ",") != "staging" || prod.Approvals.Count != 2 ||
		strings.Join(prod.Approvals.From, ",") != "acme/sre,acme/ml-leads" {
		t.Errorf("production = %+v", prod)
	}
	if fmt.Sprint(prod.Rollout.Steps) != "[10 50 100]" || prod.Rollout.Pause != 2*time.Minute {
		t.Errorf("rollout = %+v", prod.Rollout)
	}
	if len(prod.Freeze) != 1 || prod.Freeze[0] != "Fri 15:00-Mon 08:00 Europe/Berlin" {
		t.Errorf("freeze = %v", prod.Freeze)
	}
	if st := c.Environment("staging"); st.Rollout.Steps != nil || st.Approvals.Count != 0 {
		t.Errorf("staging = %+v", st)
	}
}

func TestParseAcceptsVariants(t *testing.T) {
	c := mustParse(t, `
version: 1
artifacts:
  api: &app
    kind: app
    paths: "services/api/**"     # one glob may be written without a list
    resources: {cpu: 500m, memory: 536870912}
  api-copy: *app
  root-dbt: {kind: dbt, project: ., manifest: target/manifest.json}
environments:
  dev:
  prod: {requires: dev, approvals: {count: 0}}
`)
	api := c.Artifact("api")
	if paths(api)[0] != "services/api/**" || api.Resources.CPU != 0.5 || api.Resources.MemoryBytes != 512<<20 {
		t.Errorf("api = %+v", api)
	}
	if c.Artifact("api-copy").Kind != "app" {
		t.Error("an alias must read like the anchored artifact")
	}
	if d := c.Artifact("root-dbt"); dbtSpec(d).Project != "." || dbtSpec(d).Manifest != "target/manifest.json" {
		t.Errorf("root-dbt = %+v", d)
	}
	if c.Environment("dev") == nil || c.Environment("prod").Requires[0] != "dev" {
		t.Errorf("environments = %+v", c.Environments)
	}
}

// TestParseProblems feeds broken configs and checks each problem's line,
// column and that the message says what to write.
func TestParseProblems(t *testing.T) {
	const head = "version: 1\nartifacts:\n"
	cases := []struct {
		name, src string
		line, col int
		want      string
	}{
		{"syntax", "version: 1\nartifacts: [\n", 2, 0, "not valid YAML"},
		{"empty", "", 1, 0, "the file is empty"},
		{"not a mapping", "- 1\n", 1, 1, "the top level must be a mapping"},
		{"unknown top key", "version: 1\nartifact: {}\n", 2, 1, `did you mean "artifacts"`},
		{"far unknown key", "version: 1\nzzzzzz: {}\n", 2, 1, "write one of version, artifacts, environments"},
		{"missing version", "artifacts: {}\n", 1, 1, "version is missing"},
		{"version 2", "version: 2\n", 1, 10, "write version: 1"},
		{"version string", "version: one\n", 1, 10, "must be a whole number"},
		{"bad name", head + "  Web_App: {kind: app, paths: [a/**]}\n", 3, 3, "lowercase letters, digits and dashes"},
		{"duplicate artifact", head + "  a: {kind: app, paths: [x]}\n  a: {kind: app, paths: [y]}\n", 4, 3, "defined twice"},
		{"no kind", head + "  a: {paths: [x]}\n", 3, 3, "has no kind"},
		{"bad kind", head + "  a: {kind: lambda}\n", 3, 13, "write app, model or dbt"},
		{"app without paths", head + "  web: {kind: app}\n", 3, 3, `paths: ["services/web/**"]`},
		{"model without pointer", head + "  m: {kind: model}\n", 3, 3, "pointer: models/m.yaml"},
		{"dbt without project", head + "  d: {kind: dbt}\n", 3, 3, "project: analytics/"},
		{"key of other kind", head + "  web: {kind: app, paths: [x], pointer: m.yaml}\n", 3, 32, "applies to model artifacts only"},
		{"typo in artifact key", head + "  web:\n    kind: app\n    paths: [x]\n    owner: [a]\n", 6, 5, `did you mean "owners"`},
		{"paths not strings", head + "  web: {kind: app, paths: [1]}\n", 3, 28, "must be a string"},
		{"absolute glob", head + "  web: {kind: app, paths: [/srv/**]}\n", 3, 28, "drop the leading /"},
		{"bad glob", head + "  web: {kind: app, paths: [\"a/[b\"]}\n", 3, 28, "not a valid glob"},
		{"escaping pointer", head + "  m: {kind: model, pointer: ../m.yaml}\n", 3, 29, "remove the .. segments"},
		{"dotted project", head + "  d: {kind: dbt, project: ./analytics}\n", 3, 27, "drop the leading ./"},
		{"bad adapter", head + "  d: {kind: dbt, project: a, adapter: Snow Flake}\n", 3, 39, "write the dbt adapter's type in lower case, one of athena, bigquery"},
		{"ci_manifest without artifact", head + "  d: {kind: dbt, project: a, ci_manifest: {workflow: dbt.yml}}\n", 3, 43, "needs workflow and artifact"},
		{"ci_manifest typo", head + "  d: {kind: dbt, project: a, ci_manifest: {workflow: dbt.yml, artefact: m}}\n", 3, 63, `did you mean "artifact"`},
		{"ci_manifest wait_for_start not a duration", head + "  d: {kind: dbt, project: a, ci_manifest: {workflow: dbt.yml, artifact: m, wait_for_start: soon}}\n", 3, 92, "not a duration from 0s to 24h"},
		{"ci_manifest wait_for_start too long", head + "  d: {kind: dbt, project: a, ci_manifest: {workflow: dbt.yml, artifact: m, wait_for_start: 48h}}\n", 3, 92, "write for example wait_for_start: 10m"},
		{"ci_manifest workflow path", head + "  d: {kind: dbt, project: a, ci_manifest: {workflow: ci/dbt.yml, artifact: m}}\n", 3, 54, "file name under .github/workflows"},
		{"memory", head + "  web: {kind: app, paths: [x], resources: {memory: 4GB}}\n", 3, 52, "write for example 4Gi"},
		{"negative cpu", head + "  web: {kind: app, paths: [x], resources: {cpu: -1}}\n", 3, 49, "must not be negative"},
		{"replicas float", head + "  web: {kind: app, paths: [x], resources: {replicas: 1.5}}\n", 3, 54, "whole number"},
		{"nan gpu", head + "  web: {kind: app, paths: [x], resources: {gpu: .nan}}\n", 3, 49, "not a finite number"},
		{"evaluation without metric", head + "  m: {kind: model, pointer: m.yaml, evaluation: {min: 0.9}}\n", 3, 37, "needs metric"},
		{"negative regression", head + "  m: {kind: model, pointer: m.yaml, evaluation: {metric: auc, max_regression: -1}}\n", 3, 79, "must not be negative"},
		{"min on a lower-is-better metric", head + "  m: {kind: model, pointer: m.yaml, evaluation: {metric: rmse, direction: lower, min: 0.9}}\n", 3, 87, "write max: 0.9"},
		{"max on a higher-is-better metric", head + "  m: {kind: model, pointer: m.yaml, evaluation: {metric: auc, max: 0.9}}\n", 3, 68, "write direction: lower for auc"},
		{"unknown drift source", head + "  m: {kind: model, pointer: m.yaml, drift: {metric: psi, max: 0.2, source: logs}}\n", 3, 76, "must be metric (a run metric of the version) or tag"},
		{"empty evaluation list", head + "  m: {kind: model, pointer: m.yaml, evaluation: []}\n", 3, 49, "evaluation lists no gate"},
		{"a metric gated twice", head + "  m: {kind: model, pointer: m.yaml, evaluation: [{metric: auc}, {metric: auc, min: 0.9}]}\n", 3, 65, "evaluation[1] gates auc again"},
		{"a bad gate in the list", head + "  m: {kind: model, pointer: m.yaml, evaluation: [{metric: auc}, {metric: p95, direction: lower, min: 3}]}\n", 3, 102, "evaluation[1].min does not apply to a metric where lower is better"},
		{"unknown direction", head + "  m: {kind: model, pointer: m.yaml, evaluation: {metric: auc, direction: down}}\n", 3, 74, "must be higher or lower"},
		{"deploy not mapping", head + "  web: {kind: app, paths: [x], deploy: argo}\n", 3, 40, "write for example deploy: {driver: web-argo}"},
		{"artifacts list", "version: 1\nartifacts: [web]\n", 2, 12, "must be a mapping of names"},
		{"env bad key", "version: 1\nenvironments:\n  prod: {approval: {count: 1}}\n", 3, 10, `did you mean "approvals"`},
		{"requires undefined", "version: 1\nenvironments:\n  staging: {}\n  prod: {requires: [stagin]}\n", 4, 21, `did you mean "staging"`},
		{"requires itself", "version: 1\nenvironments:\n  prod: {requires: [prod]}\n", 3, 21, "requires itself"},
		{"requires cycle", "version: 1\nenvironments:\n  a: {requires: [b]}\n  b: {requires: [a]}\n", 3, 3, "a -> b -> a"},
		{"approvals without from", "version: 1\nenvironments:\n  prod: {approvals: {count: 2}}\n", 3, 10, "needs from"},
		{"negative approvals", "version: 1\nenvironments:\n  prod: {approvals: {count: -1, from: [x]}}\n", 3, 29, "must not be negative"},
		{"steps descending", "version: 1\nenvironments:\n  prod: {rollout: {steps: [50, 10, 100]}}\n", 3, 32, "must go up"},
		{"steps not ending at 100", "version: 1\nenvironments:\n  prod: {rollout: {steps: [10, 50]}}\n", 3, 32, "must end at 100"},
		{"step above 100", "version: 1\nenvironments:\n  prod: {rollout: {steps: [10, 150]}}\n", 3, 32, "between 1 and 100"},
		{"step zero", "version: 1\nenvironments:\n  prod: {rollout: {steps: [0, 100]}}\n", 3, 28, "between 1 and 100"},
		{"rollout without steps", "version: 1\nenvironments:\n  prod: {rollout: {pause: 1m}}\n", 3, 10, "needs steps"},
		{"pause not duration", "version: 1\nenvironments:\n  prod: {rollout: {steps: [100], pause: soon}}\n", 3, 41, "write for example pause: 2m"},
		{"pause number", "version: 1\nenvironments:\n  prod: {rollout: {steps: [100], pause: 120}}\n", 3, 41, "must be a duration"},
		{"freeze format", "version: 1\nenvironments:\n  prod: {freeze: [\"Friday afternoon\"]}\n", 3, 19, "not a freeze window"},
		{"freeze zone", "version: 1\nenvironments:\n  prod: {freeze: [\"Fri 15:00-Mon 08:00 Mars/Olympus\"]}\n", 3, 19, "not a time zone"},
		{"freeze yearly without zone", "version: 1\nenvironments:\n  prod: {freeze: [\"Dec 24-Dec 26\"]}\n", 3, 19, "Dec 24-Dec 26 UTC"},
		{"freeze day that does not exist", "version: 1\nenvironments:\n  prod: {freeze: [\"Fri 15:00-Mon 08:00\", \"Feb 30-Mar 01 UTC\"]}\n", 3, 42, "Feb has no day 30"},
		{"duplicate key", "version: 1\nversion: 1\n", 2, 1, "appears twice"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, probs := Parse([]byte(tc.src))
			for _, p := range probs {
				if strings.Contains(p.Message, tc.want) {
					if p.Line != tc.line || (tc.col != 0 && p.Column != tc.col) || p.File != Path {
						t.Errorf("problem %q at %s:%d:%d, want line %d column %d", p.Message, p.File, p.Line, p.Column, tc.line, tc.col)
					}
					return
				}
			}
			t.Errorf("no problem containing %q; got %v", tc.want, probs)
		})
	}
}

func TestParseKeepsReadablePartsOfBrokenConfig(t *testing.T) {
	c, probs := Parse([]byte("version: 1\nartifacts:\n  web: {kind: app, paths: [x], colour: red}\n  m: {kind: model, pointer: m.yaml}\n"))
	if len(probs) != 1 || !strings.Contains(probs[0].Message, `unknown key "colour"`) {
		t.Fatalf("problems = %v", probs)
	}
	if c == nil || c.Artifact("web") == nil || modelSpec(c.Artifact("m")).Pointer != "m.yaml" {
		t.Fatalf("config = %+v", c)
	}
}

func TestProblemsAreSortedByLine(t *testing.T) {
	_, probs := Parse([]byte("version: 3\nartifacts:\n  a: {kind: nope}\nenvironments:\n  b: {bad: 1}\n"))
	if len(probs) < 3 {
		t.Fatalf("problems = %v", probs)
	}
	for i := 1; i < len(probs); i++ {
		if probs[i].Line < probs[i-1].Line {
			t.Errorf("problems out of order: %v", probs)
		}
	}
}

func TestProblemString(t *testing.T) {
	cases := map[string]Problem{
		".github/conveyor.yml:3:5: m": {File: Path, Line: 3, Column: 5, Message: "m"},
		".github/conveyor.yml:3: m":   {File: Path, Line: 3, Message: "m"},
		".github/conveyor.yml: m":     {File: Path, Message: "m"},
	}
	for want, p := range cases {
		if got := p.String(); got != want {
			t.Errorf("String() = %q, want %q", got, want)
		}
	}
}

// The yearly form that docs/policies.md and docs/configuration.md document is
// accepted at config load next to the weekly one.
func TestParseAcceptsYearlyFreezeWindows(t *testing.T) {
	c := mustParse(t, "version: 1\nenvironments:\n  production: {freeze: [\"Dec 24-Dec 26 UTC\", \"Dec 28-Jan 02 Europe/Berlin\", \"Fri 15:00-Mon 08:00\"]}\n")
	if got := strings.Join(c.Environment("production").Freeze, "|"); got != "Dec 24-Dec 26 UTC|Dec 28-Jan 02 Europe/Berlin|Fri 15:00-Mon 08:00" {
		t.Errorf("freeze = %q", got)
	}
}
