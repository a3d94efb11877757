package driver

import (
	"os"
	"strings"
	"testing"

	"github.com/conveyor-dev/conveyor/internal/serverconfig"
)

// The driver rules, applied at server config load, name the setting of each
// problem (the messages serve has always printed).
func TestRulesNameTheSetting(t *testing.T) {
	cases := map[string]string{
		"drivers: {x: {type: teleport}}":                             `drivers.x.type: "teleport" is not a driver type (write one of exec, github-workflow, mlflow, dbt, webhook, sagemaker, vertex)`,
		"drivers: {x: {type: mlflow, registry: nope}}":               `drivers.x.registry: "nope" is not defined under registries`,
		"drivers: {x: {type: exec}}":                                 `drivers.x.command: missing (an exec driver runs a command, for example ["/opt/deploy/web.sh"])`,
		"drivers: {x: {type: github-workflow}}":                      "drivers.x.workflow: missing (write the workflow file name, for example deploy.yml)",
		"drivers: {x: {type: webhook, secret_env: S}}":               "drivers.x.url: missing (write the deployer's URL)",
		"drivers: {x: {type: webhook, url: \"https://d.internal\"}}": "drivers.x.secret_env: missing (webhook deploys are signed, so name the environment variable holding the shared secret)",
	}
	for in, want := range cases {
		_, err := serverconfig.Parse([]byte(in), Rules)
		if err == nil || err.Error() != want {
			t.Errorf("Parse(%q) error = %v\nwant %s", in, err, want)
		}
	}
	ok := "registries: {main: {type: mlflow, url: \"https://m\"}}\ndrivers:\n  a: {type: exec, command: [x]}\n  b: {type: mlflow, registry: main}\n  c: {type: dbt}\n  d: {type: github-workflow, workflow: deploy.yml}\n  e: {type: webhook, url: \"https://d\", secret_env: S}\n"
	if _, err := serverconfig.Parse([]byte(ok), Rules); err != nil {
		t.Errorf("a valid config is refused: %v", err)
	}
}

// docs/configuration.md quotes this message; every problem of the file is
// reported at once, in the order of its sections.
func TestRulesReportWithTheFilesOtherProblems(t *testing.T) {
	in := `
registries: {main: {type: mlflow}}
drivers:
  m: {type: mlflow, registry: nope}
  x: {type: helm}
teams: {ml: {}}
pricing: {cost_gate_usd: 10}
`
	want := `registries.main.url: missing (write the registry's base URL); drivers.m.registry: "nope" is not defined under registries; drivers.x.type: "helm" is not a driver type (write one of exec, github-workflow, mlflow, dbt, webhook, sagemaker, vertex); teams.ml: write the team as org/slug; pricing.finance_team: missing (the cost gate needs a team to approve, for example acme/finance)`
	if _, err := serverconfig.Parse([]byte(in), Rules); err == nil || err.Error() != want {
		t.Errorf("err = %v\nwant %s", err, want)
	}
}

// New applies the same rules to the one entry it builds.
func TestNewAppliesTheSameRules(t *testing.T) {
	for _, cfg := range []serverconfig.Driver{{Type: "exec"}, {Type: "teleport"}, {Type: "webhook", URL: "https://d"}, {Type: "github-workflow"}} {
		c := &serverconfig.Config{Drivers: map[string]serverconfig.Driver{"x": cfg}}
		want := Rules(c)
		_, err := New("x", cfg, Deps{})
		if len(want) == 0 || err == nil || !strings.Contains(err.Error(), want[0]) {
			t.Errorf("New(%+v) = %v; want the rule's message %q", cfg, err, want)
		}
	}
}

// The server config examples docs/configuration.md shows (the full example
// and the health section's) load without a problem, so what the page
// teaches is a config serve accepts.
func TestDocsServerConfigExamplesAreValid(t *testing.T) {
	doc, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, after := range []string{"Full example (every section is optional):", "masked in everything posted, like drivers' secrets."} {
		_, rest, ok := strings.Cut(string(doc), after)
		if !ok {
			t.Fatalf("docs/configuration.md lacks %q", after)
		}
		_, block, _ := strings.Cut(rest, "```yaml\n")
		block, _, _ = strings.Cut(block, "```")
		if !strings.Contains(block, "health:") {
			t.Fatalf("the example after %q has no health section:\n%s", after, block)
		}
		if strings.HasPrefix(block, "health:") {
			// The health section's example names drivers the full example defines.
			block = "registries: {main: {type: mlflow, url: \"https://m\"}}\ndrivers:\n  web-argo: {type: exec, command: [x]}\n  fraud-sagemaker: {type: mlflow, registry: main}\n" + block
		}
		if _, err := serverconfig.Parse([]byte(block), Rules); err != nil {
			t.Errorf("the example after %q is refused: %v\n%s", after, err, block)
		}
	}
}
