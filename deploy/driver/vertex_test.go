package driver

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

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

func TestVertexRolloutMovesTheSplitThenUndeploysTheOldModel(t *testing.T) {
	w, vx := vertexWorld(t, time.Minute)
	ctx := context.Background()
	tg := w.target
	for _, pct := range []int{10, 50} {
		tg.Percent = pct
		if _, err := w.driver.Deploy(ctx, tg, nil); err != nil {
			t.Fatalf("Deploy at %d %%: %v", pct, err)
		}
		if got := vx.Traffic(vxEndpointName); got["fraud-model-v13"] != 100-pct || got["fraud-model-v14"] != pct {
			t.Errorf("at %d %%: split %v", pct, got)
		}
	}
	if got := strings.Join(vx.Models(), "; "); !strings.Contains(got, "fraud-model-v14 s3://models/fraud-detector/14/model.tar.gz") {
		t.Errorf("uploaded models: %s", got)
	}
	tg.Percent = 100
	var progress lines
	if _, err := w.driver.Deploy(ctx, tg, progress.log); err != nil {
		t.Fatal(err)
	}
	if got := vx.Traffic(vxEndpointName); len(got) != 1 || got["fraud-model-v14"] != 100 {
		t.Errorf("at 100 %%: %v; want v14 alone", got)
	}
	if !strings.Contains(strings.Join(progress.all(), "\n"), "fraud-model-v13 undeployed") {
		t.Errorf("progress %q", progress.all())
	}
	// Rolled back after 100 %: v13 is deployed again with all traffic.
	if _, err := w.driver.Rollback(ctx, tg, nil); err != nil {
		t.Fatal(err)
	}
	if got := vx.Traffic(vxEndpointName); len(got) != 1 || got["fraud-model-v13"] != 100 {
		t.Errorf("after rollback: %v; want v13 alone", got)
	}
}

func TestVertexRollbackMidRolloutRestoresTheSplit(t *testing.T) {
	w, vx := vertexWorld(t, time.Minute)
	tg := w.target
	tg.Percent = 10
	if _, err := w.driver.Deploy(context.Background(), tg, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := w.driver.Rollback(context.Background(), tg, nil); err != nil {
		t.Fatal(err)
	}
	if got := vx.Traffic(vxEndpointName); len(got) != 1 || got["fraud-model-v13"] != 100 {
		t.Errorf("after rollback: %v", got)
	}
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

func TestVertexEmulatorIsStrict(t *testing.T) {
	_, vx := vertexWorld(t, time.Minute)
	c := &vxClient{base: vx.URL() + "/v1/", hc: &httpClientNoAuth}
	err := c.do(context.Background(), "GET", vxEndpointName, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "401 UNAUTHENTICATED") {
		t.Errorf("no token: %v", err)
	}
	authed := &vxClient{base: vx.URL() + "/v1/", hc: &httpClientToken}
	err = authed.do(context.Background(), "PATCH", vxEndpointName+"?updateMask=trafficSplit", map[string]any{"trafficSplit": map[string]int{"999": 100}}, nil)
	if err == nil || !strings.Contains(err.Error(), "is not deployed to endpoint") {
		t.Errorf("unknown deployed model: %v", err)
	}
	var ep vxEndpoint
	if err := authed.do(context.Background(), "GET", vxEndpointName, nil, &ep); err != nil {
		t.Fatal(err)
	}
	err = authed.do(context.Background(), "PATCH", vxEndpointName+"?updateMask=trafficSplit", map[string]any{"trafficSplit": map[string]int{ep.DeployedModels[0].ID: 90}}, nil)
	if err == nil || !strings.Contains(err.Error(), "must be 100, got 90") {
		t.Errorf("split of 90: %v", err)
	}
	err = authed.do(context.Background(), "GET", "projects/acme-ml/locations/us-central1/endpoints/nope", nil, nil)
	if err == nil || !strings.Contains(err.Error(), "404 NOT_FOUND") {
		t.Errorf("missing endpoint: %v", err)
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

var (
	httpClientNoAuth = http.Client{}
	httpClientToken  = http.Client{Transport: bearer{token: "ya29.test-token"}}
)
