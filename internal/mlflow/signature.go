package mlflow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// REST paths the signature is read through: where a version's files are
// (model_registry.proto, getModelVersionDownloadUri) and the artifact proxy
// that serves files under mlflow-artifacts:/ (mlflow_artifacts.proto,
// downloadArtifact, GET /mlflow-artifacts/artifacts/<path:artifact_path>).
const (
	pathDownloadURI = "/api/2.0/mlflow/model-versions/get-download-uri"
	pathArtifacts   = "/api/2.0/mlflow-artifacts/artifacts/"
)

// maxMLmodelBytes bounds the MLmodel file read: it is a few hundred bytes of
// YAML; a signature of thousands of columns stays far below this.
const maxMLmodelBytes = 1 << 20

// Signature is a model's signature as MLflow logs it in the model's MLmodel
// file (mlflow/models/signature.py, ModelSignature): the inputs it accepts
// and the outputs it returns.
type Signature struct {
	Inputs  []Spec
	Outputs []Spec
}

// Spec is one column or tensor of a signature (mlflow/types/schema.py:
// ColSpec, TensorSpec). Type is written as Conveyor shows it: a column's
// type ("double", "array<string>", "object{a: long}"), or a tensor's dtype
// and shape ("tensor float32 (-1, 4)").
type Spec struct {
	Name     string // "" for an unnamed column or tensor (matched by position)
	Type     string
	Required bool // ColSpec.required (MLflow's default true); tensors are always required
}

// ErrNoSignature says the model version's MLmodel file holds no signature.
var ErrNoSignature = errors.New("the model was logged without a signature")

// UnreadableError says where a version's files are and why Conveyor cannot
// read its MLmodel file there.
type UnreadableError struct {
	Reason string
}

func (e *UnreadableError) Error() string { return e.Reason }

// Signature reads the signature of a model version from its MLmodel file,
// the way MLflow's own client finds the files: the registry's download URI
// for the version, then, when the server proxies artifacts (mlflow-artifacts:,
// the default of `mlflow server`), the file through the artifact proxy. It
// returns ErrNoSignature when none was logged and an *UnreadableError when
// the files are where the registry does not serve them (s3://, gs://, a Unity
// Catalog storage location).
func (c *Client) Signature(ctx context.Context, mv *ModelVersion) (*Signature, error) {
	if mv == nil {
		return nil, errors.New("MLflow: no model version given to read the signature of")
	}
	if c.uc {
		return nil, &UnreadableError{Reason: "Unity Catalog keeps model files in the catalog's cloud storage, readable only with temporary cloud credentials"}
	}
	var resp struct {
		ArtifactURI string `json:"artifact_uri"`
	}
	q := url.Values{"name": {mv.Name}, "version": {mv.Version}}
	if err := c.call(ctx, http.MethodGet, pathDownloadURI, q, nil, &resp); err != nil {
		return nil, withSubject(err, fmt.Sprintf("model %q version %s", mv.Name, mv.Version))
	}
	rel, ok := proxiedPath(resp.ArtifactURI)
	if !ok {
		return nil, &UnreadableError{Reason: fmt.Sprintf("its files are at %s, which the registry does not serve (run the MLflow server with --serve-artifacts to show signatures)", resp.ArtifactURI)}
	}
	var raw []byte
	p := pathArtifacts + escapePath(strings.TrimSuffix(rel, "/")+"/MLmodel")
	if err := c.call(ctx, http.MethodGet, p, nil, nil, &raw); err != nil {
		if IsNotFound(err) {
			return nil, &UnreadableError{Reason: fmt.Sprintf("there is no MLmodel file at %s", resp.ArtifactURI)}
		}
		return nil, withSubject(err, fmt.Sprintf("the MLmodel file of model %q version %s", mv.Name, mv.Version))
	}
	return ParseMLmodel(raw)
}

// proxiedPath returns the path under the artifact proxy's root of a
// mlflow-artifacts: URI (mlflow-artifacts:/0/abc/artifacts/model, or with a
// host, mlflow-artifacts://host:5000/0/...; the files are then read from this
// client's server, as a proxy in front of one tracking server serves both).
func proxiedPath(uri string) (string, bool) {
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "mlflow-artifacts" {
		return "", false
	}
	rel := strings.Trim(u.Path, "/")
	return rel, rel != ""
}

func escapePath(p string) string {
	parts := strings.Split(p, "/")
	for i := range parts {
		parts[i] = url.PathEscape(parts[i])
	}
	return strings.Join(parts, "/")
}

// ParseMLmodel reads the signature out of an MLmodel file: YAML whose
// signature.inputs and signature.outputs are JSON strings of column or
// tensor specs (ModelSignature.to_dict; Schema.to_json).
func ParseMLmodel(data []byte) (*Signature, error) {
	if len(data) > maxMLmodelBytes {
		return nil, fmt.Errorf("MLflow: the MLmodel file is %d bytes, more than the %d read", len(data), maxMLmodelBytes)
	}
	var doc struct {
		Signature *struct {
			Inputs  *string `yaml:"inputs"`
			Outputs *string `yaml:"outputs"`
		} `yaml:"signature"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("MLflow: the MLmodel file is not YAML: %w", err)
	}
	if doc.Signature == nil || (doc.Signature.Inputs == nil && doc.Signature.Outputs == nil) {
		return nil, ErrNoSignature
	}
	var sig Signature
	var err error
	if doc.Signature.Inputs != nil {
		if sig.Inputs, err = parseSchema(*doc.Signature.Inputs); err != nil {
			return nil, fmt.Errorf("MLflow: the signature's inputs: %w", err)
		}
	}
	if doc.Signature.Outputs != nil {
		if sig.Outputs, err = parseSchema(*doc.Signature.Outputs); err != nil {
			return nil, fmt.Errorf("MLflow: the signature's outputs: %w", err)
		}
	}
	return &sig, nil
}

// parseSchema reads a Schema's JSON: a list of ColSpec or TensorSpec dicts.
func parseSchema(s string) ([]Spec, error) {
	var raw []map[string]any
	if err := json.Unmarshal([]byte(s), &raw); err != nil {
		return nil, fmt.Errorf("not a JSON list of column specs: %w", err)
	}
	out := make([]Spec, 0, len(raw))
	for i, d := range raw {
		sp := Spec{Required: true}
		sp.Name, _ = d["name"].(string)
		if r, ok := d["required"].(bool); ok {
			sp.Required = r
		}
		t, err := specType(d)
		if err != nil {
			return nil, fmt.Errorf("spec %d: %w", i+1, err)
		}
		sp.Type = t
		out = append(out, sp)
	}
	return out, nil
}

// specType writes the type of a ColSpec or TensorSpec dict, nested types
// included (Array's items, Object's properties, Map's values).
func specType(d map[string]any) (string, error) {
	t, _ := d["type"].(string)
	switch t {
	case "":
		return "", errors.New(`no "type"`)
	case "tensor":
		ts, _ := d["tensor-spec"].(map[string]any)
		dtype, _ := ts["dtype"].(string)
		var dims []string
		shape, _ := ts["shape"].([]any)
		for _, x := range shape {
			dims = append(dims, fmt.Sprint(x))
		}
		return fmt.Sprintf("tensor %s (%s)", dtype, strings.Join(dims, ", ")), nil
	case "array":
		items, _ := d["items"].(map[string]any)
		it, err := specType(items)
		if err != nil {
			return "", fmt.Errorf("array items: %w", err)
		}
		return "array<" + it + ">", nil
	case "map":
		values, _ := d["values"].(map[string]any)
		vt, err := specType(values)
		if err != nil {
			return "", fmt.Errorf("map values: %w", err)
		}
		return "map<string, " + vt + ">", nil
	case "object":
		props, _ := d["properties"].(map[string]any)
		names := make([]string, 0, len(props))
		for n := range props {
			names = append(names, n)
		}
		sort.Strings(names)
		parts := make([]string, 0, len(names))
		for _, n := range names {
			p, _ := props[n].(map[string]any)
			pt, err := specType(p)
			if err != nil {
				return "", fmt.Errorf("property %s: %w", n, err)
			}
			if r, ok := p["required"].(bool); ok && !r {
				pt += "?"
			}
			parts = append(parts, n+": "+pt)
		}
		return "object{" + strings.Join(parts, ", ") + "}", nil
	}
	return t, nil
}
