package commands

import (
	"bytes"
	"sort"
	"strings"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/text"
)

// MaxBodyBytes is how much of a comment body is read for commands. GitHub
// allows 65,536 characters in a comment; anything beyond the first 64 KiB is
// not looked at, so a huge body costs no more than a full one.
const MaxBodyBytes = 64 << 10

// paragraphLine is one source line that begins a line of text GitHub renders
// in a top-level paragraph.
type paragraphLine struct {
	no   int    // 1-based line in the comment body
	text string // the whole source line, "\r" removed
}

// mdParser is goldmark's CommonMark parser without extensions: GitHub's
// renderer is CommonMark plus GFM extensions (tables, strikethrough, task
// lists, autolinks), none of which can turn a non-paragraph line into a
// paragraph line that starts with "/". A Parser is safe for concurrent use.
var mdParser = goldmark.DefaultParser()

// paragraphLines returns the lines of body where a command may be written:
// lines whose first non-space byte starts a plain text run of a paragraph
// that is a direct child of the document. Everything else GitHub renders as
// something other than a paragraph line of its own is left out, following
// the CommonMark spec (https://spec.commonmark.org/0.31.2/): fenced and
// indented code blocks (4.4, 4.5), HTML blocks including multi-line comments
// (4.6), block quotes (5.1) and their lazy continuation lines, list items
// (5.2, 5.3), headings (4.2, 4.3), and inside a paragraph every line that
// begins within a code span (6.1), raw HTML such as an inline comment (6.6),
// a link or emphasis. body is cut to MaxBodyBytes at a line end first.
func paragraphLines(body string) []paragraphLine {
	src := []byte(cutBody(body))
	doc := mdParser.Parse(text.NewReader(src))
	starts := lineStarts(src)
	var out []paragraphLine
	for n := doc.FirstChild(); n != nil; n = n.NextSibling() {
		if n.Kind() != ast.KindParagraph {
			continue
		}
		for c := n.FirstChild(); c != nil; c = c.NextSibling() {
			t, ok := c.(*ast.Text)
			if !ok {
				continue
			}
			at := t.Segment.Start
			if at >= len(src) || src[at] != '/' {
				continue
			}
			no := sort.Search(len(starts), func(i int) bool { return starts[i] > at }) // line index + 1
			lineStart := starts[no-1]
			if len(bytes.TrimLeft(src[lineStart:at], " \t")) != 0 {
				continue // the text run begins mid-line
			}
			end := bytes.IndexByte(src[lineStart:], '\n')
			if end < 0 {
				end = len(src) - lineStart
			}
			out = append(out, paragraphLine{no: no, text: string(bytes.TrimSuffix(src[lineStart:lineStart+end], []byte("\r")))})
		}
	}
	return out
}

// cutBody keeps the first MaxBodyBytes of body, ending at the last line end
// within them, so no command is read from a line that was cut short.
func cutBody(body string) string {
	if len(body) <= MaxBodyBytes {
		return body
	}
	cut := body[:MaxBodyBytes]
	if i := strings.LastIndexByte(cut, '\n'); i >= 0 {
		return cut[:i+1]
	}
	return ""
}

// lineStarts returns the offset of every line's first byte.
func lineStarts(src []byte) []int {
	starts := []int{0}
	for i, c := range src {
		if c == '\n' {
			starts = append(starts, i+1)
		}
	}
	return starts
}
