package driver

import (
	"fmt"
	"strings"
	"sync"

	"github.com/conveyor-dev/conveyor/internal/secretmask"
)

// tailSize is how much output a Result keeps.
const tailSize = 4 << 10

// maxLine caps one logged line so a binary blob cannot flood the log.
const maxLine = 1 << 10

// progress forwards lines to a Logger and keeps the last tailSize bytes of
// everything it saw. It is an io.Writer so command output can be piped in;
// writes are split into lines. Every line is masked (secretmask) before it
// is logged or kept, so nothing a driver passes on — progress lines, the
// Result's Output, the last lines quoted in an error — carries a secret the
// server knows or a token-shaped string. It is safe for concurrent use.
type progress struct {
	mu     sync.Mutex
	log    Logger
	mask   *secretmask.Masker
	stream *secretmask.Stream
	tail   []byte
	lines  []string // the last few complete lines, for error messages
}

func newProgress(log Logger, mask *secretmask.Masker) *progress {
	p := &progress{log: log, mask: mask}
	p.stream = secretmask.NewStream(mask, maxLine, func(line string, complete bool) {
		line = strings.TrimRight(line, "\r")
		if complete {
			p.keep([]byte(line + "\n"))
		} else {
			p.keep([]byte(line))
		}
		p.emit(line)
	})
	return p
}

// Write splits b into lines, logging each complete one. A line longer than
// maxLine is logged in pieces.
func (p *progress) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stream.Write(b)
}

// Printf logs one formatted line.
func (p *progress) Printf(format string, a ...any) {
	line := p.mask.String(fmt.Sprintf(format, a...))
	p.mu.Lock()
	defer p.mu.Unlock()
	p.keep([]byte(line + "\n"))
	p.emit(line)
}

// Flush logs a trailing line that had no newline.
func (p *progress) Flush() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stream.Flush()
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
