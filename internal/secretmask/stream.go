package secretmask

import (
	"bytes"
	"sort"
)

// Stream masks text that arrives in chunks (a program's output) and hands
// it out as masked lines. A line is masked whole once its newline arrives,
// so a secret split between two chunks is still found. A line longer than
// maxLine is handed out in pieces, cut only where no secret can straddle
// the cut: the stream keeps back enough of the unfinished line to hold any
// secret whole and moves a cut that would fall inside one.
type Stream struct {
	m       *Masker
	maxLine int
	emit    func(line string, complete bool)
	buf     []byte
}

// NewStream returns a Stream masking with m (nil: token shapes only) that
// calls emit with each masked line (without its newline; complete is false
// for a piece of a longer line and for an unterminated last line).
func NewStream(m *Masker, maxLine int, emit func(line string, complete bool)) *Stream {
	return &Stream{m: m, maxLine: max(maxLine, 1), emit: emit}
}

// Write takes the next chunk. It never fails.
func (s *Stream) Write(b []byte) (int, error) {
	s.buf = append(s.buf, b...)
	for {
		i := bytes.IndexByte(s.buf, '\n')
		if i < 0 {
			break
		}
		s.emit(s.m.String(string(s.buf[:i])), true)
		s.buf = s.buf[i+1:]
	}
	for len(s.buf) > s.maxLine+s.m.hold() {
		cut := s.safeCut(string(s.buf), s.maxLine)
		s.emit(s.m.String(string(s.buf[:cut])), false)
		s.buf = s.buf[cut:]
	}
	if len(s.buf) == 0 {
		s.buf = nil // let a large chunk's array go
	}
	return len(b), nil
}

// Flush hands out an unterminated last line.
func (s *Stream) Flush() {
	if len(s.buf) > 0 {
		s.emit(s.m.String(string(s.buf)), false)
		s.buf = nil
	}
}

// safeCut returns a cut point at or before want (after it only when a
// secret starts the buffer) that no masked span of buf straddles.
// Everything before buf's last hold() bytes is safe to judge: a secret
// starting there fits in buf whole, so it is found.
func (s *Stream) safeCut(buf string, want int) int {
	spans := s.m.spans(buf)
	sort.Slice(spans, func(i, j int) bool { return spans[i][0] < spans[j][0] })
	// Merge overlapping spans so that one move settles the cut.
	var merged [][2]int
	for _, sp := range spans {
		if n := len(merged); n > 0 && sp[0] < merged[n-1][1] {
			merged[n-1][1] = max(merged[n-1][1], sp[1])
			continue
		}
		merged = append(merged, sp)
	}
	for _, sp := range merged {
		if sp[0] < want && want < sp[1] {
			if sp[0] > 0 {
				return sp[0]
			}
			return sp[1]
		}
	}
	return want
}
