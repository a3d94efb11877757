package driver

import (
	"strings"
	"testing"
)

func TestProgressSplitsLinesAndKeepsTail(t *testing.T) {
	var got []string
	p := newProgress(func(l string) { got = append(got, l) })
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
