package mlflowfake_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/conveyor-dev/conveyor/internal/mlflowfake"
)

const seedJSON = `{"models":[{"name":"fraud-detector",
  "versions":[{"version":"13","status":"READY","run_id":"r13","metrics":{"auc":0.93}},
              {"version":"14","status":"READY","run_id":"r14","metrics":{"auc":0.95}}],
  "aliases":{"production":"13","staging":"14"}}]}`

// do performs a raw request and decodes the JSON answer.
func do(t *testing.T, method, u, body string, hdr http.Header) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("%s %s: body is not JSON: %s", method, u, raw)
	}
	return resp.StatusCode, doc
}

func TestLoadSeedServesVersionsRunsAndAliases(t *testing.T) {
	f := mlflowfake.New()
	defer f.Close()
	if err := f.LoadSeed(strings.NewReader(seedJSON)); err != nil {
		t.Fatal(err)
	}
	if f.Alias("fraud-detector", "production") != "13" || f.Alias("fraud-detector", "staging") != "14" || f.Alias("fraud-detector", "dev") != "" {
		t.Fatal("aliases not loaded")
	}
	status, doc := do(t, "GET", f.URL()+mlflowfake.PathAlias+"?name=fraud-detector&alias=production", "", nil)
	mv, _ := doc["model_version"].(map[string]any)
	if status != 200 || mv["version"] != "13" || mv["run_id"] != "r13" || mv["status"] != "READY" {
		t.Fatalf("alias lookup: %d %v", status, doc)
	}
	if _, has := mv["metrics"]; has {
		t.Fatal("metrics on the version without MLflow 3 mode")
	}
	status, doc = do(t, "GET", f.URL()+mlflowfake.PathRun+"?run_id=r13", "", nil)
	run, _ := doc["run"].(map[string]any)
	data, _ := run["data"].(map[string]any)
	metrics, _ := data["metrics"].([]any)
	if status != 200 || len(metrics) != 1 {
		t.Fatalf("run: %d %v", status, doc)
	}
	m := metrics[0].(map[string]any)
	if m["key"] != "auc" || m["value"] != 0.93 {
		t.Fatalf("metric = %v", m)
	}

	f.SetMetricsOnVersion(true)
	_, doc = do(t, "GET", f.URL()+mlflowfake.PathModelVersion+"?name=fraud-detector&version=14", "", nil)
	mv, _ = doc["model_version"].(map[string]any)
	if list, _ := mv["metrics"].([]any); len(list) != 1 {
		t.Fatalf("MLflow 3 mode: version metrics = %v", mv["metrics"])
	}
}

func TestLoadSeedRejectsBadInputAndChangesNothing(t *testing.T) {
	cases := map[string]struct{ seed, want string }{
		"not json":        {`{`, "mlflow seed"},
		"unknown key":     {`{"models":[{"name":"m","version":[]}]}`, `unknown field "version"`},
		"no models":       {`{"models":[]}`, `"models" is empty`},
		"no name":         {`{"models":[{"versions":[]}]}`, `models[0]: "name" is empty`},
		"bad status":      {`{"models":[{"name":"m","versions":[{"version":"1","status":"DONE"}]}]}`, `models[0].versions[0]: status "DONE"`},
		"numeric version": {`{"models":[{"name":"m","versions":[{"version":1}]}]}`, "cannot unmarshal number"},
		"dangling alias":  {`{"models":[{"name":"m","versions":[{"version":"1"}],"aliases":{"production":"2"}}]}`, `alias "production" points at version "2"`},
		"reserved alias":  {`{"models":[{"name":"m","versions":[{"version":"1"}],"aliases":{"latest":"1"}}]}`, "reserved"},
		"duplicate":       {`{"models":[{"name":"m","versions":[{"version":"1"},{"version":"1"}]}]}`, "listed twice"},
		"run conflict": {`{"models":[{"name":"m","versions":[{"version":"1","run_id":"r","metrics":{"a":1}},{"version":"2","run_id":"r","metrics":{"a":2}}]}]}`,
			`run_id "r" is used by another version`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			f := mlflowfake.New()
			defer f.Close()
			err := f.LoadSeed(strings.NewReader(tc.seed))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
			if status, _ := do(t, "GET", f.URL()+mlflowfake.PathModelVersion+"?name=m&version=1", "", nil); status != 404 {
				t.Fatalf("a rejected seed left state behind (status %d)", status)
			}
		})
	}
}

func TestErrorShapes(t *testing.T) {
	f := mlflowfake.New()
	defer f.Close()
	f.AddVersion("m", "1", "", nil)
	cases := []struct {
		method, path, body string
		status             int
		code, msg          string
	}{
		{"GET", mlflowfake.PathModelVersion + "?name=m", "", 400, "INVALID_PARAMETER_VALUE", "'version'"},
		{"GET", mlflowfake.PathModelVersion + "?name=m&version=2", "", 404, "RESOURCE_DOES_NOT_EXIST", "Model Version (name=m, version=2) not found"},
		{"GET", mlflowfake.PathAlias + "?name=m&alias=prod", "", 400, "INVALID_PARAMETER_VALUE", "Registered model alias prod not found."},
		{"GET", mlflowfake.PathAlias + "?name=x&alias=prod", "", 400, "INVALID_PARAMETER_VALUE", "Registered model alias prod not found."},
		{"POST", mlflowfake.PathAlias, `{"name":"m","alias":"prod"}`, 400, "INVALID_PARAMETER_VALUE", "'version'"},
		{"POST", mlflowfake.PathAlias, `{"name":"m","alias":"bad alias","version":"1"}`, 400, "INVALID_PARAMETER_VALUE", "Invalid alias name"},
		{"POST", mlflowfake.PathAlias, `not json`, 400, "INVALID_PARAMETER_VALUE", "Missing value for required parameter 'name'"},
		{"DELETE", mlflowfake.PathAlias, `{"name":"x","alias":"prod"}`, 404, "RESOURCE_DOES_NOT_EXIST", "name=x"},
		{"GET", mlflowfake.PathRun, "", 400, "INVALID_PARAMETER_VALUE", "'run_id'"},
		{"GET", "/api/2.0/mlflow/experiments/list", "", 404, "ENDPOINT_NOT_FOUND", "no MLflow endpoint"},
	}
	for _, tc := range cases {
		var hdr http.Header
		if tc.method == "POST" {
			hdr = http.Header{"Content-Type": {"application/json"}}
		}
		status, doc := do(t, tc.method, f.URL()+tc.path, tc.body, hdr)
		msg, _ := doc["message"].(string)
		if status != tc.status || doc["error_code"] != tc.code || !strings.Contains(msg, tc.msg) {
			t.Errorf("%s %s: got %d %v, want %d %s containing %q", tc.method, tc.path, status, doc, tc.status, tc.code, tc.msg)
		}
	}
}

func TestDeleteAliasFromJSONBodyAndIdempotent(t *testing.T) {
	f := mlflowfake.New()
	defer f.Close()
	f.AddVersion("m", "1", "", nil)
	f.SetAlias("m", "prod", "1")
	status, _ := do(t, "DELETE", f.URL()+mlflowfake.PathAlias, `{"name":"m","alias":"prod"}`, nil)
	if status != 200 || f.Alias("m", "prod") != "" {
		t.Fatalf("delete via body: %d, alias %q", status, f.Alias("m", "prod"))
	}
	if status, _ := do(t, "DELETE", f.URL()+mlflowfake.PathAlias, `{"name":"m","alias":"prod"}`, nil); status != 200 {
		t.Fatalf("deleting an unset alias: %d", status)
	}
}

func TestAuthCallsAndFaults(t *testing.T) {
	f := mlflowfake.New(mlflowfake.WithToken("tok"))
	defer f.Close()
	f.AddVersion("m", "1", "", nil)
	u := f.URL() + mlflowfake.PathModelVersion + "?name=m&version=1"
	if status, doc := do(t, "GET", u, "", nil); status != 401 || doc["error_code"] != "UNAUTHENTICATED" {
		t.Fatalf("no token: %d %v", status, doc)
	}
	auth := http.Header{"Authorization": {"Bearer tok"}}
	f.FailNext("/api/2.0/mlflow/model-versions", 2, 500)
	for i := 0; i < 2; i++ {
		if status, doc := do(t, "GET", u, "", auth); status != 500 || doc["error_code"] != "INTERNAL_ERROR" {
			t.Fatalf("fault %d: %d %v", i, status, doc)
		}
	}
	if status, _ := do(t, "GET", f.URL()+mlflowfake.PathRun+"?run_id=run-m-1", "", auth); status != 200 {
		t.Fatalf("a fault on another prefix leaked: %d", status)
	}
	if status, _ := do(t, "GET", u, "", auth); status != 200 {
		t.Fatalf("after the faults: %d", status)
	}
	calls := f.Calls()
	wantStatus := []int{401, 500, 500, 200, 200}
	if len(calls) != len(wantStatus) {
		t.Fatalf("calls = %+v", calls)
	}
	for i, c := range calls {
		if c.Status != wantStatus[i] {
			t.Errorf("call %d status = %d, want %d", i, c.Status, wantStatus[i])
		}
	}
	if calls[0].Method != "GET" || calls[0].Path != mlflowfake.PathModelVersion || calls[0].Query.Get("version") != "1" {
		t.Fatalf("call log entry = %+v", calls[0])
	}
	f.ResetCalls()
	if len(f.Calls()) != 0 {
		t.Fatal("ResetCalls kept entries")
	}
}

func TestBasicAuth(t *testing.T) {
	f := mlflowfake.New(mlflowfake.WithBasicAuth("u", "p"))
	defer f.Close()
	f.AddModel("m")
	req, _ := http.NewRequest("GET", f.URL()+mlflowfake.PathAlias+"?name=m&alias=prod", nil)
	req.SetBasicAuth("u", "p")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 { // authorized; the alias simply is not set
		t.Fatalf("status = %d, want 400", resp.StatusCode)
	}
	req.SetBasicAuth("u", "wrong")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") == "" || !strings.Contains(string(raw), "You are not authenticated") {
		t.Fatalf("wrong password: %d %s", resp.StatusCode, raw)
	}
}

func TestHelpersPanicOnBrokenTests(t *testing.T) {
	f := mlflowfake.New()
	defer f.Close()
	mustPanic := func(name string, fn func()) {
		t.Helper()
		defer func() {
			if recover() == nil {
				t.Errorf("%s did not panic", name)
			}
		}()
		fn()
	}
	mustPanic("bad status", func() { f.AddVersion("m", "1", "DONE", nil) })
	mustPanic("alias to missing version", func() { f.SetAlias("m", "prod", "9") })
	mustPanic("param on missing run", func() { f.SetRunParam("nope", "k", "v") })
}

func TestSeedServesNonFiniteMetricsAsMLflowWritesThem(t *testing.T) {
	f := mlflowfake.New()
	defer f.Close()
	seed := `{"models":[{"name":"m","versions":[{"version":"1","run_id":"r1","metrics":{"a":"NaN","b":"Infinity","c":"-Infinity","d":1}}]}]}`
	if err := f.LoadSeed(strings.NewReader(seed)); err != nil {
		t.Fatal(err)
	}
	status, doc := do(t, "GET", f.URL()+mlflowfake.PathRun+"?run_id=r1", "", nil)
	metrics := doc["run"].(map[string]any)["data"].(map[string]any)["metrics"].([]any)
	got := map[string]any{}
	for _, m := range metrics {
		m := m.(map[string]any)
		got[m["key"].(string)] = m["value"]
	}
	if status != 200 || got["a"] != "NaN" || got["b"] != "Infinity" || got["c"] != "-Infinity" || got["d"] != 1.0 {
		t.Fatalf("run metrics: %d %v", status, got)
	}
	if err := f.LoadSeed(strings.NewReader(`{"models":[{"name":"n","versions":[{"version":"1","metrics":{"a":"nan"}}]}]}`)); err == nil || !strings.Contains(err.Error(), `metric "a"`) {
		t.Fatalf("a seed metric in another spelling: %v", err)
	}
}

func TestSeedSignatureIsServedAsMLmodel(t *testing.T) {
	f := mlflowfake.NewTest(t)
	seed := `{"models":[{"name":"m","versions":[{"version":"1","run_id":"r1",
	  "signature":{"inputs":[{"type":"double","name":"x","required":true}]}}]}]}`
	if err := f.LoadSeed(strings.NewReader(seed)); err != nil {
		t.Fatal(err)
	}
	status, doc := do(t, "GET", f.URL()+mlflowfake.PathDownloadURI+"?name=m&version=1", "", nil)
	if status != 200 || doc["artifact_uri"] != "mlflow-artifacts:/0/r1/artifacts/model" {
		t.Fatalf("download URI: %d %v", status, doc)
	}
	resp, err := http.Get(f.URL() + mlflowfake.PathArtifacts + "0/r1/artifacts/model/MLmodel")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(raw), `inputs: '[{"type":"double","name":"x","required":true}]'`) {
		t.Fatalf("MLmodel: %d\n%s", resp.StatusCode, raw)
	}
	bad := `{"models":[{"name":"m","versions":[{"version":"1","signature":{"inputs":[{"name":"x"}]}}]}]}`
	other := mlflowfake.New()
	defer other.Close()
	if err := other.LoadSeed(strings.NewReader(bad)); err == nil || !strings.Contains(err.Error(), "signature.inputs") {
		t.Fatalf("a spec without a type: %v", err)
	}
}
