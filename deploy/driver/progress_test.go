package driver

import (
	"strings"
	"testing"

	"github.com/conveyor-dev/conveyor/internal/secretmask"
)

func TestProgressSplitsLinesAndKeepsTail(t *testing.T) {
	var got []string
	p := newProgress(func(l string) { got = append(got, l) }, nil)
	p.Write([]byte("one\ntw"))
	p.Write([]byte("o\r\nthree"))
	p.Flush()
	if strings.Join(got, "|") != "one|two|three" {
		t.Errorf("lines = %q", got)
	}
	big := strings.Repeat("y", 100) + "\n"
	for i := 0; i < 100; i++ {
		p.Write([]byte(big))
	}
	if out := p.Output(); len(out) != tailSize || !strings.HasSuffix(out, big) {
		t.Errorf("tail is %d bytes; want the last %d", len(out), tailSize)
	}
	if last := p.LastLines(2); last != strings.Repeat("y", 100)+"\n"+strings.Repeat("y", 100) {
		t.Errorf("LastLines(2) = %q", last)
	}
}

func TestErrorMessageNamesDriverArtifactAndHint(t *testing.T) {
	e := &Error{Driver: "web-argo", Type: "exec", Action: "deploy", Artifact: "web", Environment: "staging", Err: errBoom, Hint: "fix it"}
	if got := e.Error(); got != `driver "web-argo" (exec): deploy of web to staging failed: boom; fix it` {
		t.Errorf("Error() = %q", got)
	}
}

var errBoom = errorString("boom")

type errorString string

func (e errorString) Error() string { return string(e) }

// A secret the server knows is masked in progress lines, the kept tail and
// the lines quoted in errors, also when it arrives split over two writes
// (a pipe hands output over in arbitrary chunks).
func TestProgressMasksSecretsSplitAcrossWrites(t *testing.T) {
	const secret = "tok-3b9f1c2d7e"
	var got []string
	p := newProgress(func(l string) { got = append(got, l) }, secretmask.New(secret))
	p.Write([]byte("+ deploy --token tok-3b9"))
	p.Write([]byte("f1c2d7e\nok\n"))
	p.Printf("retrying with %s", secret)
	for where, text := range map[string]string{"lines": strings.Join(got, "\n"), "tail": p.Output(), "last lines": p.LastLines(5)} {
		if strings.Contains(text, "3b9f1c") || !strings.Contains(text, "--token ***") || !strings.Contains(text, "retrying with ***") {
			t.Errorf("%s = %q", where, text)
		}
	}
}
