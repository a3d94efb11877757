package mlflowfake_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/conveyor-dev/conveyor/internal/mlflowfake"
)

// Each test here holds the emulator to one rule of MLflow's server
// (mlflow/server/handlers.py, _get_request_message and the per-endpoint
// schemas; mlflow/server/validation.py; mlflow/server/auth): a request in a
// form MLflow refuses is refused the same way.

func strictFake(t *testing.T) *mlflowfake.Server {
	t.Helper()
	f := mlflowfake.New()
	t.Cleanup(f.Close)
	f.AddVersion("m", "1", "", map[string]float64{"auc": 0.9})
	f.SetAlias("m", "prod", "1")
	return f
}

func TestStrictDeleteWithQueryIsMissingName(t *testing.T) {
	f := strictFake(t)
	status, doc := do(t, "DELETE", f.URL()+mlflowfake.PathAlias+"?name=m&alias=prod", "", nil)
	msg, _ := doc["message"].(string)
	if status != 400 || doc["error_code"] != "INVALID_PARAMETER_VALUE" || !strings.HasPrefix(msg, "Missing value for required parameter 'name'.") {
		t.Fatalf("DELETE with a query: %d %v", status, doc)
	}
	if f.Alias("m", "prod") != "1" {
		t.Fatal("a refused DELETE removed the alias")
	}
}

func TestStrictPostReadsBodyNotQuery(t *testing.T) {
	f := strictFake(t)
	f.AddVersion("m", "2", "", nil)
	hdr := http.Header{"Content-Type": {"application/json"}}
	status, doc := do(t, "POST", f.URL()+mlflowfake.PathAlias+"?name=m&alias=prod&version=2", "", hdr)
	if status != 400 || doc["error_code"] != "INVALID_PARAMETER_VALUE" || f.Alias("m", "prod") != "1" {
		t.Fatalf("POST with a query: %d %v, alias %s", status, doc, f.Alias("m", "prod"))
	}
}

func TestStrictPostNeedsJSONContentType(t *testing.T) {
	f := strictFake(t)
	body := `{"name":"m","alias":"prod","version":"1"}`
	status, doc := do(t, "POST", f.URL()+mlflowfake.PathAlias, body, nil)
	if status != 400 || doc["message"] != "Bad Request. Content-Type header is missing." {
		t.Fatalf("no Content-Type: %d %v", status, doc)
	}
	status, doc = do(t, "POST", f.URL()+mlflowfake.PathAlias, body, http.Header{"Content-Type": {"text/plain"}})
	if status != 400 || !strings.Contains(doc["message"].(string), "Content-Type must be one of") {
		t.Fatalf("text/plain: %d %v", status, doc)
	}
	if status, _ := do(t, "POST", f.URL()+mlflowfake.PathAlias, body, http.Header{"Content-Type": {"application/json; charset=utf-8"}}); status != 200 {
		t.Fatalf("application/json with a charset: %d", status)
	}
}

func TestStrictGetWithQueryIgnoresBody(t *testing.T) {
	f := strictFake(t)
	// A GET with a query string is read from the query alone: a name in the
	// body does not fill the missing one.
	status, doc := do(t, "GET", f.URL()+mlflowfake.PathModelVersion+"?version=1", `{"name":"m"}`, nil)
	if status != 400 || !strings.Contains(doc["message"].(string), "'name'") {
		t.Fatalf("GET query + body: %d %v", status, doc)
	}
	// Without a query, MLflow reads the GET's JSON body.
	if status, doc := do(t, "GET", f.URL()+mlflowfake.PathModelVersion, `{"name":"m","version":"1"}`, nil); status != 200 {
		t.Fatalf("GET with only a body: %d %v", status, doc)
	}
}

func TestStrictMissingAliasIsInvalidParameter(t *testing.T) {
	f := strictFake(t)
	status, doc := do(t, "GET", f.URL()+mlflowfake.PathAlias+"?name=m&alias=production", "", nil)
	if status != 400 || doc["error_code"] != "INVALID_PARAMETER_VALUE" || doc["message"] != "Registered model alias production not found." {
		t.Fatalf("missing alias: %d %v", status, doc)
	}
}

func TestStrictWrongMethodIsFlask405(t *testing.T) {
	f := strictFake(t)
	for _, tc := range []struct{ method, path string }{{"PUT", mlflowfake.PathRun}, {"POST", mlflowfake.PathModelVersion}, {"PATCH", mlflowfake.PathAlias}, {"POST", mlflowfake.PathLoggedModel + "m-1"}} {
		req, _ := http.NewRequest(tc.method, f.URL()+tc.path, strings.NewReader(`{}`))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 405 || !strings.Contains(string(raw), "Method Not Allowed") {
			t.Errorf("%s %s: %d %s", tc.method, tc.path, resp.StatusCode, raw)
		}
	}
}

func TestStrictPermissionDenied(t *testing.T) {
	f := strictFake(t)
	f.Deny("m")
	req, _ := http.NewRequest("GET", f.URL()+mlflowfake.PathModelVersion+"?name=m&version=1", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 403 || string(raw) != "Permission denied" {
		t.Fatalf("denied model: %d %s", resp.StatusCode, raw)
	}
}

// Unity Catalog names models catalog.schema.model: its endpoints refuse any
// other name, and the workspace registry's endpoints do not hold its models.
func TestStrictUnityCatalogNames(t *testing.T) {
	f := strictFake(t)
	f.AddVersion("main.ml.fraud", "3", "", nil)
	f.SetAlias("main.ml.fraud", "champion", "3")
	status, doc := do(t, "GET", f.URL()+mlflowfake.PathUCModelVersion+"?name=fraud&version=3", "", nil)
	if status != 400 || doc["error_code"] != "INVALID_PARAMETER_VALUE" || !strings.Contains(doc["message"].(string), "<catalog>.<schema>.<model>") {
		t.Fatalf("two-level name on UC: %d %v", status, doc)
	}
	if status, doc := do(t, "GET", f.URL()+mlflowfake.PathModelVersion+"?name=main.ml.fraud&version=3", "", nil); status != 404 {
		t.Fatalf("UC model through the workspace registry: %d %v", status, doc)
	}
	status, doc = do(t, "GET", f.URL()+mlflowfake.PathUCAlias+"?name=main.ml.fraud&alias=champion", "", nil)
	mv, _ := doc["model_version"].(map[string]any)
	aliases, _ := mv["aliases"].([]any)
	if status != 200 || len(aliases) != 1 || mv["current_stage"] != nil || mv["storage_location"] == nil {
		t.Fatalf("UC alias: %d %v", status, doc)
	}
	if a, _ := aliases[0].(map[string]any); a["alias"] != "champion" || a["version"] != "3" {
		t.Fatalf("UC aliases are {alias, version} objects, got %v", aliases)
	}
	status, doc = do(t, "GET", f.URL()+mlflowfake.PathUCAlias+"?name=main.ml.fraud&alias=production", "", nil)
	if status != 404 || doc["error_code"] != "RESOURCE_DOES_NOT_EXIST" {
		t.Fatalf("unset UC alias: %d %v", status, doc)
	}
}

// Unity Catalog has no stages: its service defines no stage endpoint.
func TestStrictUnityCatalogHasNoStages(t *testing.T) {
	f := strictFake(t)
	f.AddVersion("main.ml.fraud", "3", "", nil)
	hdr := http.Header{"Content-Type": {"application/json"}}
	for _, tc := range []struct{ method, path, body string }{
		{"POST", "/api/2.0/mlflow/unity-catalog/model-versions/transition-stage", `{"name":"main.ml.fraud","version":"3","stage":"Production","archive_existing_versions":false}`},
		{"GET", "/api/2.0/mlflow/unity-catalog/registered-models/get-latest-versions?name=main.ml.fraud", ""},
	} {
		status, doc := do(t, tc.method, f.URL()+tc.path, tc.body, hdr)
		if status != 404 || doc["error_code"] != "ENDPOINT_NOT_FOUND" {
			t.Errorf("%s %s: %d %v", tc.method, tc.path, status, doc)
		}
	}
}
