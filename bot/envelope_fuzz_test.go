package bot

import (
	"bytes"
	"encoding/json"
	"testing"
	"unicode/utf8"
)

// FuzzParseEnvelope checks the intake's JSON check against encoding/json: a
// body is accepted exactly when it is a valid JSON object, and the envelope
// fields read from it are the ones encoding/json reads (when they have the
// types GitHub sends, and each key appears once, in GitHub's lower case).
func FuzzParseEnvelope(f *testing.F) {
	for _, s := range []string{
		`{"action":"opened","installation":{"id":42},"repository":{"full_name":"acme/shop"},"sender":{"login":"dev"}}`,
		`{"action":"created","comment":{"body":"/deploy staging \u00e9 \"x\""},"installation":{"id":1}}`,
		`{}`, `[]`, `"x"`, `1`, `null`, `{"action":`, `{"a":1,}`, `{"a":01}`, `{"a":"\x"}`, "{\"a\":\"\xff\"}",
		`{"installation":{"id":1e3}}`, `{"action":"a","action":"b"}`, ` {"action" : "spaced" } `, `{"a":1}{"b":2}`,
		// Invalid UTF-8 inside strings: encoding/json reads each bad byte as
		// U+FFFD, and so must the intake (PostgreSQL refuses the raw bytes).
		"{\"action\":\"\x84\"}", "{\"action\":\"a\x84\x85b\"}", "{\"action\":\"\xed\xa0\x80\"}", `{"action":"\ud800"}`,
		"{\"action\":\"\xf0\x9f\x98\"}", `{"action":"\u0000"}`,
		"{\"action\":\"opened\",\"repository\":{\"full_name\":\"acme/\xff\"}}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		env, err := parseEnvelope(body)
		var obj map[string]json.RawMessage
		want := json.Valid(body) && json.Unmarshal(body, &obj) == nil && obj != nil
		if (err == nil) != want {
			t.Fatalf("parseEnvelope(%q) error = %v, encoding/json says valid object = %v", body, err, want)
		}
		// encoding/json also matches keys case-insensitively ("ACtion");
		// GitHub's keys are lower case and the intake matches them exactly.
		if n := bytes.Count(body, []byte(`"action"`)); err != nil || n > 1 || n != bytes.Count(bytes.ToLower(body), []byte(`"action"`)) {
			return
		}
		var std struct {
			Action string `json:"action"`
		}
		if json.Unmarshal(body, &std) == nil && std.Action != env.Action {
			t.Fatalf("action = %q, encoding/json reads %q from %q", env.Action, std.Action, body)
		}
		if !utf8.ValidString(env.Action) || !utf8.ValidString(env.Repository) || !utf8.ValidString(env.SenderLogin) {
			t.Fatalf("envelope %+v from %q is not valid UTF-8", env, body)
		}
	})
}
