package driver

import (
	"encoding/json"
	"fmt"

	dbtkind "github.com/conveyor-dev/conveyor/checks/kind/dbt"
	"github.com/conveyor-dev/conveyor/checks/kind/model"
)

// ModelRef names the candidate model version of a model artifact: the model
// kind's payload, which the mlflow driver reads.
type ModelRef = model.Ref

// DBTRef says which dbt project and models a dbt artifact deploys: the dbt
// kind's payload, which the dbt driver reads.
type DBTRef = dbtkind.Ref

// EncodeSpec renders a kind's payload as Target.Spec (nil for nil).
func EncodeSpec(v any) json.RawMessage {
	if v == nil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		// Payloads are plain structs defined by kinds; one that cannot be
		// encoded is a programming error worth failing loudly in tests.
		panic(fmt.Sprintf("driver: encode spec %T: %v", v, err))
	}
	return b
}

// DecodeSpec reads t's payload into v when t is of kind k; false when t is
// of another kind or carries no payload.
func (t Target) DecodeSpec(k string, v any) (bool, error) {
	if t.Kind != k || len(t.Spec) == 0 || string(t.Spec) == "null" {
		return false, nil
	}
	if err := json.Unmarshal(t.Spec, v); err != nil {
		return false, fmt.Errorf("the %s payload of %s is not what this driver reads: %w", k, t.Artifact, err)
	}
	return true, nil
}

// ModelRef is t's model payload, or nil when t is not a model (or its
// payload does not decode).
func (t Target) ModelRef() *ModelRef {
	var m ModelRef
	if ok, err := t.DecodeSpec("model", &m); !ok || err != nil {
		return nil
	}
	return &m
}

// DBTRef is t's dbt payload, or nil when t is not a dbt project.
func (t Target) DBTRef() *DBTRef {
	var d DBTRef
	if ok, err := t.DecodeSpec("dbt", &d); !ok || err != nil {
		return nil
	}
	return &d
}

// SpecVersion is what serves once a payload deploys when that is not the
// SHA: a payload that is a JSON object with a string "version" member (a
// model's) names it; "" otherwise.
func SpecVersion(spec json.RawMessage) string {
	var m struct {
		Version string `json:"version"`
	}
	if len(spec) == 0 || json.Unmarshal(spec, &m) != nil {
		return ""
	}
	return m.Version
}

// WithVersion returns spec with its "version" member set to v, for a
// rollback to an earlier version; a spec without one is returned as is.
func WithVersion(spec json.RawMessage, v string) json.RawMessage {
	var m map[string]json.RawMessage
	if len(spec) == 0 || json.Unmarshal(spec, &m) != nil {
		return spec
	}
	if _, ok := m["version"]; !ok {
		return spec
	}
	m["version"], _ = json.Marshal(v)
	out, err := json.Marshal(m)
	if err != nil {
		return spec
	}
	return out
}
