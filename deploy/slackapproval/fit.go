package slackapproval

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/conveyor-dev/conveyor/deploy"
)

// Slack refuses a whole message (invalid_blocks) when one block breaks a limit,
// which would leave a deployment without its approval card, or with a stale one
// whose buttons still work. Block Kit's limits, as @slack/types states them
// (dist/block-kit/blocks.d.ts): a section's text holds at most 3,000 characters,
// a header's 150. The card stays within them by listing what fits and pointing to
// the pull request for the rest.
const (
	maxSectionText = 3000
	maxHeaderText  = 150
	// maxMessageText is where chat.postMessage answers msg_too_long (a thread
	// reply is text only): "more than 40,000 characters" (method reference).
	maxMessageText = 40000
)

// fitLines is a section of a title and lines: every line when they fit, else as
// many as fit followed by how many more there are and where to read them.
func fitLines(title string, lines []string, prURL string) string {
	full := strings.Join(append([]string{title}, lines...), "\n")
	if title == "" {
		full = strings.Join(lines, "\n")
	}
	if utf8.RuneCountInString(full) <= maxSectionText {
		return full
	}
	var b strings.Builder
	b.WriteString(title)
	for i, line := range lines {
		rest := moreText(len(lines)-i, prURL)
		if utf8.RuneCountInString(b.String())+1+utf8.RuneCountInString(line)+utf8.RuneCountInString(rest) > maxSectionText {
			b.WriteString(rest)
			return strings.TrimPrefix(b.String(), "\n")
		}
		b.WriteString("\n" + line)
	}
	return strings.TrimPrefix(b.String(), "\n")
}

// fitSections spreads a title and entries (each one or more lines) over at
// most max sections, each within the section limit, the title on the
// first; entries that do not fit are counted, with where to read them, at
// the end of the last.
func fitSections(title string, entries []string, prURL string, max int) []string {
	var out []string
	head, cur, size := title, []string(nil), utf8.RuneCountInString(title)
	for i, e := range entries {
		n := 1 + utf8.RuneCountInString(e)
		if size+n <= maxSectionText || len(cur) == 0 && len(out)+1 < max {
			cur, size = append(cur, e), size+n
			continue
		}
		if len(out)+1 == max {
			return append(out, fitLines(head, append(cur, entries[i:]...), prURL))
		}
		out = append(out, fitLines(head, cur, prURL))
		head, cur, size = "", []string{e}, n
	}
	return append(out, fitLines(head, cur, prURL))
}

func moreText(n int, prURL string) string {
	if prURL == "" {
		return fmt.Sprintf("\n… and %d more (see the pull request)", n)
	}
	return fmt.Sprintf("\n… and %d more on <%s|the pull request>", n, prURL)
}

// fitText cuts one long text (a driver's failure, say) to the section limit and
// says where the whole of it is.
func fitText(md, prURL string) string {
	if utf8.RuneCountInString(md) <= maxSectionText {
		return md
	}
	tail := "\n… (cut to fit Slack; the full text is in the status comment on the pull request)"
	if prURL != "" {
		tail = fmt.Sprintf("\n… (cut to fit Slack; the full text is in the status comment on <%s|the pull request>)", prURL)
	}
	return clip(md, maxSectionText-utf8.RuneCountInString(tail)) + tail
}

// clip keeps at most n characters of s, never splitting a character; a clipped
// text ends in "…". It does not cut inside Slack markup's &amp;-style entities.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	// At a word boundary (deploy.Shorten), never inside an &amp;-style entity.
	cut := strings.TrimSuffix(deploy.Shorten(s, n), "…")
	if i := strings.LastIndexByte(cut, '&'); i >= 0 && !strings.Contains(cut[i:], ";") {
		cut = cut[:i]
	}
	return cut + "…"
}
