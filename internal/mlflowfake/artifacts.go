package mlflowfake

import (
	"fmt"
	"net/http"
	"strings"

	"gopkg.in/yaml.v3"
)

// Signature is a model signature as MLflow writes it in the MLmodel file
// (mlflow/models/signature.py, ModelSignature.to_dict): inputs and outputs
// are JSON strings of column or tensor specs (mlflow/types/schema.py), for
// example `[{"type": "double", "name": "amount", "required": true}]`; "" leaves
// one out.
type Signature struct {
	Inputs  string
	Outputs string
}

// SetSignature logs an MLmodel file with sig for version ver of model name,
// where the version's files are (its logged model's artifacts, else its
// run's artifacts/model), served through the artifact proxy. It panics when
// the version does not exist: that is a broken test.
func (s *Server) SetSignature(name, ver string, sig Signature) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.models[name]
	if !ok || m.versions[ver] == nil {
		panic(fmt.Sprintf("mlflowfake.SetSignature: model %q has no version %q; call AddVersion first", name, ver))
	}
	s.setSignatureLocked(m.versions[ver], sig)
}

// setSignatureLocked writes v's MLmodel file; callers hold s.mu.
func (s *Server) setSignatureLocked(v *version, sig Signature) {
	doc := map[string]any{
		"artifact_path":  "model",
		"flavors":        map[string]any{"python_function": map[string]any{"loader_module": "mlflow.sklearn", "python_version": "3.11.9"}},
		"mlflow_version": "3.1.0",
	}
	sd := map[string]any{"params": nil}
	if sig.Inputs != "" {
		sd["inputs"] = sig.Inputs
	}
	if sig.Outputs != "" {
		sd["outputs"] = sig.Outputs
	}
	doc["signature"] = sd
	b, err := yaml.Marshal(doc)
	if err != nil {
		panic(err)
	}
	if s.artifacts == nil {
		s.artifacts = map[string][]byte{}
	}
	s.artifacts[artifactRoot(v)+"/MLmodel"] = b
}

// SetArtifactURI makes version ver of model name live at uri (for example
// s3://bucket/model), outside the artifact proxy.
func (s *Server) SetArtifactURI(name, ver, uri string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.models[name]
	if !ok || m.versions[ver] == nil {
		panic(fmt.Sprintf("mlflowfake.SetArtifactURI: model %q has no version %q; call AddVersion first", name, ver))
	}
	m.versions[ver].artifactURI = uri
}

// artifactRoot is where a version's files are under the proxy's root, as
// MLflow lays them out: a logged model's artifacts
// (<experiment>/models/<model_id>/artifacts) or a run's
// (<experiment>/<run_id>/artifacts/model).
func artifactRoot(v *version) string {
	if v.modelID != "" {
		return "0/models/" + v.modelID + "/artifacts"
	}
	return "0/" + v.runID + "/artifacts/model"
}

// getDownloadURI is GetModelVersionDownloadUri: the version's files, as a
// mlflow-artifacts: URI when the server proxies them (mlflow server
// --serve-artifacts, the default).
func (s *Server) getDownloadURI(w http.ResponseWriter, p map[string]string) {
	_, v, ok := s.lockVersion(w, p)
	if !ok {
		return
	}
	defer s.mu.Unlock()
	// The stores answer the version's storage location, which is its source
	// unless the source is a models:/ URI (sqlalchemy_store.py,
	// get_model_version_download_uri).
	uri := v.artifactURI
	if uri == "" && v.source != "" && !strings.HasPrefix(v.source, "models:/") {
		uri = v.source
	}
	if uri == "" {
		uri = "mlflow-artifacts:/" + artifactRoot(v)
	}
	writeJSON(w, http.StatusOK, map[string]any{"artifact_uri": uri})
}

// downloadArtifact serves a file under the proxy's root as MLflow does
// (mlflow/server/handlers.py, _download_artifact: the file itself, as an
// attachment); a missing file is RESOURCE_DOES_NOT_EXIST.
func (s *Server) downloadArtifact(w http.ResponseWriter, rel string) {
	s.mu.Lock()
	b, ok := s.artifacts[strings.Trim(rel, "/")]
	s.mu.Unlock()
	if !ok {
		notFound(w, "No such file or directory: '%s'", rel)
		return
	}
	name := rel[strings.LastIndex(rel, "/")+1:]
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%s", name))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}
