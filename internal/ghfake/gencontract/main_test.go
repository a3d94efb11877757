package main

import (
	"encoding/json"
	"testing"
)

// OpenAPI 3.0's nullable becomes JSON Schema's null type; component references
// point into $defs; documentation keywords go.
func TestConvertNullable(t *testing.T) {
	spec := map[string]any{"components": map[string]any{"schemas": map[string]any{
		"user": map[string]any{"type": "object", "description": "a user", "properties": map[string]any{
			"login": map[string]any{"type": "string", "example": "octocat"}}},
	}}}
	x := &extractor{spec: spec, defs: map[string]any{}}
	for _, tc := range []struct{ in, want string }{
		{`{"type":"string","nullable":true}`, `{"type":["string","null"]}`},
		{`{"type":"string","enum":["a","b"],"nullable":true}`, `{"enum":["a","b",null],"type":["string","null"]}`},
		{`{"allOf":[{"$ref":"#/components/schemas/user"}],"nullable":true}`, `{"anyOf":[{"allOf":[{"$ref":"#/$defs/user"}]},{"type":"null"}]}`},
		{`{"type":"object","properties":{"nullable":{"type":"boolean"}}}`, `{"properties":{"nullable":{"type":"boolean"}},"type":"object"}`},
	} {
		var in any
		if err := json.Unmarshal([]byte(tc.in), &in); err != nil {
			t.Fatal(err)
		}
		if got := string(x.schema(in)); got != tc.want {
			t.Errorf("%s\n got %s\nwant %s", tc.in, got, tc.want)
		}
	}
	if got, _ := json.Marshal(x.defs["user"]); string(got) != `{"properties":{"login":{"type":"string"}},"type":"object"}` {
		t.Errorf("$defs/user = %s", got)
	}
}
