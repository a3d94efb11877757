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

// A response listing several JSON media types is described by its
// application/json schema, whatever the map order (GitHub's bad_request:
// basic-error for application/json, scim-error for application/scim+json);
// without application/json, the first +json type by name.
func TestJSONSchemaPrefersApplicationJSON(t *testing.T) {
	resp := map[string]any{"content": map[string]any{
		"application/scim+json": map[string]any{"schema": "scim-error"},
		"application/json":      map[string]any{"schema": "basic-error"},
		"text/html":             map[string]any{"schema": "page"},
	}}
	for range 50 {
		if got := jsonSchemaOf(resp); got != "basic-error" {
			t.Fatalf("schema = %v, want basic-error", got)
		}
	}
	only := map[string]any{"content": map[string]any{
		"application/vnd.github.v3+json": map[string]any{"schema": "b"},
		"application/scim+json":          map[string]any{"schema": "a"},
	}}
	for range 50 {
		if got := jsonSchemaOf(only); got != "a" {
			t.Fatalf("schema = %v, want the first +json type by name", got)
		}
	}
	if got := jsonSchemaOf(map[string]any{"content": map[string]any{"text/plain": map[string]any{"schema": "x"}}}); got != nil {
		t.Fatalf("no JSON type: %v", got)
	}
}
