package serverconfig

import (
	"strings"
	"testing"
	"time"
)

const example = `
registries:
  main: {type: mlflow, url: "https://mlflow.internal", token_env: MLFLOW_TRACKING_TOKEN}
drivers:
  web-argo: {type: exec, command: ["/opt/deploy/web.sh"], timeout: 10m}
  mlflow:   {type: mlflow, registry: main}
  dbt:      {type: dbt, command: ["dbt", "build"], profiles_dir: /etc/dbt}
  app-wf:   {type: github-workflow, workflow: deploy.yml}
  internal: {type: webhook, url: "https://deployer.internal/hooks", secret_env: DEPLOYER_SECRET}
health:
  web-argo: {http: "https://web.{environment}.internal/healthz", expect: 200}
teams:
  acme/ml: {quota: {production: {cpu: 64, memory: 256Gi, gpu: 8}}}
pricing: {cpu_hour: 0.04, memory_gib_hour: 0.005, gpu_hour: 2.50, cost_gate_usd: 500, finance_team: acme/finance}
slack:
  channels: {production: "C0PRODDEPLOY", staging: "C0STAGING"}
  users: {U024BE7LH: octocat}
approvals: {expire_after: 24h}
policies: {dir: /etc/conveyor/policies}
`

func TestParseDesignExample(t *testing.T) {
	c, err := Parse([]byte(example))
	if err != nil {
		t.Fatal(err)
	}
	if c.Drivers["web-argo"].Timeout.Duration != 10*time.Minute {
		t.Errorf("timeout = %v", c.Drivers["web-argo"].Timeout)
	}
	if got := c.Teams["acme/ml"].Quota["production"].MemoryBytes; got != 256<<30 {
		t.Errorf("quota memory = %d", got)
	}
	if c.Health["web-argo"].Timeout.Duration != 5*time.Second {
		t.Errorf("health timeout default not applied")
	}
	if c.Slack.Users["U024BE7LH"] != "octocat" || c.Approvals.ExpireAfter.Duration != 24*time.Hour {
		t.Errorf("slack/approvals not parsed: %+v %+v", c.Slack, c.Approvals)
	}
}

func TestParseErrorsNameTheSetting(t *testing.T) {
	cases := map[string]string{
		"drivers: {x: {type: exec, command: [a], timeout: soon}}": "not a duration",
		"bogus: 1": "field bogus not found",
		"teams: {acme/ml: {quota: {production: {memory: lots}}}}": "teams.acme/ml.quota.production.memory",
		"pricing: {cost_gate_usd: 10}":                            "pricing.finance_team",
		"registries: {r: {type: s3, url: x}}":                     "registries.r.type",
		"registries: {r: {type: mlflow, url: x, ui_url: mlflow}}": "registries.r.ui_url: \"mlflow\" is not an http(s) URL",
		// A health gate under a misspelt driver name would guard nothing.
		"drivers: {web-argo: {type: exec, command: [a]}}\nhealth: {web-argo: {http: \"https://x\"}, web-argos: {http: \"https://x\"}}": "health.web-argos: no driver of that name under drivers (a health gate is keyed by the driver whose rollouts it guards; the drivers are web-argo)",
		"health: {web: {http: \"https://x\"}}": "health.web: no driver of that name under drivers (a health gate is keyed by the driver whose rollouts it guards; none are defined)",
	}
	for in, want := range cases {
		_, err := Parse([]byte(in))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q) error = %v; want it to mention %q", in, err, want)
		}
	}
}

// The drivers: section is checked by rules its owner passes in (deploy/driver
// has the driver rules and their tests); their problems join the file's
// others in one error, in the file's order of sections.
func TestRulesJoinTheFilesProblems(t *testing.T) {
	var seen *Config
	rule := func(c *Config) []string {
		seen = c
		return []string{"drivers.x.command: missing"}
	}
	_, err := Parse([]byte("registries: {r: {type: s3, url: x}}\ndrivers: {x: {type: exec}}\npricing: {cost_gate_usd: 10}"), rule)
	want := `registries.r.type: "s3" is not a registry type (write mlflow, or unity-catalog for Databricks Unity Catalog); drivers.x.command: missing; pricing.finance_team: missing (the cost gate needs a team to approve, for example acme/finance)`
	if err == nil || err.Error() != want {
		t.Errorf("err = %v\nwant %s", err, want)
	}
	if seen == nil || seen.Drivers["x"].Type != "exec" {
		t.Errorf("the rule did not see the parsed drivers: %+v", seen)
	}
	if _, err := Parse([]byte("drivers: {x: {type: anything}}")); err != nil {
		t.Errorf("without rules, serverconfig judges no driver: %v", err)
	}
}

func TestDefault(t *testing.T) {
	c := Default()
	if c.Approvals.ExpireAfter.Duration != 24*time.Hour {
		t.Fatal("default expiry")
	}
	if _, err := Parse(nil); err != nil {
		t.Fatal(err)
	}
}
