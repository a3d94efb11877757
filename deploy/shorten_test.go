package deploy

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// TestShortenAtWordBoundaries: a policy warning used to be cut mid-word in
// the deployment status ("...the model evaluation d..."). Texts are now
// shortened after a whole word, and the status comment keeps the full line.
func TestShortenAtWordBoundaries(t *testing.T) {
	warn := "allow, with warnings: production serves fraud-detector v13 and this deploys v14, which the model evaluation did not compare with production because the alias is missing"
	got := firstLine(warn)
	if utf8.RuneCountInString(got) > 140 || !strings.HasSuffix(got, "…") {
		t.Fatalf("firstLine = %q (%d characters), want at most 140 ending in …", got, utf8.RuneCountInString(got))
	}
	if kept := strings.TrimSuffix(got, "…"); !strings.HasPrefix(warn, kept) || warn[len(kept)] != ' ' {
		t.Errorf("cut inside a word: %q", got)
	}
	if got := Shorten("short enough", 140); got != "short enough" {
		t.Errorf("a short text was changed: %q", got)
	}
	if got := Shorten(strings.Repeat("x", 200), 10); got != strings.Repeat("x", 9)+"…" {
		t.Errorf("one long word: %q", got)
	}
	// The status comment shows the decision in full.
	d := &Deployment{ID: 1, SHA: "4f2a9c1e", Environment: "production", Mode: "deploy", State: StateSucceeded, Steps: []int{100}, Requester: "alice", Decision: warn}
	if c := renderComment(d, ""); !strings.Contains(c, "Policy: "+warn+"\n") {
		t.Errorf("the comment shortened the decision:\n%s", c)
	}
}
