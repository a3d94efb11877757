package driver

import (
	"encoding/json"
	"testing"
)

// A payload's "version" member is what serves after the deploy, and a
// rollback swaps it; payloads without one are left as they are.
func TestSpecVersion(t *testing.T) {
	spec := EncodeSpec(&ModelRef{Registry: "main", Name: "fraud", Version: "14"})
	if v := SpecVersion(spec); v != "14" {
		t.Errorf("SpecVersion = %q", v)
	}
	back := WithVersion(spec, "13")
	tg := Target{Kind: "model", Spec: back}
	if m := tg.ModelRef(); m == nil || m.Version != "13" || m.Name != "fraud" || m.Registry != "main" {
		t.Errorf("rolled back ref = %+v", m)
	}
	dbt := EncodeSpec(&DBTRef{Project: "analytics", Select: []string{"orders"}})
	if SpecVersion(dbt) != "" || string(WithVersion(dbt, "13")) != string(dbt) {
		t.Error("a payload without a version gained one")
	}
	if SpecVersion(nil) != "" || WithVersion(nil, "1") != nil {
		t.Error("an empty payload")
	}
}

// Drivers read a payload only of their kind, and a payload that does not
// decode is reported, not half-read.
func TestDecodeSpec(t *testing.T) {
	model := Target{Artifact: "fraud", Kind: "model", Spec: EncodeSpec(&ModelRef{Name: "fraud", Version: "1"})}
	if model.DBTRef() != nil {
		t.Error("a model target read as dbt")
	}
	if (Target{Kind: "app"}).ModelRef() != nil {
		t.Error("an app target has a model ref")
	}
	bad := Target{Artifact: "fraud", Kind: "model", Spec: json.RawMessage(`{"name": 7}`)}
	var m ModelRef
	if ok, err := bad.DecodeSpec("model", &m); ok || err == nil {
		t.Errorf("undecodable payload: ok=%v err=%v", ok, err)
	}
	if bad.ModelRef() != nil {
		t.Error("an undecodable payload gave a model ref")
	}
}
