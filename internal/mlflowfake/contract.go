package mlflowfake

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"

	"github.com/conveyor-dev/conveyor/internal/fakeapi"
)

// The contract is MLflow's own service description, its protos, cut down to
// the endpoints Conveyor calls: method, path and required request fields.
// Regenerate it from a checkout of mlflow/mlflow at the pinned commits (the
// machines that run the tests never reach GitHub):
//
//go:generate go run ./gencontract -protos ${MLFLOW_PROTOS} -pin "mlflow/mlflow at service.proto@0026b08dc1b9, model_registry.proto@05e6cc9b8487, mlflow_artifacts.proto@033a191493f2, databricks_uc_registry_service.proto@02b44f5b1c83, databricks_uc_registry_messages.proto@001cc178a144" -out testdata/mlflow-contract.json

//go:embed testdata/mlflow-contract.json
var contractJSON []byte

type contractOp struct {
	rpc, method, path string
	segs              []string
	required          []string
}

var (
	contractOnce sync.Once
	contractOps  []contractOp
	contractSrc  string
	contractErr  error
)

func loadContract() ([]contractOp, error) {
	contractOnce.Do(func() {
		var raw struct {
			Source     string `json:"source"`
			Operations []struct {
				RPC      string   `json:"rpc"`
				Method   string   `json:"method"`
				Path     string   `json:"path"`
				Required []string `json:"required"`
			} `json:"operations"`
		}
		if contractErr = json.Unmarshal(contractJSON, &raw); contractErr != nil {
			return
		}
		contractSrc = raw.Source
		for _, o := range raw.Operations {
			contractOps = append(contractOps, contractOp{rpc: o.RPC, method: o.Method, path: o.Path,
				segs: strings.Split(strings.Trim(o.Path, "/"), "/"), required: o.Required})
		}
	})
	return contractOps, contractErr
}

// ContractSource names the published description (files and commits) the
// emulator holds requests to.
func ContractSource() string {
	if _, err := loadContract(); err != nil {
		return "unusable: " + err.Error()
	}
	return contractSrc
}

// matchPath reports whether path fits the template's segments, filling the
// path parameters: {name} takes one segment, {name:path} one or more (Flask's
// path converter).
func matchPath(tmpl, segs []string, vals map[string]string) bool {
	if len(tmpl) == 0 {
		return len(segs) == 0
	}
	if len(segs) == 0 || segs[0] == "" {
		return false
	}
	t := tmpl[0]
	if !strings.HasPrefix(t, "{") {
		return t == segs[0] && matchPath(tmpl[1:], segs[1:], vals)
	}
	name, conv, _ := strings.Cut(strings.Trim(t, "{}"), ":")
	most := 1
	if conv == "path" {
		most = len(segs) - len(tmpl) + 1
	}
	for n := 1; n <= most; n++ {
		if matchPath(tmpl[1:], segs[n:], vals) {
			vals[name] = strings.Join(segs[:n], "/")
			return true
		}
	}
	return false
}

// checkContract records how a request the emulator routed departs from
// MLflow's description: a method the path does not take, a required field
// missing, or parameters in the wrong place. MLflow's server reads a GET's
// parameters from its query string and every other method's from a JSON body
// (mlflow/server/handlers.py, _get_request_message), so a GET must not carry
// them in a body and the others must not carry them in the query.
func (s *Server) checkContract(r *http.Request, body []byte, status int) {
	ops, err := loadContract()
	if err != nil {
		s.violations.Record("mlflowfake: contract unusable: " + err.Error())
		return
	}
	where := r.Method + " " + r.URL.Path
	segs := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	var op *contractOp
	var vals map[string]string
	var methods []string
	for i := range ops {
		v := map[string]string{}
		if !matchPath(ops[i].segs, segs, v) {
			continue
		}
		methods = append(methods, ops[i].method)
		if ops[i].method == r.Method && (op == nil || len(ops[i].segs) > len(op.segs)) {
			op, vals = &ops[i], v
		}
	}
	if op == nil {
		switch {
		case len(methods) > 0:
			sort.Strings(methods)
			s.violations.Record(fmt.Sprintf("%s: MLflow describes no %s for this path (described: %s)", where, r.Method, strings.Join(methods, ", ")))
		case status < 400:
			s.violations.Record(where + ": the emulator served an endpoint the contract does not describe")
		}
		return
	}
	got := map[string]bool{}
	for k, v := range vals {
		got[k] = v != ""
	}
	trimmed := bytes.TrimSpace(body)
	if r.Method == http.MethodGet {
		if len(trimmed) > 0 {
			s.violations.Record(where + ": a GET carries a body; MLflow reads a GET's parameters from its query string")
		}
		for k, v := range r.URL.Query() {
			got[k] = got[k] || (len(v) > 0 && v[0] != "")
		}
	} else {
		if r.URL.RawQuery != "" {
			s.violations.Record(fmt.Sprintf("%s: parameters in the query string (%s); MLflow reads a %s's parameters from its JSON body and ignores the query", where, r.URL.RawQuery, r.Method))
		}
		if len(trimmed) > 0 {
			if mt, _, _ := strings.Cut(r.Header.Get("Content-Type"), ";"); strings.TrimSpace(mt) != "application/json" {
				s.violations.Record(fmt.Sprintf("%s: body sent as %q, not application/json", where, r.Header.Get("Content-Type")))
			}
			var doc map[string]any
			if json.Unmarshal(trimmed, &doc) != nil {
				s.violations.Record(where + ": the body is not a JSON object")
			}
			for k, v := range doc {
				str, isStr := v.(string)
				got[k] = got[k] || (v != nil && (!isStr || str != ""))
			}
		}
	}
	for _, f := range op.required {
		if !got[f] {
			place := "JSON body"
			if r.Method == http.MethodGet {
				place = "query string"
			}
			s.violations.Record(fmt.Sprintf("%s: required field %q (%s) is missing from the %s", where, f, op.rpc, place))
		}
	}
}

// ContractViolations lists every departure from MLflow's description seen so
// far. NewTest fails the test when any is left at its end.
func (s *Server) ContractViolations() []string { return s.violations.Calls() }

// TakeContractViolations returns the violations recorded so far and forgets
// them: for a test that sends a wrong request on purpose.
func (s *Server) TakeContractViolations() []string { return s.violations.Take() }

// TB is the part of testing.TB that NewTest needs.
type TB = fakeapi.TB

// NewTest starts an emulator for a test: it is closed when the test ends, and
// the test fails if any request the code under test sent departed from
// MLflow's published description (ContractSource).
func NewTest(t TB, opts ...Option) *Server {
	t.Helper()
	s := New(opts...)
	fakeapi.HoldToContract(t, "mlflowfake contract ("+ContractSource()+")", s.Close, s.ContractViolations)
	return s
}
