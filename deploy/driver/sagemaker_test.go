package driver

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"

	"github.com/conveyor-dev/conveyor/internal/mlflow"
	"github.com/conveyor-dev/conveyor/internal/sagemakerfake"
	"github.com/conveyor-dev/conveyor/internal/serverconfig"
)

// GetModelVersion gives the fake registry artifact locations, which the
// sagemaker driver reads.
func (r *fakeRegistry) GetModelVersion(ctx context.Context, name, version string) (*mlflow.ModelVersion, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.versions[version] {
		return nil, errors.New("RESOURCE_DOES_NOT_EXIST: version " + version)
	}
	return &mlflow.ModelVersion{Name: name, Version: version, Status: mlflow.StatusReady, Source: "s3://models/" + name + "/" + version + "/model.tar.gz"}, nil
}

const (
	smAccessKey = "AKIAFAKEFAKEFAKE0001"
	smSecretKey = "fake-secret-key-for-the-emulator"
	smEndpoint  = "fraud-model-production"
)

var smEnv = map[string]string{"AWS_KEY_ID": smAccessKey, "AWS_SECRET": smSecretKey}

// sagemakerWorld is an emulated SageMaker whose endpoint serves model
// version 13, and a driver pointed at it.
func sagemakerWorld(t *testing.T, timeout time.Duration) (contractWorld, *sagemakerfake.Server) {
	t.Helper()
	sm := sagemakerfake.New(smAccessKey, smSecretKey)
	t.Cleanup(sm.Close)
	seedEndpoint(t, sm)
	cfg := serverconfig.Driver{
		Type: "sagemaker", Registry: "main", Endpoint: "{artifact}-{environment}", Image: "123.dkr.ecr.us-east-1.amazonaws.com/serve:1",
		RoleARN: "arn:aws:iam::123456789012:role/sm", Region: sagemakerfake.Region, EndpointURL: sm.URL(),
		AccessKeyEnv: "AWS_KEY_ID", SecretKeyEnv: "AWS_SECRET",
	}
	cfg.Timeout.Duration = timeout
	cfg.PollInterval.Duration = 5 * time.Millisecond
	reg := newFakeRegistry("12", "13", "14")
	d, err := New("sagemaker", cfg, Deps{
		Env:    func(k string) string { return smEnv[k] },
		MLflow: func(string) (ModelRegistry, error) { return reg, nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	return contractWorld{
		driver: d,
		target: modelTarget(),
		setMode: func(m string) {
			switch m {
			case "fail":
				sm.FailNextUpdate("The primary container for production variant v14 did not pass the ping health check.")
			case "hang":
				sm.StickUpdating(true)
			}
		},
		serving: func() string { v, _ := servingVariant(sm); return v },
		observed: func() observation {
			v, partial := servingVariant(sm)
			return observation{Env: "production", Subject: v, Partial: partial}
		},
	}, sm
}

// servingVariant is the version with the most traffic on the endpoint,
// and whether another variant shares it.
func servingVariant(sm *sagemakerfake.Server) (string, bool) {
	ep, ok := sm.Endpoint(smEndpoint)
	if !ok {
		return "", false
	}
	best, bestW := "", -1.0
	for name, w := range ep.Weights {
		if w > bestW {
			best, bestW = name, w
		}
	}
	return strings.TrimPrefix(best, "v"), len(ep.Weights) > 1
}

// seedEndpoint creates, through the SDK, the endpoint as a team had it
// before Conveyor: config fraud-v13-manual serving v13.
func seedEndpoint(t *testing.T, sm *sagemakerfake.Server) {
	t.Helper()
	c := sagemaker.New(sagemaker.Options{
		Region: sagemakerfake.Region, BaseEndpoint: aws.String(sm.URL()),
		Credentials: credentials.NewStaticCredentialsProvider(smAccessKey, smSecretKey, ""),
	})
	ctx := context.Background()
	if _, err := c.CreateModel(ctx, &sagemaker.CreateModelInput{ModelName: aws.String("fraud-model-v13"), ExecutionRoleArn: aws.String("arn:aws:iam::123456789012:role/sm"),
		PrimaryContainer: &smtypes.ContainerDefinition{Image: aws.String("serve:1"), ModelDataUrl: aws.String("s3://models/fraud-detector/13/model.tar.gz")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateEndpointConfig(ctx, &sagemaker.CreateEndpointConfigInput{EndpointConfigName: aws.String("fraud-v13-manual"), ProductionVariants: []smtypes.ProductionVariant{{
		VariantName: aws.String("v13"), ModelName: aws.String("fraud-model-v13"), InstanceType: "ml.m5.large", InitialInstanceCount: aws.Int32(1), InitialVariantWeight: aws.Float32(1),
	}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateEndpoint(ctx, &sagemaker.CreateEndpointInput{EndpointName: aws.String(smEndpoint), EndpointConfigName: aws.String("fraud-v13-manual")}); err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		out, err := c.DescribeEndpoint(ctx, &sagemaker.DescribeEndpointInput{EndpointName: aws.String(smEndpoint)})
		if err != nil {
			t.Fatal(err)
		}
		if out.EndpointStatus == smtypes.EndpointStatusInService {
			return
		}
		if i > 10 {
			t.Fatalf("seeded endpoint is %s", out.EndpointStatus)
		}
	}
}

var sagemakerHarness = contractHarness{
	name:     "sagemaker",
	failText: "did not pass the ping health check",
	setup: func(t *testing.T, timeout time.Duration) contractWorld {
		w, _ := sagemakerWorld(t, timeout)
		return w
	},
}

// Beyond the endpoint contract: the first partial step moves the endpoint
// to a two-variant config, later ones only shift weights, 100 % moves it
// to a config of the candidate alone, and a rollback after 100 % restores
// the very config a person had set up.
func TestSageMakerStepsUseOneCanaryConfigThenWeights(t *testing.T) {
	w, sm := sagemakerWorld(t, time.Minute)
	ctx := context.Background()
	tg := w.target
	for _, pct := range []int{10, 50} {
		tg.Percent = pct
		if _, err := w.driver.Deploy(ctx, tg, nil); err != nil {
			t.Fatalf("Deploy at %d %%: %v", pct, err)
		}
		if ep, _ := sm.Endpoint(smEndpoint); ep.Status != "InService" {
			t.Errorf("at %d %%: endpoint %+v", pct, ep)
		}
	}
	ops := strings.Join(sm.Ops(), " ")
	if strings.Count(ops, "UpdateEndpoint ") != 1 || strings.Count(ops, "UpdateEndpointWeightsAndCapacities") != 1 {
		t.Errorf("operations %s", ops)
	}
	tg.Percent = 100
	if _, err := w.driver.Deploy(ctx, tg, nil); err != nil {
		t.Fatalf("Deploy at 100 %%: %v", err)
	}
	if ep, _ := sm.Endpoint(smEndpoint); ep.Config != "fraud-model-production-v14-d9" {
		t.Errorf("at 100 %%: endpoint %+v; want config fraud-model-production-v14-d9", ep)
	}
	if _, err := w.driver.Rollback(ctx, tg, nil); err != nil {
		t.Fatal(err)
	}
	if ep, _ := sm.Endpoint(smEndpoint); ep.Config != "fraud-v13-manual" {
		t.Errorf("after rollback endpoint %+v; want fraud-v13-manual back", ep)
	}
}

func TestSageMakerFirstDeployCreatesTheEndpointAndRollbackDeletesIt(t *testing.T) {
	w, sm := sagemakerWorld(t, time.Minute)
	ctx := context.Background()
	tg := w.target
	tg.Artifact, tg.Previous, tg.Percent = "churn", "", 10
	res, err := w.driver.Deploy(ctx, tg, nil)
	if err != nil {
		t.Fatal(err)
	}
	ep, ok := sm.Endpoint("churn-production")
	if !ok || ep.Status != "InService" || len(ep.Weights) != 1 || res.Previous != "" {
		t.Fatalf("endpoint %+v (exists %v), result %+v", ep, ok, res)
	}
	if _, err := w.driver.Rollback(ctx, tg, nil); err != nil {
		t.Fatal(err)
	}
	if _, ok := sm.Endpoint("churn-production"); ok {
		t.Error("rollback of the deployment that created the endpoint left it")
	}
}

func TestSageMakerSurvivesThrottling(t *testing.T) {
	w, sm := sagemakerWorld(t, time.Minute)
	sm.Fail(sagemakerfake.Fault{Op: "UpdateEndpoint", Type: sagemakerfake.Throttle.Type, Message: sagemakerfake.Throttle.Message, Status: sagemakerfake.Throttle.Status}, 1)
	if _, err := w.driver.Deploy(context.Background(), w.target, nil); err != nil {
		t.Fatalf("one throttled call failed the deploy: %v", err)
	}
	var throttled int
	for _, c := range sm.Calls() {
		if c.Error == "ThrottlingException" {
			throttled++
		}
	}
	if throttled != 1 {
		t.Errorf("%d throttled calls, want the SDK to have retried one", throttled)
	}
}

func TestSageMakerEmulatorChecksTheSignature(t *testing.T) {
	sm := sagemakerfake.New(smAccessKey, smSecretKey)
	defer sm.Close()
	for _, tc := range []struct {
		name   string
		client *sagemaker.Client
		want   string
	}{
		{"wrong secret", sagemaker.New(sagemaker.Options{Region: sagemakerfake.Region, BaseEndpoint: aws.String(sm.URL()),
			Credentials: credentials.NewStaticCredentialsProvider(smAccessKey, "not-the-secret", "")}), "InvalidSignatureException"},
		{"wrong key id", sagemaker.New(sagemaker.Options{Region: sagemakerfake.Region, BaseEndpoint: aws.String(sm.URL()),
			Credentials: credentials.NewStaticCredentialsProvider("AKIAOTHER", smSecretKey, "")}), "UnrecognizedClientException"},
		{"wrong region", sagemaker.New(sagemaker.Options{Region: "eu-west-1", BaseEndpoint: aws.String(sm.URL()),
			Credentials: credentials.NewStaticCredentialsProvider(smAccessKey, smSecretKey, "")}), "Credential should be scoped"},
		{"no endpoint", sagemaker.New(sagemaker.Options{Region: sagemakerfake.Region, BaseEndpoint: aws.String(sm.URL()),
			Credentials: credentials.NewStaticCredentialsProvider(smAccessKey, smSecretKey, "")}), `ValidationException: Could not find endpoint "arn:aws:sagemaker:us-east-1:123456789012:endpoint/nope"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.client.DescribeEndpoint(context.Background(), &sagemaker.DescribeEndpointInput{EndpointName: aws.String("nope")})
			if err == nil || !strings.Contains(apiErr(err).Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
	// An unsigned request is refused before anything else.
	resp, err := http.Post(sm.URL(), "application/x-amz-json-1.1", strings.NewReader(`{"EndpointName":"x"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || resp.Header.Get("X-Amzn-ErrorType") != "MissingAuthenticationTokenException" {
		t.Errorf("unsigned request: %d %s", resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"))
	}
}

func TestSageMakerStuckUpdateStopsAtTheTimeout(t *testing.T) {
	w, sm := sagemakerWorld(t, time.Second)
	sm.StickUpdating(true)
	_, err := w.driver.Deploy(context.Background(), w.target, nil)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "still Updating") {
		t.Fatalf("err = %v", err)
	}
}

func TestSageMakerRules(t *testing.T) {
	_, err := serverconfig.Parse([]byte(`
registries: {main: {type: mlflow, url: "http://mlflow"}}
drivers:
  sm: {type: sagemaker, registry: nope, access_key_env: X, endpoint_url: "::"}
`), Rules)
	for _, want := range []string{"drivers.sm.endpoint: missing", "drivers.sm.image: missing", "drivers.sm.role_arn: missing", "drivers.sm.region: missing",
		"name both access_key_env and secret_key_env", `drivers.sm.endpoint_url: "::" is not a URL`, `drivers.sm.registry: "nope" is not defined`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("problems lack %q: %v", want, err)
		}
	}
}

func TestSageMakerKeysAreSecrets(t *testing.T) {
	got := SecretValues(serverconfig.Driver{Type: "sagemaker", AccessKeyEnv: "AWS_KEY_ID", SecretKeyEnv: "AWS_SECRET"}, func(k string) string { return smEnv[k] })
	if strings.Join(got, ",") != smAccessKey+","+smSecretKey {
		t.Errorf("SecretValues = %q", got)
	}
}
