package ghfake

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/conveyor-dev/conveyor/internal/fakeapi"
)

// The contract is GitHub's own OpenAPI description, cut down to the operations Conveyor
// uses; regenerate it (pinned version, read from the npm tarball) with go generate.
//
//go:generate go run ./gencontract -version 23.0.2 -out testdata/github-contract.json

//go:embed testdata/github-contract.json
var contractJSON []byte

// contract holds the compiled schemas of every described operation.
type contract struct {
	source string
	ops    []*contractOp
}

type contractOp struct {
	method, path string
	segs         []string
	params       map[string]*contractParam // by name, path and query
	body         *jsonschema.Schema
	bodyNeeded   bool
	responses    map[string]*jsonschema.Schema // nil schema: no JSON body described
}

type contractParam struct {
	in       string
	required bool
	types    []string // the schema's JSON types, to read a string as the type it stands for
	schema   *jsonschema.Schema
}

var (
	contractOnce sync.Once
	loaded       *contract
	loadErr      error
)

// loadContract compiles the embedded description once per process.
func loadContract() (*contract, error) {
	contractOnce.Do(func() { loaded, loadErr = compileContract(contractJSON) })
	return loaded, loadErr
}

type rawContract struct {
	Source     string                     `json:"source"`
	Defs       map[string]json.RawMessage `json:"$defs"`
	Operations []struct {
		Method    string                     `json:"method"`
		Path      string                     `json:"path"`
		Params    []rawParam                 `json:"parameters"`
		Body      json.RawMessage            `json:"request_body"`
		Needed    bool                       `json:"request_body_required"`
		Responses map[string]json.RawMessage `json:"responses"`
	} `json:"operations"`
}

type rawParam struct {
	Name     string          `json:"name"`
	In       string          `json:"in"`
	Required bool            `json:"required"`
	Schema   json.RawMessage `json:"schema"`
}

func compileContract(b []byte) (*contract, error) {
	var rc rawContract
	if err := json.Unmarshal(b, &rc); err != nil {
		return nil, fmt.Errorf("ghfake contract: %w", err)
	}
	// One document holds the shared $defs and every operation's schemas, so $refs resolve.
	defs := map[string]json.RawMessage{}
	for k, v := range rc.Defs {
		defs[k] = v
	}
	name := func(i int, kind string) string { return fmt.Sprintf("op%d-%s", i, kind) }
	for i, o := range rc.Operations {
		if len(o.Body) > 0 {
			defs[name(i, "body")] = o.Body
		}
		for code, s := range o.Responses {
			defs[name(i, "resp-"+code)] = s
		}
		for _, p := range o.Params {
			if len(p.Schema) > 0 {
				defs[name(i, p.In+"-"+p.Name)] = p.Schema
			}
		}
	}
	docJSON, err := json.Marshal(map[string]any{"$schema": "https://json-schema.org/draft/2020-12/schema", "$defs": defs})
	if err != nil {
		return nil, err
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(docJSON))
	if err != nil {
		return nil, err
	}
	const loc = "https://ghfake.invalid/github-contract.json"
	c := jsonschema.NewCompiler()
	c.UseRegexpEngine(lenientRegexp)
	if err := c.AddResource(loc, doc); err != nil {
		return nil, err
	}
	compile := func(def string) (*jsonschema.Schema, error) {
		return c.Compile(loc + "#/$defs/" + url.PathEscape(def))
	}
	out := &contract{source: rc.Source}
	for i, o := range rc.Operations {
		op := &contractOp{method: o.Method, path: o.Path, segs: strings.Split(strings.Trim(o.Path, "/"), "/"),
			params: map[string]*contractParam{}, responses: map[string]*jsonschema.Schema{}, bodyNeeded: o.Needed}
		if len(o.Body) > 0 {
			if op.body, err = compile(name(i, "body")); err != nil {
				return nil, fmt.Errorf("%s %s body: %w", o.Method, o.Path, err)
			}
		}
		for code := range o.Responses {
			if op.responses[code], err = compile(name(i, "resp-"+code)); err != nil {
				return nil, fmt.Errorf("%s %s %s: %w", o.Method, o.Path, code, err)
			}
		}
		for _, p := range o.Params {
			cp := &contractParam{in: p.In, required: p.Required}
			if len(p.Schema) > 0 {
				if cp.schema, err = compile(name(i, p.In+"-"+p.Name)); err != nil {
					return nil, fmt.Errorf("%s %s %s: %w", o.Method, o.Path, p.Name, err)
				}
				var t struct {
					Type any `json:"type"`
				}
				_ = json.Unmarshal(p.Schema, &t)
				switch tt := t.Type.(type) {
				case string:
					cp.types = []string{tt}
				case []any:
					for _, e := range tt {
						s, _ := e.(string)
						cp.types = append(cp.types, s)
					}
				}
			}
			op.params[p.Name] = cp
		}
		out.ops = append(out.ops, op)
	}
	return out, nil
}

// lenientRegexp compiles the description's patterns with Go's regexp; an ECMA-only
// pattern Go cannot compile is not checked rather than failing the whole contract.
func lenientRegexp(s string) (jsonschema.Regexp, error) {
	re, err := regexp.Compile(s)
	if err != nil {
		return anyString{}, nil
	}
	return re, nil
}

type anyString struct{}

func (anyString) MatchString(string) bool { return true }
func (anyString) String() string          { return ".*" }

// match finds the operation for a method and an (unescaped) request path and its path
// parameters. Parameters match one segment each; only when no operation matches that
// way may a file path, a ref or a base...head take several (slashes in a path or a
// branch name).
func (c *contract) match(method, path string) (*contractOp, map[string]string) {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	var best *contractOp
	var bestVals map[string]string
	for _, multi := range []bool{false, true} {
		for _, op := range c.ops {
			if op.method != method || (best != nil && len(op.segs) <= len(best.segs)) {
				continue
			}
			// The longest template wins, as GitHub reads commits/a/b/status as the
			// status of ref a/b rather than the commit a/b/status.
			vals := map[string]string{}
			if matchSegs(op.segs, segs, vals, multi) {
				best, bestVals = op, vals
			}
		}
		if best != nil {
			return best, bestVals
		}
	}
	return nil, nil
}

func matchSegs(tmpl, segs []string, vals map[string]string, multi bool) bool {
	if len(tmpl) == 0 {
		return len(segs) == 0
	}
	if len(segs) == 0 {
		return false
	}
	t := tmpl[0]
	if !strings.HasPrefix(t, "{") {
		return t == segs[0] && matchSegs(tmpl[1:], segs[1:], vals, multi)
	}
	most := 1
	if name := strings.Trim(t, "{}"); multi && (name == "path" || name == "ref" || name == "basehead") {
		most = len(segs) - len(tmpl) + 1
	}
	for n := 1; n <= most; n++ {
		if matchSegs(tmpl[1:], segs[n:], vals, multi) {
			vals[strings.Trim(t, "{}")] = strings.Join(segs[:n], "/")
			return true
		}
	}
	return false
}

// checkRequest lists how a request departs from the described operation.
func (op *contractOp) checkRequest(pathVals map[string]string, query url.Values, body []byte) []string {
	var out []string
	for name, v := range pathVals {
		if p := op.params[name]; p != nil {
			if err := p.check(v); err != nil {
				out = append(out, fmt.Sprintf("path parameter %s=%q: %v", name, v, err))
			}
		}
	}
	names := make([]string, 0, len(op.params))
	for n := range op.params {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		p := op.params[name]
		if p.in != "query" {
			continue
		}
		vs, present := query[name]
		if !present {
			if p.required {
				out = append(out, "query parameter "+name+" is required")
			}
			continue
		}
		for _, v := range vs {
			if err := p.check(v); err != nil {
				out = append(out, fmt.Sprintf("query parameter %s=%q: %v", name, v, err))
			}
		}
	}
	for name := range query {
		if _, known := op.params[name]; !known {
			out = append(out, "query parameter "+name+" is not described")
		}
	}
	// ghinstallation asks for a token with the body `null`, which GitHub takes as no body.
	if t := bytes.TrimSpace(body); bytes.Equal(t, []byte("null")) {
		body = nil
	}
	switch {
	case len(bytes.TrimSpace(body)) == 0:
		if op.bodyNeeded {
			out = append(out, "request body is required")
		}
	case op.body == nil:
		out = append(out, "request body sent but none is described")
	default:
		if err := validateJSON(op.body, body); err != nil {
			out = append(out, "request body: "+err.Error())
		}
	}
	return out
}

// check validates a path or query value, read as the type its schema declares.
func (p *contractParam) check(raw string) error {
	if p.schema == nil {
		return nil
	}
	var v any = raw
	for _, t := range p.types {
		switch t {
		case "integer", "number":
			if _, err := strconv.ParseFloat(raw, 64); err == nil {
				v = json.Number(raw)
			}
		case "boolean":
			if b, err := strconv.ParseBool(raw); err == nil {
				v = b
			}
		}
	}
	return flatten(p.schema.Validate(v))
}

// checkResponse lists how a response departs from the described operation. Only
// described statuses are checked; a 2xx the description does not list is a departure.
func (op *contractOp) checkResponse(status int, body []byte) []string {
	code := strconv.Itoa(status)
	sch, described := op.responses[code]
	if !described {
		if status >= 200 && status < 300 {
			codes := make([]string, 0, len(op.responses))
			for c := range op.responses {
				codes = append(codes, c)
			}
			sort.Strings(codes)
			return []string{fmt.Sprintf("status %d is not described (described: %s)", status, strings.Join(codes, ", "))}
		}
		return nil
	}
	if sch == nil || len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	if err := validateJSON(sch, body); err != nil {
		return []string{fmt.Sprintf("response %d: %v", status, err)}
	}
	return nil
}

var printer = message.NewPrinter(language.English)

func validateJSON(sch *jsonschema.Schema, body []byte) error {
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("not JSON: %v", err)
	}
	return flatten(sch.Validate(v))
}

// flatten turns a validation error into one line per failing leaf, so a report names the
// field (e.g. at '/output/summary': maxLength: got 70000, want 65535).
func flatten(err error) error {
	ve, ok := err.(*jsonschema.ValidationError)
	if !ok {
		return err
	}
	var leaves []string
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) == 0 {
			leaves = append(leaves, fmt.Sprintf("at '/%s': %s", strings.Join(e.InstanceLocation, "/"), e.ErrorKind.LocalizedString(printer)))
			return
		}
		for _, c := range e.Causes {
			walk(c)
		}
	}
	walk(ve)
	if len(leaves) > 8 {
		leaves = append(leaves[:8], fmt.Sprintf("(%d more)", len(leaves)-8))
	}
	return fmt.Errorf("%s", strings.Join(leaves, "; "))
}

// checkContract records how a request the emulator served, and its answer, depart from
// GitHub's description. Requests refused before routing (faults, auth) are not checked.
func (s *Server) checkContract(r *http.Request, body []byte, status int, resp []byte) {
	c, err := loadContract()
	if err != nil {
		s.violations.Record("ghfake: contract unusable: " + err.Error())
		return
	}
	where := r.Method + " " + r.URL.Path
	if r.URL.RawQuery != "" {
		where += "?" + r.URL.RawQuery
	}
	op, vals := c.match(r.Method, r.URL.Path)
	if op == nil {
		// Only routes ghfake really serves must be described; a 404 for an unknown
		// path is GitHub's answer too, and the codeload and artifact-storage redirect targets are not the API.
		// The OAuth web flow (/login/oauth/, oauth.go) is on the web host, not in the REST description.
		if status < 400 && !strings.HasPrefix(r.URL.Path, "/_codeload/") && !strings.HasPrefix(r.URL.Path, "/_artifacts/") &&
			!strings.HasPrefix(r.URL.Path, "/login/oauth/") {
			s.violations.Record(where + ": the emulator served an operation the contract does not describe")
		}
		return
	}
	for _, v := range op.checkRequest(vals, r.URL.Query(), body) {
		s.violations.Record(where + ": " + v)
	}
	for _, v := range op.checkResponse(status, resp) {
		s.violations.Record(where + ": ghfake's answer: " + v)
	}
}

// ContractViolations lists every departure from GitHub's published description seen so
// far: requests the real API would refuse or misread, and emulator answers GitHub would
// not give. NewTest fails the test when any is left at its end.
func (s *Server) ContractViolations() []string { return s.violations.Calls() }

// TakeContractViolations returns the violations recorded so far and forgets them: for a
// test that sends a wrong request on purpose and checks the contract saw it.
func (s *Server) TakeContractViolations() []string { return s.violations.Take() }

// ContractSource names the published description (package, version, file) the emulator
// is held to.
func ContractSource() string {
	c, err := loadContract()
	if err != nil {
		return "unusable: " + err.Error()
	}
	return c.source
}

// TB is the part of testing.TB that NewTest needs.
type TB = fakeapi.TB

// NewTest starts an emulator for a test: it is closed when the test ends, and the test
// fails if any request the code under test sent, or any answer the emulator gave,
// departed from GitHub's published description.
func NewTest(t TB, opts ...Option) *Server {
	t.Helper()
	s := New(opts...)
	fakeapi.HoldToContract(t, "ghfake contract ("+ContractSource()+")", s.Close, s.ContractViolations)
	return s
}
