package mlflowfake

import (
	"fmt"
	"math"
	"regexp"
	"sort"
)

// Model version statuses MLflow knows.
const (
	StatusReady   = "READY"
	StatusPending = "PENDING_REGISTRATION"
	StatusFailed  = "FAILED_REGISTRATION"
)

type model struct {
	name     string
	versions map[string]*version
	aliases  map[string]string // alias -> version
	created  int64
}

type version struct {
	version string
	status  string
	runID   string
	source  string // the artifact location, "" for "models:/m-<run_id>"
	modelID string // MLflow 3 logged model, "" when none
	created int64
	// artifactURI overrides where the version's files are ("" means under
	// the artifact proxy, see artifactRoot).
	artifactURI string
	tags        map[string]string // SetVersionTag
}

// loggedModel is an MLflow 3 logged model and the metrics linked to it.
type loggedModel struct {
	id      string
	metrics map[string]float64
	created int64
}

type run struct {
	id      string
	metrics map[string]float64
	params  map[string]string
	created int64
}

// aliasPattern is MLflow's rule for alias names; "latest" and "v<digits>"
// are reserved on top of it.
var (
	aliasPattern    = regexp.MustCompile(`^[\w\-]+$`)
	reservedVersion = regexp.MustCompile(`^[vV]\d+$`)
)

func validStatus(s string) bool {
	return s == StatusReady || s == StatusPending || s == StatusFailed
}

// validateAlias returns why alias is not acceptable to MLflow, or "".
func validateAlias(alias string) string {
	switch {
	case alias == "":
		return "alias name must not be empty"
	case !aliasPattern.MatchString(alias):
		return fmt.Sprintf("Invalid alias name: '%s'. Names may only contain alphanumerics, underscores (_) and dashes (-).", alias)
	case alias == "latest" || reservedVersion.MatchString(alias):
		return fmt.Sprintf("'%s' alias name (case insensitive) is reserved.", alias)
	}
	return ""
}

// tick returns a strictly increasing millisecond timestamp.
func (s *Server) tick() int64 {
	s.clock++
	return s.clock
}

// AddModel registers a model (a no-op when it exists).
func (s *Server) AddModel(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.addModelLocked(name)
}

func (s *Server) addModelLocked(name string) *model {
	m, ok := s.models[name]
	if !ok {
		m = &model{name: name, versions: map[string]*version{}, aliases: map[string]string{}, created: s.tick()}
		s.models[name] = m
	}
	return m
}

// AddVersion registers version of model name (creating the model if needed)
// with status ("" means READY) and a run "run-<name>-<version>" that logged
// metrics. It panics on a status MLflow does not know: that is a broken test.
func (s *Server) AddVersion(name, ver, status string, metrics map[string]float64) {
	if status == "" {
		status = StatusReady
	}
	if !validStatus(status) {
		panic(fmt.Sprintf("mlflowfake.AddVersion: status %q is not one of READY, PENDING_REGISTRATION, FAILED_REGISTRATION", status))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.addVersionLocked(name, ver, status, "run-"+name+"-"+ver, metrics)
}

func (s *Server) addVersionLocked(name, ver, status, runID string, metrics map[string]float64) {
	m := s.addModelLocked(name)
	r := &run{id: runID, metrics: map[string]float64{}, params: map[string]string{}, created: s.tick()}
	for k, v := range metrics {
		r.metrics[k] = v
	}
	s.runs[runID] = r
	m.versions[ver] = &version{version: ver, status: status, runID: runID, created: s.tick()}
}

// SetRunParam records a parameter on a run (see AddVersion for run IDs).
// It panics when the run does not exist: that is a broken test.
func (s *Server) SetRunParam(runID, key, value string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.runs[runID]
	if !ok {
		panic(fmt.Sprintf("mlflowfake.SetRunParam: no run %q; runs are created by AddVersion as run-<model>-<version>", runID))
	}
	r.params[key] = value
}

// SetAlias points alias of model name at version. It panics when the model
// or version does not exist or the alias name is invalid: that is a broken test.
func (s *Server) SetAlias(name, alias, ver string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if reason := validateAlias(alias); reason != "" {
		panic("mlflowfake.SetAlias: " + reason)
	}
	m, ok := s.models[name]
	if !ok || m.versions[ver] == nil {
		panic(fmt.Sprintf("mlflowfake.SetAlias: model %q has no version %q; call AddVersion first", name, ver))
	}
	m.aliases[alias] = ver
}

// Alias returns the version alias of model name points at, or "" when unset.
func (s *Server) Alias(name, alias string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m, ok := s.models[name]; ok {
		return m.aliases[alias]
	}
	return ""
}

// LinkLoggedModel registers version ver of model name as coming from an
// MLflow 3 logged model carrying metrics, and returns the model's ID; the
// version then answers with model_id and GET logged-models/{id} serves
// them. It panics when the version does not exist: that is a broken test.
func (s *Server) LinkLoggedModel(name, ver string, metrics map[string]float64) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.models[name]
	if !ok || m.versions[ver] == nil {
		panic(fmt.Sprintf("mlflowfake.LinkLoggedModel: model %q has no version %q; call AddVersion first", name, ver))
	}
	if s.logged == nil {
		s.logged = map[string]*loggedModel{}
	}
	id := fmt.Sprintf("m-%s-%s", name, ver)
	lm := &loggedModel{id: id, metrics: map[string]float64{}, created: s.tick()}
	for k, v := range metrics {
		lm.metrics[k] = v
	}
	s.logged[id] = lm
	m.versions[ver].modelID = id
	return id
}

// SetMetricsOnVersion switches MLflow 3 behaviour on or off: when on, model
// versions carry their run's metrics in model_version.metrics.
func (s *Server) SetMetricsOnVersion(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.metricsOnVer = on
}

// sortedAliases lists the aliases pointing at ver, sorted.
func (m *model) sortedAliases(ver string) []string {
	out := []string{}
	for a, v := range m.aliases {
		if v == ver {
			out = append(out, a)
		}
	}
	sort.Strings(out)
	return out
}

// wireMetrics renders metrics as MLflow's list of Metric messages, by key.
func wireMetrics(metrics map[string]float64, ts int64, runID string) []map[string]any {
	keys := make([]string, 0, len(metrics))
	for k := range metrics {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]map[string]any, 0, len(keys))
	for _, k := range keys {
		m := map[string]any{"key": k, "value": wireFloat(metrics[k]), "timestamp": ts, "step": 0}
		if runID != "" {
			m["run_id"] = runID
		}
		out = append(out, m)
	}
	return out
}

// sourceURI is the version's artifact location as MLflow reports it.
func (v *version) sourceURI() string {
	if v.source != "" {
		return v.source
	}
	return "models:/m-" + v.runID
}

// wireVersion renders a model version as MLflow's ModelVersion message.
func (s *Server) wireVersion(m *model, v *version) map[string]any {
	out := map[string]any{
		"name":                   m.name,
		"version":                v.version,
		"creation_timestamp":     v.created,
		"last_updated_timestamp": v.created,
		"current_stage":          "None",
		"description":            "",
		"source":                 v.sourceURI(),
		"run_id":                 v.runID,
		"status":                 v.status,
		"aliases":                m.sortedAliases(v.version),
	}
	if v.modelID != "" {
		out["model_id"] = v.modelID
	}
	if tags := wireTags(v); tags != nil {
		out["tags"] = tags
	}
	if s.metricsOnVer {
		if r := s.runs[v.runID]; r != nil {
			out["metrics"] = wireMetrics(r.metrics, r.created, r.id)
		}
	}
	return out
}

// wireFloat writes a metric value as MLflow does: protobuf's JSON mapping
// (mlflow/utils/proto_json_utils.py, message_to_json) turns non-finite
// doubles into the strings "NaN", "Infinity" and "-Infinity".
func wireFloat(f float64) any {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	return f
}
