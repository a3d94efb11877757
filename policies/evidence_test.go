package policies

import (
	"encoding/json"
	"strings"
	"testing"
)

// A kind other than the built-in ones records its evidence under its own
// key, beside ci; it survives a JSON round trip (the store keeps evidence as
// JSON) and reaches the policy as input.artifacts[_].evidence.<key>.
func TestEvidenceOfOtherKinds(t *testing.T) {
	ev := Evidence{CI: map[string]string{"build": "success"}, Kinds: map[string]any{"notebook": map[string]any{"cells": 3}}}
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"ci":{"build":"success"},"notebook":{"cells":3}}` {
		t.Errorf("encoded = %s", b)
	}
	var back Evidence
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.CI["build"] != "success" || back.Kinds["notebook"].(map[string]any)["cells"] != 3.0 {
		t.Errorf("round trip = %+v", back)
	}
	in, err := ParseInput(strings.NewReader(`{"action":"check","artifacts":[{"name":"r","kind":"notebook","evidence":{"ci":{},"notebook":{"cells":2}}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if in.Artifacts[0].Evidence.Kinds["notebook"] == nil {
		t.Errorf("parsed evidence = %+v", in.Artifacts[0].Evidence)
	}
	doc, err := json.Marshal(newDocument(in))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(doc), `"evidence":{"ci":{},"notebook":{"cells":2}}`) {
		t.Errorf("policy document = %s", doc)
	}
}

// Without other kinds the encoding is the plain struct's, so digests of
// existing inputs do not change; built-in keys cannot be taken by a kind,
// and unknown keys inside them stay errors.
func TestEvidenceEncodingIsStable(t *testing.T) {
	ev := Evidence{CI: map[string]string{}, Metrics: &MetricsEvidence{Metric: "auc", Passed: true}}
	got, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := json.Marshal(evidenceFields(ev))
	if string(got) != string(want) {
		t.Errorf("encoded %s, want the struct's %s", got, want)
	}
	if _, err := json.Marshal(Evidence{Kinds: map[string]any{"metrics": 1}}); err == nil || !strings.Contains(err.Error(), `"metrics"`) {
		t.Errorf("a kind recording under metrics: err = %v", err)
	}
	var e Evidence
	if err := json.Unmarshal([]byte(`{"ci":{},"metrics":{"metric":"auc","colour":"red"}}`), &e); err == nil {
		t.Error("an unknown key inside evidence.metrics was accepted")
	}
}
