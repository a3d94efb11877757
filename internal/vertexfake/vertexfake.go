// Package vertexfake emulates the Vertex AI REST resources Conveyor's
// vertex driver uses (https://cloud.google.com/vertex-ai/docs/reference/rest):
// models.upload, endpoints.get, endpoints.patch (trafficSplit),
// endpoints.deployModel and endpoints.undeployModel, models.get, and operations.get
// for the long-running operations the mutating calls return.
//
// It is strict the way Vertex AI is: a request without a Bearer token is
// refused with 401 UNAUTHENTICATED; a request member the API's discovery
// document does not list for that message (schema.go), a traffic split
// that does not sum to 100 or names a deployed model the endpoint does not
// have, or dedicated resources without a machine are 400
// INVALID_ARGUMENT; an unknown resource is 404 NOT_FOUND; errors carry
// Google's {"error": {"code", "message", "status"}} shape. Operations
// finish after a set number of operations.get calls, so tests wait on the
// driver's polling, not on time. Faults: 429 RESOURCE_EXHAUSTED, an
// operation that never finishes, an operation that finishes with an error.
// It owns no product logic and is for tests and the demo only.
package vertexfake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/conveyor-dev/conveyor/internal/fakeapi"
)

// Call is one request the emulator received.
type Call struct {
	Method, Path string
	Status       int
}

// DeployedModel is a model deployed to an endpoint.
type DeployedModel struct {
	ID          string `json:"id"`
	Model       string `json:"model"`
	DisplayName string `json:"displayName"`
}

type endpoint struct {
	name     string
	deployed []DeployedModel
	traffic  map[string]int
}

type model struct {
	Name        string            `json:"name"`
	DisplayName string            `json:"displayName"`
	ArtifactURI string            `json:"artifactUri"`
	Labels      map[string]string `json:"labels,omitempty"`
}

type operation struct {
	name     string
	polls    int
	stuck    bool
	failWith string
	apply    func() (any, *gerr) // run once when it finishes
	done     bool
	response any
	err      *gerr
}

type gerr struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Status  string `json:"status"`
}

// Server is a running emulator.
type Server struct {
	srv     *httptest.Server
	token   string
	mu      sync.Mutex
	ends    map[string]*endpoint
	models  map[string]*model
	ops     map[string]*operation
	nextID  int
	history map[string][]map[string]int // endpoint -> split by display name, each time it changed
	settle  int
	stuck   bool
	failMsg string
	log     fakeapi.Log[Call]
	faults  fakeapi.Faults[int]
}

// New starts an emulator that accepts the Bearer token token.
func New(token string) *Server {
	s := &Server{token: token, ends: map[string]*endpoint{}, models: map[string]*model{}, ops: map[string]*operation{}, history: map[string][]map[string]int{}, nextID: 1000, settle: 1}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// URL is the API base URL (what https://REGION-aiplatform.googleapis.com is).
func (s *Server) URL() string { return s.srv.URL }

// Close stops the emulator.
func (s *Server) Close() { s.srv.Close() }

// Calls returns the requests received, oldest first.
func (s *Server) Calls() []Call { return s.log.Calls() }

// AddEndpoint creates an endpoint (projects/P/locations/L/endpoints/ID).
func (s *Server) AddEndpoint(name string) {
	s.mu.Lock()
	s.ends[name] = &endpoint{name: name, traffic: map[string]int{}}
	s.mu.Unlock()
}

// AddDeployedModel sets up, as a person would have before Conveyor, a
// model uploaded from artifactURI and deployed to the endpoint (which must
// exist) with all of its traffic.
func (s *Server) AddDeployedModel(endpoint, displayName, artifactURI string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.ends[endpoint]
	if !ok {
		panic("vertexfake.AddDeployedModel: no endpoint " + endpoint)
	}
	parent := endpoint[:strings.Index(endpoint, "/endpoints/")]
	m := &model{Name: fmt.Sprintf("%s/models/%d", parent, s.id()), DisplayName: displayName, ArtifactURI: artifactURI}
	s.models[m.Name] = m
	d := DeployedModel{ID: strconv.Itoa(s.id()), Model: m.Name, DisplayName: displayName}
	e.deployed = append(e.deployed, d)
	e.traffic = map[string]int{d.ID: 100}
	s.record(e)
}

// Throttle makes the next n requests answer 429 RESOURCE_EXHAUSTED.
func (s *Server) Throttle(n int) { s.faults.Add(http.StatusTooManyRequests, n) }

// StickOperations makes later operations never finish.
func (s *Server) StickOperations(on bool) { s.mu.Lock(); s.stuck = on; s.mu.Unlock() }

// FailNextOperation makes the next operation finish with an error.
func (s *Server) FailNextOperation(msg string) { s.mu.Lock(); s.failMsg = msg; s.mu.Unlock() }

// Traffic returns an endpoint's split by deployed model display name.
func (s *Server) Traffic(name string) map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.ends[name]
	if !ok {
		return nil
	}
	out := map[string]int{}
	for _, d := range e.deployed {
		out[d.DisplayName] = e.traffic[d.ID]
	}
	return out
}

// TrafficHistory returns the endpoint's split by deployed model display
// name each time it changed, oldest first: the traffic a rollout went
// through.
func (s *Server) TrafficHistory(name string) []map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]map[string]int(nil), s.history[name]...)
}

// record appends e's current split to its history; s.mu is held.
func (s *Server) record(e *endpoint) {
	split := map[string]int{}
	for _, d := range e.deployed {
		split[d.DisplayName] = e.traffic[d.ID]
	}
	s.history[e.name] = append(s.history[e.name], split)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	status, body := s.handle(r)
	s.log.Record(Call{Method: r.Method, Path: r.URL.Path, Status: status})
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(body)
}

func errBody(code int, status, format string, a ...any) (int, any) {
	return code, map[string]any{"error": gerr{Code: code, Message: fmt.Sprintf(format, a...), Status: status}}
}

// TokenURL is an OAuth 2 token endpoint for a service account key's
// token_uri: it trades a signed JWT assertion (RFC 7523) for the token
// the emulator accepts.
func (s *Server) TokenURL() string { return s.srv.URL + "/token" }

func (s *Server) handle(r *http.Request) (int, any) {
	if r.URL.Path == "/token" {
		r.ParseForm()
		if r.Method != http.MethodPost || r.PostForm.Get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" || strings.Count(r.PostForm.Get("assertion"), ".") != 2 {
			return 400, map[string]string{"error": "invalid_grant", "error_description": "Invalid JWT bearer grant."}
		}
		return 200, map[string]any{"access_token": s.token, "token_type": "Bearer", "expires_in": 3600}
	}
	if r.Header.Get("Authorization") != "Bearer "+s.token || s.token == "" {
		return errBody(401, "UNAUTHENTICATED", "Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential.")
	}
	if _, ok := s.faults.Take(func(int) bool { return true }); ok {
		return errBody(429, "RESOURCE_EXHAUSTED", "Quota exceeded for aiplatform.googleapis.com/online_prediction_requests_per_base_model.")
	}
	path, verb, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/v1/"), ":")
	if !strings.HasPrefix(r.URL.Path, "/v1/projects/") {
		return errBody(404, "NOT_FOUND", "The requested URL %s was not found on this server.", r.URL.Path)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case strings.Contains(path, "/operations/") && r.Method == http.MethodGet && verb == "":
		return s.getOperation(path)
	case strings.HasSuffix(path, "/models") && verb == "upload" && r.Method == http.MethodPost:
		return s.upload(r, strings.TrimSuffix(path, "/models"))
	case strings.Contains(path, "/models/") && r.Method == http.MethodGet && verb == "":
		m, ok := s.models[path]
		if !ok {
			return errBody(404, "NOT_FOUND", "Model `%s` not found.", path)
		}
		return 200, m
	case strings.Contains(path, "/endpoints/"):
		e, ok := s.ends[path]
		if !ok {
			return errBody(404, "NOT_FOUND", "Endpoint `%s` not found.", path)
		}
		switch {
		case r.Method == http.MethodGet && verb == "":
			return 200, s.endpointJSON(e)
		case r.Method == http.MethodPatch && verb == "":
			return s.patch(r, e)
		case r.Method == http.MethodPost && verb == "deployModel":
			return s.deploy(r, e)
		case r.Method == http.MethodPost && verb == "undeployModel":
			return s.undeploy(r, e)
		}
	}
	return errBody(404, "NOT_FOUND", "The requested URL %s was not found on this server.", r.URL.Path)
}

func (s *Server) endpointJSON(e *endpoint) map[string]any {
	traffic := map[string]int{}
	for k, v := range e.traffic {
		traffic[k] = v
	}
	return map[string]any{"name": e.name, "displayName": e.name[strings.LastIndex(e.name, "/")+1:], "deployedModels": append([]DeployedModel{}, e.deployed...), "trafficSplit": traffic}
}

// checkSplit applies Vertex's rule: the split names deployed models only
// (or "0" for the one being deployed) and sums to 100.
func checkSplit(e *endpoint, split map[string]int, allowNew bool) *gerr {
	sum := 0
	for id, pct := range split {
		if pct < 0 {
			return &gerr{400, "Traffic split percentages must not be negative.", "INVALID_ARGUMENT"}
		}
		sum += pct
		if id == "0" && allowNew {
			continue
		}
		if !e.has(id) {
			return &gerr{400, fmt.Sprintf("Deployed model %s in the traffic split is not deployed to endpoint %s.", id, e.name), "INVALID_ARGUMENT"}
		}
	}
	if sum != 100 && len(split) > 0 {
		return &gerr{400, fmt.Sprintf("The sum of traffic split percentages must be 100, got %d.", sum), "INVALID_ARGUMENT"}
	}
	return nil
}

func (e *endpoint) has(id string) bool {
	for _, d := range e.deployed {
		if d.ID == id {
			return true
		}
	}
	return false
}

func (s *Server) patch(r *http.Request, e *endpoint) (int, any) {
	if r.URL.Query().Get("updateMask") != "traffic_split" && r.URL.Query().Get("updateMask") != "trafficSplit" {
		return errBody(400, "INVALID_ARGUMENT", "updateMask must name the fields to update (trafficSplit).")
	}
	var in struct {
		TrafficSplit map[string]int `json:"trafficSplit"`
	}
	if g := decodeMessage(r, "Endpoint", &in); g != nil {
		return g.Code, map[string]any{"error": g}
	}
	if g := checkSplit(e, in.TrafficSplit, false); g != nil {
		return g.Code, map[string]any{"error": g}
	}
	e.traffic = in.TrafficSplit
	s.record(e)
	return 200, s.endpointJSON(e)
}

func (s *Server) upload(r *http.Request, parent string) (int, any) {
	var in struct {
		Model struct {
			DisplayName   string            `json:"displayName"`
			ArtifactURI   string            `json:"artifactUri"`
			Labels        map[string]string `json:"labels"`
			ContainerSpec struct {
				ImageURI string `json:"imageUri"`
			} `json:"containerSpec"`
		} `json:"model"`
	}
	if g := decodeMessage(r, "UploadModelRequest", &in); g != nil {
		return g.Code, map[string]any{"error": g}
	}
	if in.Model.DisplayName == "" || in.Model.ContainerSpec.ImageURI == "" {
		return errBody(400, "INVALID_ARGUMENT", "model.display_name and model.container_spec.image_uri are required.")
	}
	m := &model{Name: fmt.Sprintf("%s/models/%d", parent, s.id()), DisplayName: in.Model.DisplayName, ArtifactURI: in.Model.ArtifactURI, Labels: in.Model.Labels}
	return s.startOp(parent, func() (any, *gerr) {
		s.models[m.Name] = m
		return map[string]any{"@type": "type.googleapis.com/google.cloud.aiplatform.v1.UploadModelResponse", "model": m.Name}, nil
	})
}

func (s *Server) deploy(r *http.Request, e *endpoint) (int, any) {
	var in struct {
		DeployedModel struct {
			Model              string `json:"model"`
			DisplayName        string `json:"displayName"`
			DedicatedResources *struct {
				MachineSpec *struct {
					MachineType string `json:"machineType"`
				} `json:"machineSpec"`
				MinReplicaCount int `json:"minReplicaCount"`
			} `json:"dedicatedResources"`
		} `json:"deployedModel"`
		TrafficSplit map[string]int `json:"trafficSplit"`
	}
	if g := decodeMessage(r, "DeployModelRequest", &in); g != nil {
		return g.Code, map[string]any{"error": g}
	}
	if _, ok := s.models[in.DeployedModel.Model]; !ok {
		return errBody(404, "NOT_FOUND", "Model `%s` not found.", in.DeployedModel.Model)
	}
	if in.DeployedModel.DedicatedResources == nil {
		return errBody(400, "INVALID_ARGUMENT", "Model %s requires dedicated resources (deployed_model.dedicated_resources).", in.DeployedModel.Model)
	}
	// DedicatedResources: machineSpec and minReplicaCount (at least 1) are required.
	if dr := in.DeployedModel.DedicatedResources; dr.MachineSpec == nil || dr.MachineSpec.MachineType == "" || dr.MinReplicaCount < 1 {
		return errBody(400, "INVALID_ARGUMENT", "deployed_model.dedicated_resources needs machine_spec.machine_type and a min_replica_count of at least 1.")
	}
	if g := checkSplit(e, in.TrafficSplit, true); g != nil {
		return g.Code, map[string]any{"error": g}
	}
	d := DeployedModel{ID: strconv.Itoa(s.id()), Model: in.DeployedModel.Model, DisplayName: in.DeployedModel.DisplayName}
	return s.startOp(e.name, func() (any, *gerr) {
		e.deployed = append(e.deployed, d)
		split := map[string]int{}
		for k, v := range in.TrafficSplit {
			if k == "0" {
				k = d.ID
			}
			split[k] = v
		}
		if len(split) == 0 && len(e.deployed) == 1 {
			split[d.ID] = 100
		}
		e.traffic = split
		s.record(e)
		return map[string]any{"@type": "type.googleapis.com/google.cloud.aiplatform.v1.DeployModelResponse", "deployedModel": d}, nil
	})
}

func (s *Server) undeploy(r *http.Request, e *endpoint) (int, any) {
	var in struct {
		DeployedModelID string         `json:"deployedModelId"`
		TrafficSplit    map[string]int `json:"trafficSplit"`
	}
	if g := decodeMessage(r, "UndeployModelRequest", &in); g != nil {
		return g.Code, map[string]any{"error": g}
	}
	if !e.has(in.DeployedModelID) {
		return errBody(404, "NOT_FOUND", "Deployed model %s not found on endpoint %s.", in.DeployedModelID, e.name)
	}
	// The undeployed model's traffic must go somewhere: Vertex requires a
	// new split without it unless it had none.
	if e.traffic[in.DeployedModelID] > 0 && len(e.deployed) > 1 {
		if _, ok := in.TrafficSplit[in.DeployedModelID]; ok || len(in.TrafficSplit) == 0 {
			return errBody(400, "FAILED_PRECONDITION", "Deployed model %s has traffic; give a traffic_split without it.", in.DeployedModelID)
		}
	}
	if g := checkSplit(e, in.TrafficSplit, false); g != nil {
		return g.Code, map[string]any{"error": g}
	}
	return s.startOp(e.name, func() (any, *gerr) {
		var kept []DeployedModel
		for _, d := range e.deployed {
			if d.ID != in.DeployedModelID {
				kept = append(kept, d)
			}
		}
		e.deployed = kept
		if len(in.TrafficSplit) > 0 {
			e.traffic = in.TrafficSplit
		}
		delete(e.traffic, in.DeployedModelID)
		s.record(e)
		return map[string]any{"@type": "type.googleapis.com/google.cloud.aiplatform.v1.UndeployModelResponse"}, nil
	})
}

func (s *Server) id() int { s.nextID++; return s.nextID }

func (s *Server) startOp(parent string, apply func() (any, *gerr)) (int, any) {
	op := &operation{name: fmt.Sprintf("%s/operations/%d", parent, s.id()), polls: s.settle, stuck: s.stuck, failWith: s.failMsg, apply: apply}
	s.failMsg = ""
	s.ops[op.name] = op
	return 200, map[string]any{"name": op.name, "done": false}
}

func (s *Server) getOperation(name string) (int, any) {
	op, ok := s.ops[name]
	if !ok {
		return errBody(404, "NOT_FOUND", "Operation `%s` not found.", name)
	}
	if !op.done && !op.stuck {
		if op.polls--; op.polls < 0 {
			op.done = true
			if op.failWith != "" {
				op.err = &gerr{13, op.failWith, "INTERNAL"}
			} else {
				op.response, op.err = op.apply()
			}
		}
	}
	out := map[string]any{"name": op.name, "done": op.done}
	if op.err != nil {
		out["error"] = map[string]any{"code": op.err.Code, "message": op.err.Message}
	} else if op.done {
		out["response"] = op.response
	}
	return 200, out
}

// Models returns the uploaded models' display names, sorted.
func (s *Server) Models() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, m := range s.models {
		out = append(out, m.DisplayName+" "+m.ArtifactURI)
	}
	sort.Strings(out)
	return out
}
