// Package mlflowfake is an in-process MLflow tracking server for tests and
// the demo. It speaks the MLflow REST endpoints Conveyor uses (model versions,
// aliases, runs, logged models, a version's files through the artifact proxy,
// and Databricks Unity Catalog's registry endpoints) with MLflow's JSON and
// error shapes, so the real client is exercised end to end. Every request it
// routes is checked against MLflow's published protos (contract.go; NewTest
// fails the test that departs from them). It also records calls and injects
// faults. It must not be used in production code paths.
package mlflowfake

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/conveyor-dev/conveyor/internal/fakeapi"
)

// Call is one request the server received.
type Call struct {
	Method string
	Path   string
	Query  url.Values
	Body   string
	Status int
}

// fault makes requests under a path prefix fail with status; fakeapi.Faults counts how many.
type fault struct {
	prefix string
	status int           // 0: answer normally, after delay
	delay  time.Duration // waited before answering
}

// Server is a running MLflow emulator. All methods are safe for concurrent use.
type Server struct {
	srv *httptest.Server

	token    string
	user     string
	password string
	basic    bool

	mu           sync.Mutex
	models       map[string]*model
	runs         map[string]*run
	metricsOnVer bool
	clock        int64
	denied       map[string]bool // models the caller may not read or change
	logged       map[string]*loggedModel
	artifacts    map[string][]byte // files under the artifact proxy's root, by path

	// calls, faults and latency carry their own locks; mu does not guard them.
	calls      fakeapi.Log[Call]
	faults     fakeapi.Faults[fault]
	latency    fakeapi.Latency
	violations fakeapi.Log[string]
}

// Option configures a Server.
type Option func(*Server)

// WithToken requires "Authorization: Bearer tok" on every request.
func WithToken(tok string) Option {
	return func(s *Server) { s.token = tok }
}

// WithBasicAuth requires HTTP Basic auth with user and pass on every request.
func WithBasicAuth(user, pass string) Option {
	return func(s *Server) { s.user, s.password, s.basic = user, pass, true }
}

// New starts an emulator on a loopback port. Call Close when done.
func New(opts ...Option) *Server {
	s := &Server{
		models: map[string]*model{},
		runs:   map[string]*run{},
		clock:  1_700_000_000_000,
	}
	for _, o := range opts {
		o(s)
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	return s
}

// URL is the server's base URL (no trailing slash), to pass to mlflow.New.
func (s *Server) URL() string { return s.srv.URL }

// Close shuts the server down.
func (s *Server) Close() { s.srv.Close() }

// Calls returns a copy of the request log, oldest first.
func (s *Server) Calls() []Call { return s.calls.Calls() }

// ResetCalls empties the request log.
func (s *Server) ResetCalls() { s.calls.Reset() }

// FailNext makes the next n requests whose path starts with pathPrefix answer
// the HTTP status (for example 503) with an MLflow error document.
func (s *Server) FailNext(pathPrefix string, n, status int) {
	s.faults.Add(fault{prefix: pathPrefix, status: status}, n)
}

// ClearFaults drops every fault and delay still queued by FailNext and SlowNext.
func (s *Server) ClearFaults() { s.faults.Reset() }

// SlowNext delays the answers to the next n requests whose path starts
// with pathPrefix by d (a client that gives up first is logged as 499).
func (s *Server) SlowNext(pathPrefix string, n int, d time.Duration) {
	s.faults.Add(fault{prefix: pathPrefix, delay: d}, n)
}

// SetLatency delays every answer by d (0 turns it off).
func (s *Server) SetLatency(d time.Duration) { s.latency.Set(d) }

// serveHTTP applies latency, auth and faults, routes, and logs the call.
func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	routed := false
	defer func() {
		s.calls.Record(Call{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Body: string(body), Status: rec.status})
		// Requests refused before routing (latency, auth, faults) are not
		// held to the contract: the server never read them.
		if routed {
			s.checkContract(r, body, rec.status)
		}
	}()

	if !s.latency.Wait(r.Context()) {
		rec.status = 499 // client went away, as nginx logs it
		return
	}

	if !s.authorized(r) {
		if s.basic {
			// MLflow's auth app (mlflow/server/auth/__init__.py,
			// make_basic_auth_response) answers in plain text.
			rec.Header().Set("WWW-Authenticate", `Basic realm="mlflow"`)
			writeText(rec, http.StatusUnauthorized, "You are not authenticated. Please see https://www.mlflow.org/docs/latest/auth/index.html#authenticating-to-mlflow on how to authenticate.")
			return
		}
		writeError(rec, http.StatusUnauthorized, "UNAUTHENTICATED", "You are not authenticated. Please provide valid credentials.")
		return
	}
	if f, ok := s.faults.Take(func(f fault) bool { return strings.HasPrefix(r.URL.Path, f.prefix) }); ok {
		if f.delay > 0 {
			t := time.NewTimer(f.delay)
			select {
			case <-r.Context().Done():
				t.Stop()
				rec.status = 499
				return
			case <-t.C:
			}
		}
		if f.status != 0 {
			writeError(rec, f.status, faultCode(f.status), fmt.Sprintf("injected fault: HTTP %d", f.status))
			return
		}
	}
	routed = true
	s.route(rec, r, body)
}

func (s *Server) authorized(r *http.Request) bool {
	switch {
	case s.basic:
		u, p, ok := r.BasicAuth()
		return ok && constEq(u, s.user) && constEq(p, s.password)
	case s.token != "":
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		return ok && constEq(got, s.token)
	}
	return true
}

func constEq(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

func faultCode(status int) string {
	switch {
	case status == http.StatusServiceUnavailable:
		return "TEMPORARILY_UNAVAILABLE"
	case status >= 500:
		return "INTERNAL_ERROR"
	case status == http.StatusNotFound:
		return "RESOURCE_DOES_NOT_EXIST"
	case status == http.StatusTooManyRequests:
		return "REQUEST_LIMIT_EXCEEDED"
	}
	return "BAD_REQUEST"
}

// Deny makes every request about model name answer as MLflow's auth app
// answers a user without permission on it: 403 "Permission denied"
// (mlflow/server/auth/__init__.py, make_forbidden_response).
func (s *Server) Deny(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.denied == nil {
		s.denied = map[string]bool{}
	}
	s.denied[name] = true
}

func (s *Server) isDenied(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return name != "" && s.denied[name]
}

func forbidden(w http.ResponseWriter) { writeText(w, http.StatusForbidden, "Permission denied") }

// methodNotAllowed is Flask's answer for a route registered under other
// methods (MLflow's routes come from service.proto's endpoint methods): a
// 405 HTML page, not an MLflow error document.
func methodNotAllowed(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusMethodNotAllowed)
	_, _ = io.WriteString(w, "<!doctype html>\n<html lang=en>\n<title>405 Method Not Allowed</title>\n<h1>Method Not Allowed</h1>\n<p>The method is not allowed for the requested URL.</p>\n")
}

func writeText(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, msg)
}

// writeError writes MLflow's error document.
func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]string{"error_code": code, "message": msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	_ = json.NewEncoder(&buf).Encode(v)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// statusRecorder remembers the status written, for the call log.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}
