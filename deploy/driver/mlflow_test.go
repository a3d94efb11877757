package driver

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/conveyor-dev/conveyor/internal/mlflow"
	"github.com/conveyor-dev/conveyor/internal/serverconfig"
)

// fakeRegistry is an in-memory ModelRegistry: aliases per model.
type fakeRegistry struct {
	mu       sync.Mutex
	versions map[string]bool              // versions that exist
	aliases  map[string]map[string]string // model -> alias -> version
	mode     string
	lastSet  string // last alias set
}

func newFakeRegistry(versions ...string) *fakeRegistry {
	r := &fakeRegistry{versions: map[string]bool{}, aliases: map[string]map[string]string{}, mode: "ok"}
	for _, v := range versions {
		r.versions[v] = true
	}
	return r
}

func (r *fakeRegistry) GetModelVersionByAlias(ctx context.Context, name, alias string) (*mlflow.ModelVersion, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	v, ok := r.aliases[name][alias]
	if !ok {
		return nil, nil
	}
	return &mlflow.ModelVersion{Name: name, Version: v, Status: mlflow.StatusReady}, nil
}

func (r *fakeRegistry) SetAlias(ctx context.Context, name, alias, version string) error {
	r.mu.Lock()
	mode := r.mode
	r.mu.Unlock()
	switch mode {
	case "fail":
		return errors.New("boom: PERMISSION_DENIED for alias")
	case "hang":
		<-ctx.Done()
		return ctx.Err()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.versions[version] {
		return errors.New("RESOURCE_DOES_NOT_EXIST: version " + version)
	}
	if r.aliases[name] == nil {
		r.aliases[name] = map[string]string{}
	}
	r.aliases[name][alias] = version
	r.lastSet = alias
	return nil
}

func (r *fakeRegistry) DeleteAlias(ctx context.Context, name, alias string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.aliases[name], alias)
	return nil
}

func (r *fakeRegistry) alias(name, alias string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.aliases[name][alias]
}

func modelTarget() Target {
	return Target{
		DeploymentID: 9, Repository: "acme/shop", SHA: shaNew, Environment: "production", Artifact: "fraud-model",
		Kind: "model", Percent: 100, Previous: "13", Spec: EncodeSpec(&ModelRef{Registry: "mlflow", Name: "fraud-detector", Version: "14"}),
	}
}

func newMLflowWorld(t *testing.T, timeout time.Duration) (contractWorld, *fakeRegistry, *[]string) {
	reg := newFakeRegistry("12", "13", "14")
	reg.aliases["fraud-detector"] = map[string]string{"production": "13"}
	var asked []string
	cfg := serverconfig.Driver{Type: "mlflow", Registry: "main"}
	cfg.Timeout.Duration = timeout
	d, err := New("mlflow", cfg, Deps{MLflow: func(name string) (ModelRegistry, error) {
		asked = append(asked, name)
		if name != "main" {
			return nil, errors.New("no such registry")
		}
		return reg, nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	return contractWorld{
		driver:  d,
		target:  modelTarget(),
		setMode: func(m string) { reg.mu.Lock(); reg.mode = m; reg.mu.Unlock() },
		serving: func() string { return reg.alias("fraud-detector", "production") },
		observed: func() observation {
			reg.mu.Lock()
			last := reg.lastSet
			reg.mu.Unlock()
			env, canary := strings.CutSuffix(last, canarySuffix)
			if !canary {
				return observation{Env: "production", Subject: reg.alias("fraud-detector", "production")}
			}
			return observation{Env: env, Subject: reg.alias("fraud-detector", last), Partial: true}
		},
	}, reg, &asked
}

var mlflowHarness = contractHarness{
	name:     "mlflow",
	failText: "PERMISSION_DENIED",
	setup: func(t *testing.T, timeout time.Duration) contractWorld {
		w, reg, _ := newMLflowWorld(t, timeout)
		// Give the full step a canary alias to clean up, as a real rollout has.
		reg.aliases["fraud-detector"]["production-canary"] = "12"
		return w
	},
}

func TestMLflowRolloutMovesCanaryThenMainAlias(t *testing.T) {
	w, reg, asked := newMLflowWorld(t, time.Minute)
	ctx := context.Background()
	tg := w.target
	tg.Percent = 10
	res, err := w.driver.Deploy(ctx, tg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := reg.alias("fraud-detector", "production-canary"); got != "14" {
		t.Errorf("canary alias = %q, want 14", got)
	}
	if got := reg.alias("fraud-detector", "production"); got != "13" {
		t.Errorf("main alias moved at 10 %%: %q", got)
	}
	if res.Previous != "13" || !strings.Contains(res.Output, "serving layer") {
		t.Errorf("Result = %+v; want Previous 13 and a note on the traffic split", res)
	}
	tg.Percent = 100
	if _, err := w.driver.Deploy(ctx, tg, nil); err != nil {
		t.Fatal(err)
	}
	if reg.alias("fraud-detector", "production") != "14" || reg.alias("fraud-detector", "production-canary") != "" {
		t.Errorf("after 100 %%: aliases %v; want production=14 and no canary", reg.aliases["fraud-detector"])
	}
	if err := w.driver.(HealthChecker).Healthy(ctx, tg); err != nil {
		t.Errorf("Healthy after deploy: %v", err)
	}
	reg.aliases["fraud-detector"]["production"] = "12"
	if err := w.driver.(HealthChecker).Healthy(ctx, tg); err == nil || !strings.Contains(err.Error(), "points at version 12, want version 14") {
		t.Errorf("Healthy with a moved alias = %v", err)
	}
	if (*asked)[0] != "main" {
		t.Errorf("registry asked for %q; want the driver's configured registry main, not the pointer's", (*asked)[0])
	}
}

func TestMLflowRollbackWithNothingBeforeDeletesAlias(t *testing.T) {
	w, reg, _ := newMLflowWorld(t, time.Minute)
	delete(reg.aliases["fraud-detector"], "production")
	tg := w.target
	tg.Previous = ""
	res, err := w.driver.Deploy(context.Background(), tg, nil)
	if err != nil || res.Previous != "" {
		t.Fatalf("Deploy = %+v, %v; want success with nothing before", res, err)
	}
	if _, err := w.driver.Rollback(context.Background(), tg, nil); err != nil {
		t.Fatal(err)
	}
	if v, ok := reg.aliases["fraud-detector"]["production"]; ok {
		t.Errorf("alias still set to %q after rolling back to nothing", v)
	}
}

func TestMLflowRetryKeepsEnginePrevious(t *testing.T) {
	w, reg, _ := newMLflowWorld(t, time.Minute)
	reg.aliases["fraud-detector"]["production"] = "14" // a deploy that already ran
	res, err := w.driver.Deploy(context.Background(), w.target, nil)
	if err != nil || res.Previous != "13" {
		t.Fatalf("Deploy retry = %+v, %v; want Previous 13 from the target", res, err)
	}
}

func TestMLflowRejectsTargetsWithoutModel(t *testing.T) {
	w, _, _ := newMLflowWorld(t, time.Minute)
	tg := appTarget()
	_, err := w.driver.Deploy(context.Background(), tg, nil)
	if err == nil || !strings.Contains(err.Error(), "kind: model") || !strings.Contains(err.Error(), "web") {
		t.Fatalf("err = %v; want it to say the driver deploys models and name the artifact", err)
	}
	tg = modelTarget()
	tg.Spec = WithVersion(tg.Spec, "99")
	_, err = w.driver.Deploy(context.Background(), tg, nil)
	if err == nil || !strings.Contains(err.Error(), "RESOURCE_DOES_NOT_EXIST") || !strings.Contains(err.Error(), "READY") {
		t.Fatalf("err = %v; want the registry's answer and a hint", err)
	}
}

// TestMLflowSaysWhichAliasMoved: the deploy output names the alias and the
// versions in the ML engineer's words, "production: 13 -> 14".
func TestMLflowSaysWhichAliasMoved(t *testing.T) {
	w, _, _ := newMLflowWorld(t, time.Minute)
	res, err := w.driver.Deploy(context.Background(), w.target, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(res.Output, "model fraud-detector, alias production: 13 -> 14") || res.Previous != "13" {
		t.Fatalf("output %q, previous %q", res.Output, res.Previous)
	}
	tg := w.target
	tg.Percent = 10
	if res, err = w.driver.Deploy(context.Background(), tg, nil); err != nil || !strings.Contains(res.Output, "alias production-canary: -> 14 for the 10 % step; alias production stays at 14") {
		t.Fatalf("canary output %q, %v", res.Output, err)
	}
}
