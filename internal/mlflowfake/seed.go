package mlflowfake

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"sort"
)

// Seed is the JSON document LoadSeed reads, shared with the examples and the
// demo:
//
//	{"models":[{"name":"fraud-detector",
//	  "versions":[{"version":"13","status":"READY","run_id":"r13","metrics":{"auc":0.93}}],
//	  "aliases":{"production":"13","staging":"13"}}]}
type Seed struct {
	Models []SeedModel `json:"models"`
}

// SeedModel is one registered model in a Seed.
type SeedModel struct {
	Name     string            `json:"name"`
	Versions []SeedVersion     `json:"versions"`
	Aliases  map[string]string `json:"aliases"`
}

// SeedVersion is one model version in a Seed; Status "" means READY,
// RunID "" means "run-<model>-<version>" and Source "" means the MLflow 3
// logged-model URI "models:/m-<run_id>" (a serving driver reads the
// version's source as its artifact location, e.g. s3://.../model.tar.gz).
type SeedVersion struct {
	Version string      `json:"version"`
	Status  string      `json:"status"`
	RunID   string      `json:"run_id"`
	Source  string      `json:"source"`
	Metrics SeedMetrics `json:"metrics"`
	// Signature is the model signature logged in the version's MLmodel
	// file: the column specs MLflow writes (mlflow/types/schema.py), as
	// JSON lists, e.g. {"inputs": [{"type": "double", "name": "amount", "required": true}]}.
	Signature *SeedSignature `json:"signature"`
}

// SeedSignature is a version's model signature in a Seed.
type SeedSignature struct {
	Inputs  json.RawMessage `json:"inputs"`
	Outputs json.RawMessage `json:"outputs"`
}

// SeedMetrics are a version's run metrics. A value is a JSON number or, as
// MLflow writes non-finite values, "NaN", "Infinity" or "-Infinity".
type SeedMetrics map[string]float64

// UnmarshalJSON reads numbers and MLflow's strings for non-finite values.
func (m *SeedMetrics) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	out := make(SeedMetrics, len(raw))
	for k, v := range raw {
		var f float64
		if err := json.Unmarshal(v, &f); err == nil {
			out[k] = f
			continue
		}
		var s string
		_ = json.Unmarshal(v, &s)
		switch s {
		case "NaN":
			out[k] = math.NaN()
		case "Infinity":
			out[k] = math.Inf(1)
		case "-Infinity":
			out[k] = math.Inf(-1)
		default:
			return fmt.Errorf("metric %q: %s is not a number, \"NaN\", \"Infinity\" or \"-Infinity\"", k, v)
		}
	}
	*m = out
	return nil
}

// sameMetrics is maps.Equal with NaN equal to NaN.
func sameMetrics(a, b map[string]float64) bool {
	return maps.EqualFunc(a, b, func(x, y float64) bool { return x == y || (math.IsNaN(x) && math.IsNaN(y)) })
}

// LoadSeed adds the models, versions, runs and aliases described by the JSON
// in r. The whole document is checked first; on error nothing is changed.
func (s *Server) LoadSeed(r io.Reader) error {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var seed Seed
	if err := dec.Decode(&seed); err != nil {
		return fmt.Errorf("mlflow seed: %w; expected {\"models\":[{\"name\":..., \"versions\":[{\"version\":\"1\",\"status\":\"READY\",\"run_id\":\"r1\",\"metrics\":{\"auc\":0.9}}], \"aliases\":{\"production\":\"1\"}}]}", err)
	}
	if err := seed.validate(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range seed.Models {
		s.addModelLocked(m.Name)
		for _, v := range m.Versions {
			status, runID := v.defaults(m.Name)
			s.addVersionLocked(m.Name, v.Version, status, runID, v.Metrics)
			s.models[m.Name].versions[v.Version].source = v.Source
			if v.Signature != nil {
				s.setSignatureLocked(s.models[m.Name].versions[v.Version],
					Signature{Inputs: string(v.Signature.Inputs), Outputs: string(v.Signature.Outputs)})
			}
		}
		aliases := sortedKeys(m.Aliases)
		for _, a := range aliases {
			s.models[m.Name].aliases[a] = m.Aliases[a]
		}
	}
	return nil
}

func (v SeedVersion) defaults(model string) (status, runID string) {
	status, runID = v.Status, v.RunID
	if status == "" {
		status = StatusReady
	}
	if runID == "" {
		runID = "run-" + model + "-" + v.Version
	}
	return status, runID
}

// validate checks a seed and names the first problem with its position.
func (seed Seed) validate() error {
	if len(seed.Models) == 0 {
		return errors.New(`mlflow seed: "models" is empty; list at least one model`)
	}
	names := map[string]bool{}
	runMetrics := map[string]map[string]float64{}
	for i, m := range seed.Models {
		at := fmt.Sprintf("mlflow seed: models[%d]", i)
		if m.Name == "" {
			return fmt.Errorf(`%s: "name" is empty; give the registered model name, e.g. "fraud-detector"`, at)
		}
		if names[m.Name] {
			return fmt.Errorf("%s: model %q is listed twice; merge its versions into one entry", at, m.Name)
		}
		names[m.Name] = true
		versions := map[string]bool{}
		for j, v := range m.Versions {
			vat := fmt.Sprintf("%s.versions[%d]", at, j)
			if v.Version == "" {
				return fmt.Errorf(`%s: "version" is empty; write the version number as a string, e.g. "13"`, vat)
			}
			if versions[v.Version] {
				return fmt.Errorf("%s: version %q of model %q is listed twice", vat, v.Version, m.Name)
			}
			versions[v.Version] = true
			if v.Status != "" && !validStatus(v.Status) {
				return fmt.Errorf("%s: status %q is not one of READY, PENDING_REGISTRATION, FAILED_REGISTRATION", vat, v.Status)
			}
			if sg := v.Signature; sg != nil {
				for _, part := range []struct {
					name string
					raw  json.RawMessage
				}{{"inputs", sg.Inputs}, {"outputs", sg.Outputs}} {
					var specs []map[string]any
					if len(part.raw) > 0 && (json.Unmarshal(part.raw, &specs) != nil || !allTyped(specs)) {
						return fmt.Errorf(`%s.signature.%s: write a list of column specs as MLflow logs them, e.g. [{"type": "double", "name": "amount", "required": true}]`, vat, part.name)
					}
				}
			}
			_, runID := v.defaults(m.Name)
			if prev, ok := runMetrics[runID]; ok && !sameMetrics(prev, v.Metrics) {
				return fmt.Errorf("%s: run_id %q is used by another version with different metrics; give each version its own run_id", vat, runID)
			}
			runMetrics[runID] = v.Metrics
		}
		for _, a := range sortedKeys(m.Aliases) {
			if reason := validateAlias(a); reason != "" {
				return fmt.Errorf("%s.aliases: %s", at, reason)
			}
			if !versions[m.Aliases[a]] {
				return fmt.Errorf("%s.aliases: alias %q points at version %q, which is not in \"versions\"; add it there or fix the alias", at, a, m.Aliases[a])
			}
		}
	}
	return nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// allTyped reports whether every spec names its type, as MLflow's specs do.
func allTyped(specs []map[string]any) bool {
	for _, sp := range specs {
		if t, _ := sp["type"].(string); t == "" {
			return false
		}
	}
	return true
}
