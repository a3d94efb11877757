package mlflowfake_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/conveyor-dev/conveyor/internal/mlflowfake"
)

// recordingTB collects what NewTest reports when the test ends.
type recordingTB struct {
	cleanups []func()
	errs     []string
}

func (r *recordingTB) Helper()          {}
func (r *recordingTB) Cleanup(f func()) { r.cleanups = append(r.cleanups, f) }
func (r *recordingTB) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}
func (r *recordingTB) end() {
	for i := len(r.cleanups) - 1; i >= 0; i-- {
		r.cleanups[i]()
	}
}

var jsonHdr = http.Header{"Content-Type": {"application/json"}}

// A request in the form MLflow's own client sends passes the contract; each
// departure is named, and NewTest fails the test that sent it.
func TestNewTestFailsOnContractViolation(t *testing.T) {
	rt := &recordingTB{}
	f := mlflowfake.NewTest(rt)
	f.AddVersion("m", "1", "", nil)
	f.SetAlias("m", "prod", "1")
	u := f.URL()
	// The forms MLflow's client sends: no violation.
	do(t, "GET", u+mlflowfake.PathModelVersion+"?name=m&version=1", "", nil)
	do(t, "POST", u+mlflowfake.PathAlias, `{"name":"m","alias":"prod","version":"1"}`, jsonHdr)
	do(t, "DELETE", u+mlflowfake.PathAlias, `{"name":"m","alias":"prod"}`, jsonHdr)
	do(t, "GET", u+mlflowfake.PathRun+"?run_id=run-m-1", "", nil)
	if v := f.ContractViolations(); len(v) != 0 {
		t.Fatalf("violations for well-formed requests: %q", v)
	}
	for _, tc := range []struct{ method, url, body, want string }{
		{"DELETE", u + mlflowfake.PathAlias + "?name=m&alias=prod", "", `required field "name" (deleteRegisteredModelAlias) is missing from the JSON body`},
		{"DELETE", u + mlflowfake.PathAlias + "?name=m&alias=prod", "", "parameters in the query string"},
		{"GET", u + mlflowfake.PathModelVersion, `{"name":"m","version":"1"}`, "a GET carries a body"},
		{"GET", u + mlflowfake.PathModelVersion + "?name=m", "", `required field "version"`},
		{"PATCH", u + mlflowfake.PathAlias, `{}`, "MLflow describes no PATCH for this path (described: DELETE, GET, POST)"},
		{"POST", u + mlflowfake.PathAlias, `{"name":"m","alias":"prod","version":""}`, `required field "version"`},
	} {
		f.TakeContractViolations()
		req, _ := http.NewRequest(tc.method, tc.url, strings.NewReader(tc.body))
		req.Header.Set("Content-Type", "application/json")
		if resp, err := http.DefaultClient.Do(req); err != nil {
			t.Fatal(err)
		} else {
			resp.Body.Close()
		}
		v := f.ContractViolations()
		if !strings.Contains(strings.Join(v, "\n"), tc.want) {
			t.Errorf("%s %s %s: violations %q, want one saying %q", tc.method, tc.url, tc.body, v, tc.want)
		}
	}
	rt.end()
	if len(rt.errs) == 0 || !strings.Contains(rt.errs[0], "MLflow's protos") {
		t.Fatalf("NewTest reported %q, want the violation with the contract's source", rt.errs)
	}
}

// Every endpoint the emulator answers is one the contract describes, so the
// contract cannot fall behind what Conveyor's client calls.
func TestEveryServedEndpointIsDescribed(t *testing.T) {
	rt := &recordingTB{}
	f := mlflowfake.NewTest(rt)
	f.AddVersion("m", "1", "", nil)
	id := f.LinkLoggedModel("m", "1", map[string]float64{"auc": 0.9})
	f.SetSignature("m", "1", mlflowfake.Signature{Inputs: `[{"type": "double", "name": "x", "required": true}]`})
	f.AddVersion("main.ml.m", "1", "", nil)
	u := f.URL()
	for _, tc := range []struct{ method, url, body string }{
		{"GET", u + mlflowfake.PathModelVersion + "?name=m&version=1", ""},
		{"GET", u + mlflowfake.PathDownloadURI + "?name=m&version=1", ""},
		{"GET", u + mlflowfake.PathLoggedModel + id, ""},
		{"GET", u + mlflowfake.PathRun + "?run_id=run-m-1", ""},
		{"POST", u + mlflowfake.PathAlias, `{"name":"m","alias":"a","version":"1"}`},
		{"GET", u + mlflowfake.PathAlias + "?name=m&alias=a", ""},
		{"DELETE", u + mlflowfake.PathAlias, `{"name":"m","alias":"a"}`},
		{"GET", u + mlflowfake.PathUCModelVersion + "?name=main.ml.m&version=1", ""},
		{"POST", u + mlflowfake.PathUCAlias, `{"name":"main.ml.m","alias":"a","version":"1"}`},
		{"GET", u + mlflowfake.PathUCAlias + "?name=main.ml.m&alias=a", ""},
		{"DELETE", u + mlflowfake.PathUCAlias, `{"name":"main.ml.m","alias":"a"}`},
	} {
		if status, doc := do(t, tc.method, tc.url, tc.body, jsonHdr); status != 200 {
			t.Errorf("%s %s: %d %v", tc.method, tc.url, status, doc)
		}
	}
	resp, err := http.Get(u + mlflowfake.PathArtifacts + "0/models/" + id + "/artifacts/MLmodel")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("MLmodel download: %d", resp.StatusCode)
	}
	rt.end()
	if len(rt.errs) != 0 {
		t.Fatalf("contract violations: %q", rt.errs)
	}
}
