package vertexfake

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestTokenEndpointTradesOnlyJWTBearerGrants(t *testing.T) {
	s := New("tok")
	defer s.Close()
	for _, tc := range []struct {
		form url.Values
		want int
	}{
		{url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "assertion": {"a.b.c"}}, 200},
		{url.Values{"grant_type": {"client_credentials"}}, 400},
		{url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "assertion": {"not-a-jwt"}}, 400},
	} {
		resp, err := http.PostForm(s.TokenURL(), tc.form)
		if err != nil {
			t.Fatal(err)
		}
		var body map[string]any
		json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != tc.want || (tc.want == 200 && body["access_token"] != "tok") {
			t.Errorf("%v: %d %v", tc.form, resp.StatusCode, body)
		}
	}
}

func TestOperationsFinishFailOrStick(t *testing.T) {
	s := New("tok")
	defer s.Close()
	s.AddEndpoint("projects/p/locations/l/endpoints/e")
	do := func(method, path, body string) (int, map[string]any) {
		req, _ := http.NewRequest(method, s.URL()+"/v1/"+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer tok")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	upload := `{"model": {"displayName": "m", "artifactUri": "gs://b/m", "containerSpec": {"imageUri": "img"}}}`
	_, op := do("POST", "projects/p/locations/l/models:upload", upload)
	name := op["name"].(string)
	if _, got := do("GET", name, ""); got["done"] != false {
		t.Errorf("done at the first poll: %v", got)
	}
	if _, got := do("GET", name, ""); got["done"] != true || got["response"].(map[string]any)["model"] == nil {
		t.Errorf("second poll: %v", got)
	}
	s.FailNextOperation("boom")
	_, op = do("POST", "projects/p/locations/l/models:upload", upload)
	do("GET", op["name"].(string), "")
	if _, got := do("GET", op["name"].(string), ""); got["error"].(map[string]any)["message"] != "boom" {
		t.Errorf("failed operation: %v", got)
	}
	s.StickOperations(true)
	_, op = do("POST", "projects/p/locations/l/models:upload", upload)
	for range 5 {
		if _, got := do("GET", op["name"].(string), ""); got["done"] != false {
			t.Fatalf("stuck operation finished: %v", got)
		}
	}
	if code, got := do("POST", "projects/p/locations/l/models:upload", `{"model": {"displayName": "m"}, "extra": 1}`); code != 400 || got["error"].(map[string]any)["status"] != "INVALID_ARGUMENT" {
		t.Errorf("unknown field: %d %v", code, got)
	}
}

// Members are checked against the discovery document's messages: every
// member a message has passes (output-only ones included, as Vertex
// ignores them), one it lacks is refused with its proto path.
func TestRequestMembersFollowTheDiscoveryDocument(t *testing.T) {
	for _, tc := range []struct {
		message, body, want string
	}{
		{"DeployModelRequest", `{"deployedModel": {"model": "m", "enableAccessLogging": true, "dedicatedResources": {"minReplicaCount": 1, "spot": false}}, "trafficSplit": {"0": 100}}`, ""},
		{"DeployModelRequest", `{"deployedModel": {"model": "m"}, "traffic": {}}`, `Unknown name "traffic": Cannot find field.`},
		{"DeployModelRequest", `{"deployedModel": {"dedicatedResources": {"machineSpec": {"machineType": "n1", "gpus": 1}}}}`, `Unknown name "gpus" at 'deployed_model.dedicated_resources.machine_spec': Cannot find field.`},
		{"UploadModelRequest", `{"model": {"displayName": "m", "containerSpec": {"imageUri": "i", "healthRoute": "/h"}}, "modelId": "x"}`, ""},
		{"UploadModelRequest", `{"model": {"display_name": "m"}}`, `Unknown name "display_name" at 'model': Cannot find field.`},
		{"Endpoint", `{"trafficSplit": {"1": 100}, "etag": "x"}`, ""},
		{"UndeployModelRequest", `[1]`, "Invalid JSON payload received."},
	} {
		r, _ := http.NewRequest("POST", "/", strings.NewReader(tc.body))
		var v map[string]any
		g := decodeMessage(r, tc.message, &v)
		switch {
		case tc.want == "" && g != nil:
			t.Errorf("%s %s refused: %s", tc.message, tc.body, g.Message)
		case tc.want != "" && (g == nil || g.Status != "INVALID_ARGUMENT" || !strings.Contains(g.Message, tc.want)):
			t.Errorf("%s %s: %+v, want INVALID_ARGUMENT with %q", tc.message, tc.body, g, tc.want)
		}
	}
}
