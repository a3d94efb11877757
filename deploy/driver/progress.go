package driver

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
)

// tailSize is how much output a Result keeps.
const tailSize = 4 << 10

// maxLine caps one logged line so a binary blob cannot flood the log.
const maxLine = 1 << 10

// progress forwards lines to a Logger and keeps the last tailSize bytes of
// everything it saw. It is an io.Writer so command output can be piped in;
// writes are split into lines. It is safe for concurrent use.
type progress struct {
	mu      sync.Mutex
	log     Logger
	partial []byte
	tail    []byte
	lines   []string // the last few complete lines, for error messages
}

func newProgress(log Logger) *progress { return &progress{log: log} }

// Write splits p into lines, logging each complete one.
func (p *progress) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.keep(b)
	p.partial = append(p.partial, b...)
	for {
		i := bytes.IndexByte(p.partial, '\n')
		if i < 0 {
			break
		}
		p.emit(string(p.partial[:i]))
		p.partial = p.partial[i+1:]
	}
	if len(p.partial) > maxLine {
		p.emit(string(p.partial))
		p.partial = p.partial[:0]
	}
	return len(b), nil
}

// Printf logs one formatted line.
func (p *progress) Printf(format string, a ...any) {
	line := fmt.Sprintf(format, a...)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.keep([]byte(line + "\n"))
	p.emit(line)
}

// Flush logs a trailing line that had no newline.
func (p *progress) Flush() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.partial) > 0 {
		p.emit(string(p.partial))
		p.partial = nil
	}
}

// Output returns the kept tail.
func (p *progress) Output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return string(p.tail)
}

// LastLines returns up to n of the last lines, joined for an error message.
func (p *progress) LastLines(n int) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	l := p.lines
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}

func (p *progress) keep(b []byte) {
	p.tail = append(p.tail, b...)
	if len(p.tail) > tailSize {
		p.tail = append([]byte(nil), p.tail[len(p.tail)-tailSize:]...)
	}
}

func (p *progress) emit(line string) {
	line = strings.TrimRight(line, "\r")
	if len(line) > maxLine {
		line = line[:maxLine] + "…"
	}
	p.lines = append(p.lines, line)
	if len(p.lines) > 20 {
		p.lines = p.lines[len(p.lines)-20:]
	}
	if p.log != nil {
		p.log(line)
	}
}
