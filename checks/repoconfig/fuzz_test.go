package repoconfig

import (
	"strings"
	"testing"
)

// FuzzParse checks that no input panics, that every problem has a position
// and a message, and that a config without problems keeps its invariants.
func FuzzParse(f *testing.F) {
	f.Add([]byte("version: 1\nartifacts:\n  web: {kind: app, paths: [\"services/web/**\"]}\n"))
	f.Add([]byte("version: 1\nenvironments:\n  a: {requires: [b]}\n  b: {requires: [a]}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, probs := Parse(data)
		for _, p := range probs {
			if p.Line < 1 || p.Message == "" || p.File != Path {
				t.Fatalf("problem without position or message: %+v", p)
			}
		}
		if len(probs) > 0 || c == nil {
			return
		}
		for _, a := range c.Artifacts {
			if !nameRE.MatchString(a.Name) || a.Line < 1 {
				t.Fatalf("accepted artifact %+v", a)
			}
		}
		for _, e := range c.Environments {
			if n := len(e.Rollout.Steps); n > 0 && e.Rollout.Steps[n-1] != 100 {
				t.Fatalf("accepted rollout %v", e.Rollout.Steps)
			}
			if e.Approvals.Count > 0 && len(e.Approvals.From) == 0 {
				t.Fatalf("accepted approvals without from: %+v", e.Approvals)
			}
		}
		NewClassifier(c).Classify([]string{"a/b", "services/web/x", strings.Repeat("x/", 20)})
	})
}
