package bot

import (
	"encoding/json"
	"fmt"
	"testing"
)

// githubShapedPayload is a pull_request delivery of about the size GitHub
// sends (25 KB): the envelope keys come before and after a large object.
func githubShapedPayload() []byte {
	links := map[string]string{}
	for i := 0; i < 300; i++ {
		links[fmt.Sprintf("url_%03d", i)] = fmt.Sprintf("https://api.github.com/repos/acme/shop/things/%d{/sha}", i)
	}
	b, _ := json.Marshal(map[string]any{
		"action":       "synchronize",
		"number":       7,
		"pull_request": map[string]any{"number": 7, "head": map[string]any{"sha": "abc", "repo": links}, "base": map[string]any{"repo": links}},
		"repository":   map[string]any{"full_name": "acme/shop", "owner": map[string]any{"login": "acme"}},
		"sender":       map[string]any{"login": "dev"},
		"installation": map[string]any{"id": 42},
	})
	return b
}

func TestParseEnvelopeGitHubShape(t *testing.T) {
	env, err := parseEnvelope(githubShapedPayload())
	if err != nil {
		t.Fatal(err)
	}
	want := envelope{Action: "synchronize", InstallationID: 42, Repository: "acme/shop", SenderLogin: "dev"}
	if env != want {
		t.Fatalf("envelope = %+v, want %+v", env, want)
	}
}

// BenchmarkParseEnvelope measures the intake's JSON check and envelope read
// on a GitHub-sized payload (go test -bench ParseEnvelope ./bot).
func BenchmarkParseEnvelope(b *testing.B) {
	body := githubShapedPayload()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := parseEnvelope(body); err != nil {
			b.Fatal(err)
		}
	}
}
