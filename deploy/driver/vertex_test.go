package driver

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	aiplatform "google.golang.org/api/aiplatform/v1"
	"google.golang.org/api/option"

	"github.com/conveyor-dev/conveyor/internal/serverconfig"
	"github.com/conveyor-dev/conveyor/internal/vertexfake"
)

const vxEndpointName = "projects/acme-ml/locations/us-central1/endpoints/fraud-production"

// serviceAccountKey writes a service account key file whose token_uri is
// the emulator's, so the driver's key-file path runs for real (a JWT
// signed with the key, traded for a token).
func serviceAccountKey(t *testing.T, tokenURL string) string {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(k)
	key, _ := json.Marshal(map[string]string{
		"type": "service_account", "project_id": "acme-ml", "private_key_id": "k1",
		"private_key":  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email": "conveyor@acme-ml.iam.gserviceaccount.com", "client_id": "1", "token_uri": tokenURL,
	})
	path := filepath.Join(t.TempDir(), "key.json")
	if err := os.WriteFile(path, key, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// vertexWorld is an emulated Vertex AI endpoint serving fraud v13, and a
// driver pointed at it.
func vertexWorld(t *testing.T, timeout time.Duration) (contractWorld, *vertexfake.Server) {
	t.Helper()
	vx := vertexfake.New("ya29.test-token")
	t.Cleanup(vx.Close)
	vx.AddEndpoint(vxEndpointName)
	cfg := serverconfig.Driver{Type: "vertex", Registry: "main", Project: "acme-ml", Region: "us-central1", Endpoint: "fraud-{environment}",
		Image: "us-docker.pkg.dev/vertex-ai/prediction/sklearn-cpu.1-3:latest", EndpointURL: vx.URL(), CredentialsFile: serviceAccountKey(t, vx.TokenURL())}
	cfg.Timeout.Duration = timeout
	cfg.PollInterval.Duration = 5 * time.Millisecond
	reg := newFakeRegistry("12", "13", "14")
	d, err := New("vertex", cfg, Deps{MLflow: func(string) (ModelRegistry, error) { return reg, nil }})
	if err != nil {
		t.Fatal(err)
	}
	// What served before Conveyor: v13 deployed by the same driver.
	seed := modelTarget()
	seed.Spec, seed.Previous, seed.Percent, seed.DeploymentID = EncodeSpec(&ModelRef{Name: "fraud-detector", Version: "13"}), "", 100, 1
	if _, err := d.Deploy(context.Background(), seed, nil); err != nil {
		t.Fatalf("seed v13: %v", err)
	}
	serving := func() (string, bool) {
		best, bestW, n := "", -1, 0
		for name, w := range vx.Traffic(vxEndpointName) {
			n++
			if w > bestW {
				best, bestW = name, w
			}
		}
		return strings.TrimPrefix(best, "fraud-model-v"), n > 1
	}
	return contractWorld{
		driver: d,
		target: modelTarget(),
		setMode: func(m string) {
			switch m {
			case "fail":
				vx.FailNextOperation("Model server never became ready: container exited with code 1.")
			case "hang":
				vx.StickOperations(true)
			}
		},
		serving: func() string { v, _ := serving(); return v },
		observed: func() observation {
			v, partial := serving()
			return observation{Env: "production", Subject: v, Partial: partial}
		},
	}, vx
}

var vertexHarness = contractHarness{
	name:     "vertex",
	failText: "container exited with code 1",
	setup: func(t *testing.T, timeout time.Duration) contractWorld {
		w, _ := vertexWorld(t, timeout)
		return w
	},
}

func TestVertexThrottledCallFailsWithGooglesMessage(t *testing.T) {
	w, vx := vertexWorld(t, time.Minute)
	vx.Throttle(1)
	_, err := w.driver.Deploy(context.Background(), w.target, nil)
	var de *Error
	if !errors.As(err, &de) || !strings.Contains(err.Error(), "429 RESOURCE_EXHAUSTED") || !strings.Contains(err.Error(), "Quota exceeded") {
		t.Fatalf("err = %v", err)
	}
	if got := vx.Traffic(vxEndpointName); got["fraud-model-v13"] != 100 {
		t.Errorf("a refused deploy changed the split: %v", got)
	}
}

// The emulator refuses what Vertex AI refuses: no token, a split naming a
// model the endpoint does not have or not summing to 100, a member the
// request message does not have, a missing endpoint. Requests go through
// the same discovery client the driver uses, or raw where the client
// cannot send the mistake.
func TestVertexEmulatorIsStrict(t *testing.T) {
	_, vx := vertexWorld(t, time.Minute)
	ctx := context.Background()
	svc := func(hc *http.Client) *aiplatform.Service {
		s, err := aiplatform.NewService(ctx, option.WithHTTPClient(hc), option.WithEndpoint(vx.URL()+"/"))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	ep := svc(&http.Client{}).Projects.Locations.Endpoints
	if _, err := ep.Get(vxEndpointName).Context(ctx).Do(); err == nil || !strings.Contains(googleErr("get", err).Error(), "401 UNAUTHENTICATED") {
		t.Errorf("no token: %v", err)
	}
	authed := &http.Client{Transport: bearer{token: "ya29.test-token"}}
	ep = svc(authed).Projects.Locations.Endpoints
	patch := func(split map[string]int64) error {
		_, err := ep.Patch(vxEndpointName, &aiplatform.GoogleCloudAiplatformV1Endpoint{TrafficSplit: split}).UpdateMask("trafficSplit").Context(ctx).Do()
		return err
	}
	if err := patch(map[string]int64{"999": 100}); err == nil || !strings.Contains(err.Error(), "is not deployed to endpoint") {
		t.Errorf("unknown deployed model: %v", err)
	}
	got, err := ep.Get(vxEndpointName).Context(ctx).Do()
	if err != nil {
		t.Fatal(err)
	}
	if err := patch(map[string]int64{got.DeployedModels[0].Id: 90}); err == nil || !strings.Contains(err.Error(), "must be 100, got 90") {
		t.Errorf("split of 90: %v", err)
	}
	if _, err := ep.Get("projects/acme-ml/locations/us-central1/endpoints/nope").Context(ctx).Do(); err == nil || !strings.Contains(googleErr("get", err).Error(), "404 NOT_FOUND") {
		t.Errorf("missing endpoint: %v", err)
	}
	if _, err := ep.DeployModel(vxEndpointName, &aiplatform.GoogleCloudAiplatformV1DeployModelRequest{DeployedModel: &aiplatform.GoogleCloudAiplatformV1DeployedModel{
		Model: got.DeployedModels[0].Model, DedicatedResources: &aiplatform.GoogleCloudAiplatformV1DedicatedResources{MinReplicaCount: 1}}}).Context(ctx).Do(); err == nil || !strings.Contains(err.Error(), "machine_spec.machine_type") {
		t.Errorf("dedicated resources without a machine: %v", err)
	}
	for _, tc := range []struct{ path, body, want string }{
		{vxEndpointName + ":deployModel", `{"deployedModel": {"model": "m", "replicas": 2}}`, `Unknown name \"replicas\" at 'deployed_model': Cannot find field.`},
		{vxEndpointName + ":deployModel", `{"deployedModel": {"dedicatedResources": {"machineSpec": {"type": "n1"}}}}`, `at 'deployed_model.dedicated_resources.machine_spec'`},
		{vxEndpointName + ":undeployModel", `{"deployedModelId": "1", "force": true}`, `Unknown name \"force\": Cannot find field.`},
		{"projects/acme-ml/locations/us-central1/models:upload", `{"model": {"displayName": "x", "containerSpec": {"image": "i"}}}`, `at 'model.container_spec'`},
	} {
		resp, err := authed.Post(vx.URL()+"/v1/"+tc.path, "application/json", strings.NewReader(tc.body))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 400 || !strings.Contains(string(b), "INVALID_ARGUMENT") || !strings.Contains(string(b), tc.want) {
			t.Errorf("%s %s: %d %s; want 400 with %s", tc.path, tc.body, resp.StatusCode, b, tc.want)
		}
	}
}

func TestVertexRules(t *testing.T) {
	_, err := serverconfig.Parse([]byte("registries: {main: {type: mlflow, url: \"http://m\"}}\ndrivers:\n  vx: {type: vertex, registry: main}\n"), Rules)
	for _, want := range []string{"drivers.vx.project: missing", "drivers.vx.region: missing", "drivers.vx.endpoint: missing", "drivers.vx.image: missing"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("problems lack %q: %v", want, err)
		}
	}
}

// credentials_file must hold a service account key: a key file of another
// type (an external account's names URLs and programs the driver would
// fetch or run) is refused before any call.
func TestVertexCredentialsFileMustBeAServiceAccountKey(t *testing.T) {
	vx := vertexfake.New("ya29.test-token")
	t.Cleanup(vx.Close)
	key := filepath.Join(t.TempDir(), "key.json")
	if err := os.WriteFile(key, []byte(`{"type": "external_account", "audience": "//iam.googleapis.com/x", "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
		"token_url": "https://sts.googleapis.com/v1/token", "credential_source": {"executable": {"command": "/bin/true"}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := serverconfig.Driver{Type: "vertex", Registry: "main", Project: "acme-ml", Region: "us-central1", Endpoint: "fraud-{environment}",
		Image: "img", EndpointURL: vx.URL(), CredentialsFile: key}
	d, err := New("vertex", cfg, Deps{MLflow: func(string) (ModelRegistry, error) { return newFakeRegistry("14"), nil }})
	if err != nil {
		t.Fatal(err)
	}
	_, err = d.Deploy(context.Background(), modelTarget(), nil)
	if err == nil || !strings.Contains(err.Error(), "credentials_file") || !strings.Contains(err.Error(), "external_account") {
		t.Fatalf("err = %v", err)
	}
	if n := len(vx.Calls()); n != 0 {
		t.Errorf("%d calls reached Vertex with a refused key file", n)
	}
}

// Without credentials_file the driver uses Application Default
// Credentials: here GOOGLE_APPLICATION_CREDENTIALS naming a service
// account key, as on a machine set up with a key instead of a metadata
// server.
func TestVertexApplicationDefaultCredentials(t *testing.T) {
	vx := vertexfake.New("ya29.test-token")
	t.Cleanup(vx.Close)
	vx.AddEndpoint(vxEndpointName)
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", serviceAccountKey(t, vx.TokenURL()))
	cfg := serverconfig.Driver{Type: "vertex", Registry: "main", Project: "acme-ml", Region: "us-central1", Endpoint: "fraud-{environment}",
		Image: "img", EndpointURL: vx.URL()}
	cfg.PollInterval.Duration = 5 * time.Millisecond
	d, err := New("vertex", cfg, Deps{MLflow: func(string) (ModelRegistry, error) { return newFakeRegistry("14"), nil }})
	if err != nil {
		t.Fatal(err)
	}
	tg := modelTarget()
	tg.Previous = ""
	if _, err := d.Deploy(context.Background(), tg, nil); err != nil {
		t.Fatal(err)
	}
	if got := vx.Traffic(vxEndpointName); got["fraud-model-v14"] != 100 {
		t.Errorf("split %v; want v14 deployed with all traffic", got)
	}
}
