// Package serverconfig owns the server configuration file (conveyor.server.yml):
// registries, deploy drivers, health gates, teams and quotas, pricing, Slack
// and approvals. It parses and validates the file at start; it holds secrets
// only by reference (environment variable names), never their values.
//
// It holds driver entries as written but knows no driver type: the rules
// for drivers: live in deploy/driver (driver.Rules), which callers pass to
// Load or Parse so every problem of the file is still reported at once.
package serverconfig

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"os"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/conveyor-dev/conveyor/internal/resources"
)

// Config is the whole server configuration.
type Config struct {
	Registries map[string]Registry `yaml:"registries"`
	Drivers    map[string]Driver   `yaml:"drivers"`
	Health     map[string]Health   `yaml:"health"`
	Teams      map[string]Team     `yaml:"teams"`
	Pricing    resources.Pricing   `yaml:"pricing"`
	Slack      Slack               `yaml:"slack"`
	Approvals  Approvals           `yaml:"approvals"`
	Policies   Policies            `yaml:"policies"`
}

// Registry is a model registry reachable by the server.
type Registry struct {
	Type        string `yaml:"type"` // mlflow or unity-catalog
	URL         string `yaml:"url"`
	TokenEnv    string `yaml:"token_env"`    // Bearer token, by environment variable name
	Username    string `yaml:"username"`     // Basic auth user (then PasswordEnv holds the password)
	PasswordEnv string `yaml:"password_env"` // Basic auth password, by environment variable name
	// UIURL is the registry's web UI (often URL itself): checks link each
	// model version and run there.
	UIURL string `yaml:"ui_url"`
}

// Driver is a named deploy driver as written in the file. Which fields apply
// depends on Type; deploy/driver says which are required and their defaults.
type Driver struct {
	Type         string            `yaml:"type"` // exec, github-workflow, mlflow, dbt, webhook, sagemaker, vertex
	Command      []string          `yaml:"command"`
	Env          map[string]string `yaml:"env"`
	Timeout      Duration          `yaml:"timeout"`
	Registry     string            `yaml:"registry"`     // mlflow
	ProfilesDir  string            `yaml:"profiles_dir"` // dbt
	Workflow     string            `yaml:"workflow"`     // github-workflow: file name or ID
	Ref          string            `yaml:"ref"`          // github-workflow: ref to dispatch on (default: the default branch)
	URL          string            `yaml:"url"`          // webhook
	SecretEnv    string            `yaml:"secret_env"`   // webhook HMAC secret, by environment variable name
	PollInterval Duration          `yaml:"poll_interval"`
	// sagemaker: the endpoint (may contain {artifact} and {environment}),
	// the inference image and execution role of the models it creates,
	// their instances, and the AWS region, endpoint URL and credentials
	// (by environment variable name; the SDK's default chain otherwise).
	Endpoint      string `yaml:"endpoint"`
	Image         string `yaml:"image"`
	RoleARN       string `yaml:"role_arn"`
	InstanceType  string `yaml:"instance_type"`
	InstanceCount int32  `yaml:"instance_count"`
	Region        string `yaml:"region"`
	EndpointURL   string `yaml:"endpoint_url"`
	AccessKeyEnv  string `yaml:"access_key_env"`
	SecretKeyEnv  string `yaml:"secret_key_env"`
	// vertex: the Google Cloud project, the machine type of deployed
	// models, and a service account key file (Application Default
	// Credentials otherwise); region, endpoint, image and endpoint_url as
	// for sagemaker.
	Project         string `yaml:"project"`
	MachineType     string `yaml:"machine_type"`
	CredentialsFile string `yaml:"credentials_file"`
}

// Health is the health gate of one driver, checked after every rollout
// step: an HTTP probe, metric queries watched over a bake time, or both.
// deploy/driver (driver.Rules) says which combinations are valid.
type Health struct {
	HTTP    string   `yaml:"http"` // may contain {environment} and {artifact}
	Expect  int      `yaml:"expect"`
	Timeout Duration `yaml:"timeout"` // per probe or query
	// Bake is how long the metric gates are watched after each step (0:
	// evaluated once); Every is the pause between two evaluations.
	Bake       Duration          `yaml:"bake"`
	Every      Duration          `yaml:"every"`
	Prometheus *PrometheusSource `yaml:"prometheus"`
	Datadog    *DatadogSource    `yaml:"datadog"`
	Metrics    []MetricGate      `yaml:"metrics"`
}

// PrometheusSource is the Prometheus server the metric gates query.
type PrometheusSource struct {
	URL      string `yaml:"url"`
	TokenEnv string `yaml:"token_env"` // Bearer token, by environment variable name (optional)
}

// DatadogSource is the Datadog site the metric gates query, with its keys
// by environment variable name.
type DatadogSource struct {
	URL       string   `yaml:"url"` // API host, default https://api.datadoghq.com
	APIKeyEnv string   `yaml:"api_key_env"`
	AppKeyEnv string   `yaml:"app_key_env"`
	Window    Duration `yaml:"window"` // how far back each query looks, default 5m
}

// MetricGate is one query that must compare true against its threshold
// for the rollout to go on. Exactly one of Prometheus (PromQL) and Datadog
// (a metrics query) is set; both may use {artifact}, {environment} and
// {version}.
type MetricGate struct {
	Name         string   `yaml:"name"`
	Prometheus   string   `yaml:"prometheus"`
	Datadog      string   `yaml:"datadog"`
	Compare      string   `yaml:"compare"` // <, <=, >, >=
	Threshold    *float64 `yaml:"threshold"`
	Environments []string `yaml:"environments"` // only in these (default: every environment)
}

// Team is a GitHub team ("org/slug") with quotas per environment.
type Team struct {
	Quota map[string]Quota `yaml:"quota"`
}

// Quota limits what a team may run in one environment.
type Quota struct {
	CPU         float64 `yaml:"cpu"`
	Memory      string  `yaml:"memory"`
	MemoryBytes int64   `yaml:"-"`
	GPU         float64 `yaml:"gpu"`
}

// Slack says where approval requests go and who is who.
type Slack struct {
	Channels map[string]string `yaml:"channels"` // environment -> channel ID
	Users    map[string]string `yaml:"users"`    // Slack user ID -> GitHub login
	Emails   map[string]string `yaml:"emails"`   // e-mail -> GitHub login
}

// Approvals holds approval settings.
type Approvals struct {
	ExpireAfter Duration `yaml:"expire_after"`
}

// Policies names a directory of extra Rego policies and the teams that may
// override the model and dbt quality gates for production.
type Policies struct {
	Dir           string   `yaml:"dir"`
	OverrideTeams []string `yaml:"override_teams"`
}

// Duration is a time.Duration written as "10m", "24h".
type Duration struct{ time.Duration }

// UnmarshalYAML parses a Go duration string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil {
		return fmt.Errorf("line %d: want a duration such as 10m or 24h", n.Line)
	}
	v, err := time.ParseDuration(s)
	if err != nil || v < 0 {
		return fmt.Errorf("line %d: %q is not a duration (write for example 10m or 24h)", n.Line, s)
	}
	d.Duration = v
	return nil
}

// Rules checks a part of the config this package does not own (the
// drivers: section: driver.Rules) and returns its problems, each naming the
// setting by its path.
type Rules func(c *Config) []string

// Default returns the configuration used when no file is given.
func Default() *Config {
	c := &Config{}
	c.applyDefaults()
	return c
}

// Load reads and validates a server config file, with rules for the parts
// other packages own (driver.Rules for drivers:).
func Load(path string, rules ...Rules) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("server config: %w", err)
	}
	c, err := Parse(b, rules...)
	if err != nil {
		return nil, fmt.Errorf("server config %s: %w", path, err)
	}
	return c, nil
}

// Parse decodes and validates a server config document. Unknown keys are
// errors. rules check the parts other packages own.
func Parse(b []byte, rules ...Rules) (*Config, error) {
	c := &Config{}
	if len(bytes.TrimSpace(b)) > 0 {
		dec := yaml.NewDecoder(bytes.NewReader(b))
		dec.KnownFields(true)
		if err := dec.Decode(c); err != nil {
			return nil, fmt.Errorf("%s", strings.TrimPrefix(err.Error(), "yaml: "))
		}
	}
	c.applyDefaults()
	if err := c.Validate(rules...); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Config) applyDefaults() {
	if c.Approvals.ExpireAfter.Duration == 0 {
		c.Approvals.ExpireAfter.Duration = 24 * time.Hour
	}
	for name, h := range c.Health {
		if h.Expect == 0 {
			h.Expect = 200
		}
		if h.Timeout.Duration == 0 {
			h.Timeout.Duration = 5 * time.Second
		}
		if h.Every.Duration == 0 {
			h.Every.Duration = 30 * time.Second
		}
		if h.Datadog != nil {
			if h.Datadog.URL == "" {
				h.Datadog.URL = "https://api.datadoghq.com"
			}
			if h.Datadog.Window.Duration == 0 {
				h.Datadog.Window.Duration = 5 * time.Minute
			}
		}
		c.Health[name] = h
	}
}

// Validate checks cross-references and required fields, and runs rules for
// the parts other packages own. Each problem names the setting by its path,
// for example drivers.web.command; all are reported at once, in the file's
// order of sections.
func (c *Config) Validate(rules ...Rules) error {
	var errs []string
	add := func(format string, a ...any) { errs = append(errs, fmt.Sprintf(format, a...)) }
	for _, name := range sortedKeys(c.Registries) {
		r := c.Registries[name]
		if r.Type != "mlflow" && r.Type != "unity-catalog" {
			add("registries.%s.type: %q is not a registry type (write mlflow, or unity-catalog for Databricks Unity Catalog)", name, r.Type)
		}
		if r.URL == "" {
			add("registries.%s.url: missing (write the registry's base URL)", name)
		}
		if u, err := url.Parse(r.UIURL); r.UIURL != "" && (err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "") {
			add("registries.%s.ui_url: %q is not an http(s) URL (write for example https://mlflow.internal)", name, r.UIURL)
		}
	}
	for _, r := range rules {
		errs = append(errs, r(c)...)
	}
	for _, name := range sortedKeys(c.Health) {
		if h := c.Health[name]; h.HTTP == "" && len(h.Metrics) == 0 {
			add("health.%s: write http (a URL to probe), metrics (queries to watch), or both", name)
		}
		// A gate is keyed by the driver it guards: a misspelt name would
		// leave that driver's rollouts with no gate at all.
		if _, ok := c.Drivers[name]; !ok {
			known := "none are defined"
			if len(c.Drivers) > 0 {
				known = "the drivers are " + strings.Join(sortedKeys(c.Drivers), ", ")
			}
			add("health.%s: no driver of that name under drivers (a health gate is keyed by the driver whose rollouts it guards; %s)", name, known)
		}
	}
	for _, name := range sortedKeys(c.Teams) {
		if !strings.Contains(name, "/") {
			add("teams.%s: write the team as org/slug", name)
		}
		t := c.Teams[name]
		for _, env := range sortedKeys(t.Quota) {
			q := t.Quota[env]
			if q.Memory != "" {
				b, err := resources.ParseMemory(q.Memory)
				if err != nil {
					add("teams.%s.quota.%s.memory: %v", name, env, err)
				}
				q.MemoryBytes = b
				t.Quota[env] = q
			}
		}
	}
	p := c.Pricing
	if p.CPUHour < 0 || p.MemoryGiBHour < 0 || p.GPUHour < 0 || p.CostGateUSD < 0 {
		add("pricing: prices and cost_gate_usd must not be negative")
	}
	if p.CostGateUSD > 0 && p.FinanceTeam == "" {
		add("pricing.finance_team: missing (the cost gate needs a team to approve, for example acme/finance)")
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "; "))
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
