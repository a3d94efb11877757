package driver

import (
	"context"
	"fmt"

	"github.com/conveyor-dev/conveyor/internal/mlflow"
	"github.com/conveyor-dev/conveyor/internal/serverconfig"
)

// ModelRegistry is the part of a model registry the mlflow driver uses.
// *mlflow.Client satisfies it.
type ModelRegistry interface {
	// GetModelVersionByAlias returns (nil, nil) when the alias is not set.
	GetModelVersionByAlias(ctx context.Context, name, alias string) (*mlflow.ModelVersion, error)
	SetAlias(ctx context.Context, name, alias, version string) error
	DeleteAlias(ctx context.Context, name, alias string) error
}

// canarySuffix names the alias set at partial rollout steps.
const canarySuffix = "-canary"

// mlflowDriver promotes a model version by pointing the registered model's
// alias named after the environment at it.
//
// MLflow aliases are all-or-nothing, so a partial rollout step (Percent <
// 100) sets the alias "<env>-canary" to the candidate and leaves "<env>"
// alone: the serving layer routes Percent of the traffic to the canary
// alias. The step reaching 100 % moves "<env>" to the candidate and removes
// "<env>-canary". Rollback restores "<env>" to Target.Previous (or removes
// it when nothing served before) and removes "<env>-canary".
//
// The registry is the driver's configured one (server config), falling back
// to the pointer file's registry only when the driver names none: what
// governs comes from the server, not from the pull request.
type mlflowDriver struct {
	base
	cfg  serverconfig.Driver
	deps Deps
}

func (d *mlflowDriver) registry(t Target) (ModelRegistry, error) {
	name := d.cfg.Registry
	if name == "" {
		if m := t.ModelRef(); m != nil {
			name = m.Registry
		}
	}
	reg, err := d.deps.MLflow(name)
	if err != nil {
		return nil, fmt.Errorf("registry %q: %w", name, err)
	}
	return reg, nil
}

func (d *mlflowDriver) check(ctx context.Context, t Target, deploy bool) error {
	return d.requireModel(ctx, t, deploy, deploy,
		"the mlflow driver deploys kind: model artifacts; give the artifact a pointer file with model and version, or point its deploy.driver at an app driver")
}

func (d *mlflowDriver) Deploy(ctx context.Context, t Target, log Logger) (Result, error) {
	if err := d.check(ctx, t, true); err != nil {
		return Result{}, err
	}
	return d.run(ctx, t, log, true, "check that the model version exists and is READY and that the server's registry token may set aliases, then deploy again",
		func(ctx context.Context, p *progress) (Result, error) { return d.deploy(ctx, t, p) })
}

func (d *mlflowDriver) deploy(ctx context.Context, t Target, p *progress) (Result, error) {
	reg, err := d.registry(t)
	if err != nil {
		return Result{}, err
	}
	m := t.ModelRef()
	res := Result{Serving: m.Version, Previous: t.Previous}
	cur, err := reg.GetModelVersionByAlias(ctx, m.Name, t.Environment)
	if err != nil {
		return res, fmt.Errorf("read alias %q of model %q: %w", t.Environment, m.Name, err)
	}
	// On a retry the alias may already point at the candidate; then the
	// engine's Previous is the truth.
	if cur != nil && cur.Version != m.Version {
		res.Previous = cur.Version
	}
	if t.Percent > 0 && t.Percent < 100 {
		alias := t.Environment + canarySuffix
		if err := reg.SetAlias(ctx, m.Name, alias, m.Version); err != nil {
			return res, fmt.Errorf("set alias %q of model %q to version %s: %w", alias, m.Name, m.Version, err)
		}
		now := ""
		if cur != nil {
			now = cur.Version
		}
		p.Printf("model %s, alias %s: -> %s for the %d %% step; alias %s stays at %s; the traffic split is the serving layer's job",
			m.Name, alias, m.Version, t.Percent, t.Environment, orNothing(now))
		return res, nil
	}
	if err := reg.SetAlias(ctx, m.Name, t.Environment, m.Version); err != nil {
		return res, fmt.Errorf("set alias %q of model %q to version %s: %w", t.Environment, m.Name, m.Version, err)
	}
	// The ML engineer's words: which alias moved, from which version to which.
	p.Printf("model %s, alias %s: %s -> %s", m.Name, t.Environment, orNothing(res.Previous), m.Version)
	if err := d.dropCanary(ctx, reg, t, p); err != nil {
		return res, err
	}
	return res, nil
}

func (d *mlflowDriver) Rollback(ctx context.Context, t Target, log Logger) (Result, error) {
	if err := d.check(ctx, t, false); err != nil {
		return Result{}, err
	}
	return d.run(ctx, t, log, false, fmt.Sprintf("set alias %q of model %q by hand in MLflow if this keeps failing", t.Environment, t.ModelRef().Name),
		func(ctx context.Context, p *progress) (Result, error) { return d.rollback(ctx, t, p) })
}

func (d *mlflowDriver) rollback(ctx context.Context, t Target, p *progress) (Result, error) {
	reg, err := d.registry(t)
	if err != nil {
		return Result{}, err
	}
	m := t.ModelRef()
	res := Result{Serving: t.Previous}
	if cur, err := reg.GetModelVersionByAlias(ctx, m.Name, t.Environment); err != nil {
		return res, fmt.Errorf("read alias %q of model %q: %w", t.Environment, m.Name, err)
	} else if cur != nil {
		res.Previous = cur.Version
	}
	if t.Previous == "" {
		if res.Previous != "" {
			if err := reg.DeleteAlias(ctx, m.Name, t.Environment); err != nil {
				return res, fmt.Errorf("delete alias %q of model %q: %w", t.Environment, m.Name, err)
			}
		}
		p.Printf("model %s alias %q removed: nothing served in %s before", m.Name, t.Environment, t.Environment)
	} else {
		if err := reg.SetAlias(ctx, m.Name, t.Environment, t.Previous); err != nil {
			return res, fmt.Errorf("set alias %q of model %q back to version %s: %w", t.Environment, m.Name, t.Previous, err)
		}
		p.Printf("model %s, alias %s: %s -> %s (rolled back)", m.Name, t.Environment, orNothing(res.Previous), t.Previous)
	}
	return res, d.dropCanary(ctx, reg, t, p)
}

func (d *mlflowDriver) dropCanary(ctx context.Context, reg ModelRegistry, t Target, p *progress) error {
	alias := t.Environment + canarySuffix
	cur, err := reg.GetModelVersionByAlias(ctx, t.ModelRef().Name, alias)
	if err != nil {
		return fmt.Errorf("read alias %q of model %q: %w", alias, t.ModelRef().Name, err)
	}
	if cur == nil {
		return nil
	}
	if err := reg.DeleteAlias(ctx, t.ModelRef().Name, alias); err != nil {
		return fmt.Errorf("delete alias %q of model %q: %w", alias, t.ModelRef().Name, err)
	}
	p.Printf("model %s alias %q removed", t.ModelRef().Name, alias)
	return nil
}

// Healthy checks that the alias this step set points at the candidate: a
// registry-side check the engine runs besides any HTTP health gate.
func (d *mlflowDriver) Healthy(ctx context.Context, t Target) error {
	if err := d.check(ctx, t, true); err != nil {
		return err
	}
	reg, err := d.registry(t)
	if err != nil {
		return d.fail(ctx, t, true, err, "check the registry settings in the server config")
	}
	alias := t.Environment
	if t.Percent > 0 && t.Percent < 100 {
		alias += canarySuffix
	}
	cur, err := reg.GetModelVersionByAlias(ctx, t.ModelRef().Name, alias)
	if err != nil {
		return d.fail(ctx, t, true, err, "check that the registry is reachable")
	}
	if cur == nil || cur.Version != t.ModelRef().Version {
		got := "nothing"
		if cur != nil {
			got = "version " + cur.Version
		}
		return d.fail(ctx, t, true, fmt.Errorf("alias %q of model %q points at %s, want version %s", alias, t.ModelRef().Name, got, t.ModelRef().Version),
			"someone else moved the alias; deploy again or roll back")
	}
	return nil
}

func orNothing(v string) string {
	if v == "" {
		return "(none)"
	}
	return v
}
