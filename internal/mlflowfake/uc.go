package mlflowfake

import (
	"fmt"
	"net/http"
	"strings"
)

// isUCName reports whether name is a Unity Catalog three-level name,
// catalog.schema.model, each part non-empty.
func isUCName(name string) bool {
	parts := strings.Split(name, ".")
	if len(parts) != 3 {
		return false
	}
	for _, p := range parts {
		if p == "" {
			return false
		}
	}
	return true
}

// ucGetModelVersion is the Unity Catalog GetModelVersion
// (databricks_uc_registry_service.proto); its answer is the UC ModelVersion
// message (databricks_uc_registry_messages.proto).
func (s *Server) ucGetModelVersion(w http.ResponseWriter, p map[string]string) {
	m, v, ok := s.lockVersion(w, p)
	if !ok {
		return
	}
	defer s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"model_version": s.ucWireVersion(m, v)})
}

// ucGetByAlias answers an unset alias with 404 RESOURCE_DOES_NOT_EXIST.
// The protos do not say what Databricks answers; this is the error code its
// REST API documents for a missing object, and Conveyor's client reads it as
// well as MLflow's 400 "alias ... not found" as "not set".
func (s *Server) ucGetByAlias(w http.ResponseWriter, p map[string]string) {
	if !need(w, p, "name", "alias") {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.models[p["name"]]
	if m == nil {
		notFound(w, "Registered Model with name=%s not found", p["name"])
		return
	}
	ver, ok := m.aliases[p["alias"]]
	if !ok {
		notFound(w, "Alias %s not found for registered model %s.", p["alias"], p["name"])
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"model_version": s.ucWireVersion(m, m.versions[ver])})
}

// ucWireVersion renders the UC ModelVersion message: no stage (Unity
// Catalog has none), a storage_location, and aliases as RegisteredModelAlias
// objects ({alias, version}) rather than the workspace registry's strings.
func (s *Server) ucWireVersion(m *model, v *version) map[string]any {
	aliases := []map[string]string{}
	for _, a := range m.sortedAliases(v.version) {
		aliases = append(aliases, map[string]string{"alias": a, "version": v.version})
	}
	out := map[string]any{
		"name":                   m.name,
		"version":                v.version,
		"creation_timestamp":     v.created,
		"last_updated_timestamp": v.created,
		"description":            "",
		"source":                 "dbfs:/databricks/mlflow-tracking/0/" + v.runID + "/artifacts/model",
		"run_id":                 v.runID,
		"run_experiment_id":      "0",
		"status":                 v.status,
		"storage_location":       fmt.Sprintf("s3://uc-models/%s/versions/%s", strings.ReplaceAll(m.name, ".", "/"), v.version),
		"aliases":                aliases,
	}
	if tags := wireTags(v); tags != nil {
		out["tags"] = tags
	}
	return out
}
