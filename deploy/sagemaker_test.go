package deploy

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/conveyor-dev/conveyor/deploy/driver"
	"github.com/conveyor-dev/conveyor/internal/datadogfake"
	"github.com/conveyor-dev/conveyor/internal/mlflow"
	"github.com/conveyor-dev/conveyor/internal/sagemakerfake"
	"github.com/conveyor-dev/conveyor/internal/serverconfig"
)

// sourceRegistry answers the sagemaker driver's artifact-location lookups.
type sourceRegistry struct{}

func (sourceRegistry) GetModelVersionByAlias(context.Context, string, string) (*mlflow.ModelVersion, error) {
	return nil, nil
}
func (sourceRegistry) SetAlias(context.Context, string, string, string) error {
	return errors.New("not used by the sagemaker driver")
}
func (sourceRegistry) DeleteAlias(context.Context, string, string) error {
	return errors.New("not used by the sagemaker driver")
}
func (sourceRegistry) GetModelVersion(_ context.Context, name, version string) (*mlflow.ModelVersion, error) {
	return &mlflow.ModelVersion{Name: name, Version: version, Status: mlflow.StatusReady, Source: "s3://models/" + name + "/" + version}, nil
}

// TestSageMakerRolloutRollsBackOnADatadogGate: a model goes to an emulated
// SageMaker endpoint through 10 -> 50 -> 100 % while Datadog reports a low
// error ratio; the next version rolls back at 10 % once the ratio is bad,
// and the endpoint serves the first version's config again.
func TestSageMakerRolloutRollsBackOnADatadogGate(t *testing.T) {
	sm := sagemakerfake.New("AKIAFAKE0000000001", "sm-secret")
	defer sm.Close()
	dd := datadogfake.New("dd-api", "dd-app")
	defer dd.Close()
	vars := map[string]string{"AWS_ID": "AKIAFAKE0000000001", "AWS_SECRET": "sm-secret", "DD_API": "dd-api", "DD_APP": "dd-app"}
	deps := driver.Deps{Env: func(k string) string { return vars[k] }, MLflow: func(string) (driver.ModelRegistry, error) { return sourceRegistry{}, nil }}
	cfg := serverconfig.Driver{Type: "sagemaker", Registry: "main", Endpoint: "{artifact}-{environment}", Image: "serve:1", RoleARN: "arn:aws:iam::123456789012:role/sm",
		Region: sagemakerfake.Region, EndpointURL: sm.URL(), AccessKeyEnv: "AWS_ID", SecretKeyEnv: "AWS_SECRET"}
	cfg.PollInterval.Duration = 5 * time.Millisecond
	drv, err := driver.New("sagemaker", cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	threshold := 0.01
	const query = "sum:trace.http.request.errors{service:{artifact},env:{environment}}.as_count() / sum:trace.http.request.hits{service:{artifact},env:{environment}}.as_count()"
	sent := strings.NewReplacer("{artifact}", "fraud", "{environment}", "production").Replace(query)
	gates := driver.NewGates(serverconfig.Health{
		Datadog: &serverconfig.DatadogSource{URL: dd.URL(), APIKeyEnv: "DD_API", AppKeyEnv: "DD_APP"},
		Metrics: []serverconfig.MetricGate{{Name: "error ratio", Datadog: query, Compare: "<", Threshold: &threshold}},
	}, deps)
	e := newEnv(t, withHealth(gates), func(e *env) {
		e.opts.Drivers = func(string) (driver.Driver, error) { return drv, nil }
	})
	modelOnly := func(r Request) Request {
		r.Artifacts = r.Artifacts[1:] // fraud
		r.Artifacts[0].Driver = "sagemaker"
		return r
	}

	dd.Set(sent, 0.001, 0.002)
	first := e.startOK(modelOnly(request(e.openPR("feature"), "production", 10, 50, 100)))
	first = e.wait(first.ID, StateSucceeded, StateRolledBack, StateFailed)
	if first.State != StateSucceeded {
		t.Fatalf("the healthy rollout ended %s: %s", first.State, first.Error)
	}
	ep, _ := sm.Endpoint("fraud-production")
	served := ep.Config
	if len(ep.Weights) != 1 || ep.Weights["v"+first.Artifacts[0].Serving] == 0 {
		t.Fatalf("after the first rollout the endpoint is %+v; want %s alone", ep, first.Artifacts[0].Serving)
	}

	dd.Set(sent, 0.002, 0.034)
	second := e.startOK(modelOnly(request(e.openPR("fix"), "production", 10, 50, 100)))
	second = e.wait(second.ID, StateRolledBack)
	for _, want := range []string{"fraud: health gate failed at 10%", `metric gate "error ratio" (datadog)`, sent, "= 0.034, want < 0.01"} {
		if !strings.Contains(second.Error, want) {
			t.Errorf("error lacks %q:\n%s", want, second.Error)
		}
	}
	if ep, _ := sm.Endpoint("fraud-production"); ep.Config != served || len(ep.Weights) != 1 {
		t.Errorf("after the rollback the endpoint is %+v; want config %s back", ep, served)
	}
	var shifts int
	for _, op := range sm.Ops() {
		if op == "UpdateEndpointWeightsAndCapacities" {
			shifts++
		}
	}
	if shifts != 0 {
		t.Errorf("the rollout shifted traffic past the failed 10 %% gate (%d weight updates)", shifts)
	}
	e.commentOf(second, "= 0.034, want < 0.01")
}
