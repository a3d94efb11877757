package mlflowfake

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// The REST paths the emulator serves.
const (
	PathModelVersion = "/api/2.0/mlflow/model-versions/get"
	PathAlias        = "/api/2.0/mlflow/registered-models/alias"
	PathRun          = "/api/2.0/mlflow/runs/get"
)

// params reads request parameters the way MLflow does: from the query string
// for GET and DELETE, else from the JSON body (DELETE also accepts a body).
func params(r *http.Request, body []byte) (map[string]string, error) {
	out := map[string]string{}
	for k, v := range r.URL.Query() {
		if len(v) > 0 {
			out[k] = v[0]
		}
	}
	if r.Method == http.MethodGet || len(body) == 0 {
		return out, nil
	}
	var doc map[string]any
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("malformed JSON request body: %v", err)
	}
	for k, v := range doc {
		switch x := v.(type) {
		case string:
			out[k] = x
		case float64:
			out[k] = fmt.Sprint(x)
		}
	}
	return out, nil
}

// route dispatches one authorized, non-faulted request.
func (s *Server) route(w http.ResponseWriter, r *http.Request, body []byte) {
	type handler func(http.ResponseWriter, map[string]string)
	var h handler
	switch {
	case r.URL.Path == PathModelVersion && r.Method == http.MethodGet:
		h = s.getModelVersion
	case r.URL.Path == PathAlias && r.Method == http.MethodGet:
		h = s.getByAlias
	case r.URL.Path == PathAlias && r.Method == http.MethodPost:
		h = s.setAlias
	case r.URL.Path == PathAlias && r.Method == http.MethodDelete:
		h = s.deleteAlias
	case r.URL.Path == PathRun && r.Method == http.MethodGet:
		h = s.getRun
	case r.URL.Path == PathModelVersion || r.URL.Path == PathAlias || r.URL.Path == PathRun:
		writeError(w, http.StatusMethodNotAllowed, "BAD_REQUEST", fmt.Sprintf("method %s is not allowed on %s", r.Method, r.URL.Path))
		return
	default:
		writeError(w, http.StatusNotFound, "ENDPOINT_NOT_FOUND", fmt.Sprintf("no MLflow endpoint at %s", r.URL.Path))
		return
	}
	p, err := params(r, body)
	if err != nil {
		writeError(w, http.StatusBadRequest, "MALFORMED_REQUEST", err.Error())
		return
	}
	h(w, p)
}

// need answers 400 INVALID_PARAMETER_VALUE for the first missing parameter.
func need(w http.ResponseWriter, p map[string]string, names ...string) bool {
	for _, n := range names {
		if p[n] == "" {
			writeError(w, http.StatusBadRequest, "INVALID_PARAMETER_VALUE", fmt.Sprintf("Missing value for required parameter '%s'.", n))
			return false
		}
	}
	return true
}

func notFound(w http.ResponseWriter, format string, args ...any) {
	writeError(w, http.StatusNotFound, "RESOURCE_DOES_NOT_EXIST", fmt.Sprintf(format, args...))
}

func (s *Server) getModelVersion(w http.ResponseWriter, p map[string]string) {
	if !need(w, p, "name", "version") {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.models[p["name"]]
	if m == nil || m.versions[p["version"]] == nil {
		notFound(w, "Model Version (name=%s, version=%s) not found", p["name"], p["version"])
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"model_version": s.wireVersion(m, m.versions[p["version"]])})
}

func (s *Server) getByAlias(w http.ResponseWriter, p map[string]string) {
	if !need(w, p, "name", "alias") {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.modelOr404(w, p["name"])
	if m == nil {
		return
	}
	ver, ok := m.aliases[p["alias"]]
	if !ok {
		notFound(w, "Registered model alias %s not found.", p["alias"])
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"model_version": s.wireVersion(m, m.versions[ver])})
}

func (s *Server) setAlias(w http.ResponseWriter, p map[string]string) {
	if !need(w, p, "name", "alias", "version") {
		return
	}
	if reason := validateAlias(p["alias"]); reason != "" {
		writeError(w, http.StatusBadRequest, "INVALID_PARAMETER_VALUE", reason)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.modelOr404(w, p["name"])
	if m == nil {
		return
	}
	if m.versions[p["version"]] == nil {
		notFound(w, "Model Version (name=%s, version=%s) not found", p["name"], p["version"])
		return
	}
	m.aliases[p["alias"]] = p["version"]
	writeJSON(w, http.StatusOK, map[string]any{})
}

// deleteAlias removes an alias; like MLflow, removing an unset alias succeeds.
func (s *Server) deleteAlias(w http.ResponseWriter, p map[string]string) {
	if !need(w, p, "name", "alias") {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.modelOr404(w, p["name"])
	if m == nil {
		return
	}
	delete(m.aliases, p["alias"])
	writeJSON(w, http.StatusOK, map[string]any{})
}

func (s *Server) getRun(w http.ResponseWriter, p map[string]string) {
	if !need(w, p, "run_id") {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.runs[p["run_id"]]
	if r == nil {
		notFound(w, "Run with id=%s not found", p["run_id"])
		return
	}
	params := make([]map[string]string, 0, len(r.params))
	for _, k := range sortedKeys(r.params) {
		params = append(params, map[string]string{"key": k, "value": r.params[k]})
	}
	writeJSON(w, http.StatusOK, map[string]any{"run": map[string]any{
		"info": map[string]any{
			"run_id": r.id, "run_uuid": r.id, "experiment_id": "0", "status": "FINISHED",
			"start_time": r.created, "end_time": r.created, "lifecycle_stage": "active",
		},
		"data": map[string]any{
			"metrics": wireMetrics(r.metrics, r.created, ""),
			"params":  params,
			"tags":    []any{},
		},
	}})
}

// modelOr404 returns the registered model called name, or answers MLflow's
// RESOURCE_DOES_NOT_EXIST and returns nil. Callers hold s.mu.
func (s *Server) modelOr404(w http.ResponseWriter, name string) *model {
	m := s.models[name]
	if m == nil {
		notFound(w, "Registered Model with name=%s not found", name)
	}
	return m
}
