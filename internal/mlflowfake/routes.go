package mlflowfake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// The REST paths the emulator serves.
const (
	PathModelVersion = "/api/2.0/mlflow/model-versions/get"
	PathAlias        = "/api/2.0/mlflow/registered-models/alias"
	PathRun          = "/api/2.0/mlflow/runs/get"
	// PathLoggedModel + model_id is MLflow 3's GetLoggedModel.
	PathLoggedModel = "/api/2.0/mlflow/logged-models/"
	// PathDownloadURI is GetModelVersionDownloadUri: where a version's files are.
	PathDownloadURI = "/api/2.0/mlflow/model-versions/get-download-uri"
	// PathArtifacts + path is the artifact proxy's DownloadArtifact
	// (mlflow_artifacts.proto), serving files under mlflow-artifacts:/.
	PathArtifacts = "/api/2.0/mlflow-artifacts/artifacts/"
	// The Unity Catalog registry's endpoints (databricks_uc_registry_service.proto).
	PathUCModelVersion = "/api/2.0/mlflow/unity-catalog/model-versions/get"
	PathUCAlias        = "/api/2.0/mlflow/unity-catalog/registered-models/alias"
	pathUCPrefix       = "/api/2.0/mlflow/unity-catalog/"
)

// params reads request parameters exactly as MLflow's server does
// (mlflow/server/handlers.py, _get_request_message): a GET with a query
// string is read from the query alone; every other request (a GET without a
// query included) is read from the JSON body and its query is ignored. For
// POST and PUT the body must be declared application/json
// (mlflow/server/validation.py, _validate_content_type), else 400
// INVALID_PARAMETER_VALUE. A body that is not JSON reads as empty
// (flask's get_json(force=True, silent=True)), so it fails later as a
// missing parameter, the way MLflow answers it.
func params(r *http.Request, body []byte) (map[string]string, *apiError) {
	out := map[string]string{}
	if r.Method == http.MethodGet && r.URL.RawQuery != "" {
		for k, v := range r.URL.Query() {
			if len(v) > 0 {
				out[k] = v[0]
			}
		}
		return out, nil
	}
	if r.Method == http.MethodPost || r.Method == http.MethodPut {
		ct := r.Header.Get("Content-Type")
		if ct == "" {
			return nil, &apiError{http.StatusBadRequest, "INVALID_PARAMETER_VALUE", "Bad Request. Content-Type header is missing."}
		}
		if mt, _, _ := strings.Cut(ct, ";"); strings.TrimSpace(mt) != "application/json" {
			return nil, &apiError{http.StatusBadRequest, "INVALID_PARAMETER_VALUE", "Bad Request. Content-Type must be one of ['application/json']."}
		}
	}
	var doc map[string]any
	if json.Unmarshal(body, &doc) != nil {
		return out, nil
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

// apiError is an MLflow error document with its HTTP status.
type apiError struct {
	status    int
	code, msg string
}

// route dispatches one authorized, non-faulted request.
func (s *Server) route(w http.ResponseWriter, r *http.Request, body []byte) {
	type handler func(http.ResponseWriter, map[string]string)
	var h handler
	if id, ok := strings.CutPrefix(r.URL.Path, PathLoggedModel); ok && id != "" && !strings.Contains(id, "/") {
		// A path parameter (service.proto: GET /mlflow/logged-models/{model_id});
		// no query or body is read.
		if r.Method != http.MethodGet {
			methodNotAllowed(w)
			return
		}
		s.getLoggedModel(w, id)
		return
	}
	if rel, ok := strings.CutPrefix(r.URL.Path, PathArtifacts); ok && rel != "" {
		// Flask's <path:artifact_path>: the rest of the URL, read from the path.
		if r.Method != http.MethodGet {
			methodNotAllowed(w)
			return
		}
		s.downloadArtifact(w, rel)
		return
	}
	uc := false
	switch {
	case r.URL.Path == PathModelVersion && r.Method == http.MethodGet:
		h = s.getModelVersion
	case r.URL.Path == PathDownloadURI && r.Method == http.MethodGet:
		h = s.getDownloadURI
	case r.URL.Path == PathAlias && r.Method == http.MethodGet:
		h = s.getByAlias
	case r.URL.Path == PathAlias && r.Method == http.MethodPost:
		h = s.setAlias
	case r.URL.Path == PathAlias && r.Method == http.MethodDelete:
		h = s.deleteAlias
	case r.URL.Path == PathRun && r.Method == http.MethodGet:
		h = s.getRun
	case r.URL.Path == PathUCModelVersion && r.Method == http.MethodGet:
		h, uc = s.ucGetModelVersion, true
	case r.URL.Path == PathUCAlias && r.Method == http.MethodGet:
		h, uc = s.ucGetByAlias, true
	case r.URL.Path == PathUCAlias && r.Method == http.MethodPost:
		h, uc = s.setAlias, true
	case r.URL.Path == PathUCAlias && r.Method == http.MethodDelete:
		h, uc = s.deleteAlias, true
	case r.URL.Path == PathModelVersion || r.URL.Path == PathAlias || r.URL.Path == PathRun || r.URL.Path == PathDownloadURI ||
		r.URL.Path == PathUCModelVersion || r.URL.Path == PathUCAlias:
		methodNotAllowed(w)
		return
	default:
		// Unity Catalog has no stages: its service defines no
		// transition-stage or get-latest-versions endpoint, so such a
		// request meets the same answer as any path nobody serves.
		writeError(w, http.StatusNotFound, "ENDPOINT_NOT_FOUND", fmt.Sprintf("no MLflow endpoint at %s", r.URL.Path))
		return
	}
	p, apiErr := params(r, body)
	if apiErr != nil {
		writeError(w, apiErr.status, apiErr.code, apiErr.msg)
		return
	}
	if s.isDenied(p["name"]) {
		forbidden(w)
		return
	}
	// A Unity Catalog name is catalog.schema.model; the workspace registry
	// does not hold models of Unity Catalog.
	if p["name"] != "" && uc != isUCName(p["name"]) {
		if uc {
			writeError(w, http.StatusBadRequest, "INVALID_PARAMETER_VALUE", fmt.Sprintf(
				"Invalid model name '%s': a model in Unity Catalog is named <catalog>.<schema>.<model>.", p["name"]))
		} else {
			notFound(w, "Registered Model with name=%s not found", p["name"])
		}
		return
	}
	h(w, p)
}

// need answers 400 INVALID_PARAMETER_VALUE for the first missing parameter.
func need(w http.ResponseWriter, p map[string]string, names ...string) bool {
	for _, n := range names {
		if p[n] == "" {
			// handlers.py, _validate_param_against_schema.
			writeError(w, http.StatusBadRequest, "INVALID_PARAMETER_VALUE",
				fmt.Sprintf("Missing value for required parameter '%s'. See the API docs for more information about request parameters.", n))
			return false
		}
	}
	return true
}

func notFound(w http.ResponseWriter, format string, args ...any) {
	writeError(w, http.StatusNotFound, "RESOURCE_DOES_NOT_EXIST", fmt.Sprintf(format, args...))
}

// lockVersion reads a request's name and version, takes s.mu and finds the
// version, answering MLflow's error (and releasing the lock) when it cannot.
// With ok the caller holds s.mu.
func (s *Server) lockVersion(w http.ResponseWriter, p map[string]string) (m *model, v *version, ok bool) {
	if !need(w, p, "name", "version") {
		return nil, nil, false
	}
	s.mu.Lock()
	if m = s.models[p["name"]]; m != nil {
		v = m.versions[p["version"]]
	}
	if v == nil {
		s.mu.Unlock()
		notFound(w, "Model Version (name=%s, version=%s) not found", p["name"], p["version"])
		return nil, nil, false
	}
	return m, v, true
}

func (s *Server) getModelVersion(w http.ResponseWriter, p map[string]string) {
	m, v, ok := s.lockVersion(w, p)
	if !ok {
		return
	}
	defer s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"model_version": s.wireVersion(m, v)})
}

// getByAlias answers an unset alias as MLflow's SQL store does
// (mlflow/store/model_registry/sqlalchemy_store.py,
// get_model_version_by_alias): 400 INVALID_PARAMETER_VALUE "Registered model
// alias X not found.", whether or not the model exists.
func (s *Server) getByAlias(w http.ResponseWriter, p map[string]string) {
	if !need(w, p, "name", "alias") {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var ver string
	ok := false
	if m := s.models[p["name"]]; m != nil {
		ver, ok = m.aliases[p["alias"]]
	}
	if !ok {
		writeError(w, http.StatusBadRequest, "INVALID_PARAMETER_VALUE", fmt.Sprintf("Registered model alias %s not found.", p["alias"]))
		return
	}
	m := s.models[p["name"]]
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

func (s *Server) getLoggedModel(w http.ResponseWriter, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	lm := s.logged[id]
	if lm == nil {
		notFound(w, "Logged model with ID '%s' not found.", id)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"model": map[string]any{
		"info": map[string]any{"model_id": lm.id, "creation_timestamp_ms": lm.created, "status": "LOGGED_MODEL_READY"},
		"data": map[string]any{"params": []any{}, "metrics": wireMetrics(lm.metrics, lm.created, "")},
	}})
}
