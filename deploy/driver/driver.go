// Package driver owns the deploy drivers (exec, mlflow, dbt, github-workflow,
// webhook, sagemaker, vertex) and the health gates (an HTTP probe, Prometheus
// and Datadog metric queries) that the promotion engine calls between
// rollout steps. A driver carries out one deploy or rollback of one artifact
// to one environment and reports progress; it must not decide whether the
// deploy is allowed (that is policy) nor record state (that is the engine and
// the store). Drivers are built from the server config only, never from the
// repository, so a pull request cannot choose what program runs. Nor can it
// choose the program's options: text a pull request controls (branch names,
// dbt model names from file names) reaches a program only as CONVEYOR_*
// environment variables or inside an option's "=" form after validation
// (CheckDBTSelection), never as an argv word of its own; the workflow,
// webhook and mlflow drivers pass it as JSON values, not as arguments.
package driver

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/google/go-github/v66/github"

	"github.com/conveyor-dev/conveyor/internal/secretmask"
	"github.com/conveyor-dev/conveyor/internal/serverconfig"
)

// Target says what to deploy where. The engine fills it from the deployment
// row and the repository config.
type Target struct {
	DeploymentID   int64
	Repository     string // owner/name
	InstallationID int64
	PR             int
	SHA            string
	Ref            string // head branch
	Environment    string
	Production     bool
	Artifact       string
	Kind           string // a registered kind: app, model, dbt, ...
	Step           int    // rollout step index
	Percent        int    // rollout percentage; 100 when there is no rollout
	// Spec is the kind's payload (package kind: Kind.Plan), as JSON; drivers
	// for a kind read it through ModelRef, DBTRef or DecodeSpec. Nil when
	// the kind has none (an app ships its SHA).
	Spec json.RawMessage
	// Previous is what served before (a SHA or a model version) and is what
	// Rollback restores; "" means nothing served before.
	Previous string
}

// Result is what a deploy or rollback left behind.
type Result struct {
	Serving  string // what serves now: a model version or a SHA
	Previous string // what served before this deploy
	URL      string // where to look (a workflow run, the deployed app), if known
	Output   string // the last ~4 KiB of progress output
	// Manifest is the manifest.json a dbt run wrote (nil when none was
	// read); the engine keeps it for the environment so a pull request can
	// compare with what runs there after the CI artifact expired.
	Manifest []byte
}

// Driver deploys and rolls back one artifact in one environment.
type Driver interface {
	Deploy(ctx context.Context, t Target, log Logger) (Result, error)
	Rollback(ctx context.Context, t Target, log Logger) (Result, error)
}

// HealthChecker is implemented by drivers that can check by themselves that
// what they deployed is serving; the engine runs it in addition to any
// configured HTTP health gate.
type HealthChecker interface {
	Healthy(ctx context.Context, t Target) error
}

// Logger receives progress lines meant for users (PR comment, Slack thread).
// It may be nil.
type Logger func(line string)

// Deps are the outside services drivers use. Zero fields get defaults where
// one exists (Env: os.Getenv, HTTP: a client without timeout, since each
// driver bounds its own work by its configured timeout; WorkDir: os.TempDir()).
type Deps struct {
	MLflow  func(registry string) (ModelRegistry, error)
	GitHub  func(installationID int64) (*github.Client, error)
	Env     func(string) string
	HTTP    *http.Client
	WorkDir string
	// Mask hides the server's secrets in everything a driver reports
	// (progress lines, Result.Output, errors). nil masks token shapes only.
	Mask *secretmask.Masker
}

func (d Deps) withDefaults() Deps {
	if d.Env == nil {
		d.Env = os.Getenv
	}
	if d.HTTP == nil {
		d.HTTP = &http.Client{}
	}
	if d.WorkDir == "" {
		d.WorkDir = os.TempDir()
	}
	return d
}

const (
	defaultTimeout      = 10 * time.Minute
	defaultPollInterval = 5 * time.Second
)

// New builds the driver named name from its server config entry. The entry
// must pass the same rules serverconfig.Load applies with Rules.
func New(name string, cfg serverconfig.Driver, deps Deps) (Driver, error) {
	if problems := checkDriver(name, cfg, nil); len(problems) > 0 {
		return nil, fmt.Errorf("driver %q (%s): %s", name, cfg.Type, strings.Join(problems, "; "))
	}
	deps = deps.withDefaults()
	if cfg.Timeout.Duration <= 0 {
		cfg.Timeout.Duration = defaultTimeout
	}
	if cfg.PollInterval.Duration <= 0 {
		cfg.PollInterval.Duration = defaultPollInterval
	}
	b := base{name: name, typ: cfg.Type, timeout: cfg.Timeout.Duration, mask: deps.Mask}
	switch cfg.Type {
	case "exec":
		return &execDriver{base: b, cfg: cfg, deps: deps}, nil
	case "mlflow":
		if deps.MLflow == nil {
			return nil, fmt.Errorf("driver %q (mlflow): no model registry client was provided (Deps.MLflow is nil)", name)
		}
		return &mlflowDriver{base: b, cfg: cfg, deps: deps}, nil
	case "dbt":
		if deps.GitHub == nil {
			return nil, fmt.Errorf("driver %q (dbt): no GitHub client was provided (Deps.GitHub is nil); the dbt driver needs it to fetch the checkout", name)
		}
		if len(cfg.Command) == 0 {
			cfg.Command = []string{"dbt", "build"}
		}
		return &dbtDriver{base: b, cfg: cfg, deps: deps}, nil
	case "github-workflow":
		if deps.GitHub == nil {
			return nil, fmt.Errorf("driver %q (github-workflow): no GitHub client was provided (Deps.GitHub is nil)", name)
		}
		return &workflowDriver{base: b, cfg: cfg, deps: deps, runs: defaultRuns}, nil
	case "sagemaker":
		if deps.MLflow == nil {
			return nil, fmt.Errorf("driver %q (sagemaker): no model registry client was provided (Deps.MLflow is nil); the sagemaker driver reads the model's artifact location from it", name)
		}
		return newSageMakerDriver(b, cfg, deps), nil
	case "vertex":
		if deps.MLflow == nil {
			return nil, fmt.Errorf("driver %q (vertex): no model registry client was provided (Deps.MLflow is nil); the vertex driver reads the model's artifact location from it", name)
		}
		return newVertexDriver(b, cfg, deps), nil
	default: // webhook; checkDriver refused every other type
		return &webhookDriver{base: b, cfg: cfg, deps: deps}, nil
	}
}

// servingAfterDeploy is what serves once a deploy of t succeeds: the model
// version for models, the SHA otherwise.
func servingAfterDeploy(t Target) string {
	if v := SpecVersion(t.Spec); v != "" {
		return v
	}
	return t.SHA
}

func action(deploy bool) string {
	if deploy {
		return "deploy"
	}
	return "rollback"
}
