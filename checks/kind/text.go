package kind

import (
	"fmt"
	"strings"
)

// Plural says "1 file" or "3 files".
func Plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// Short is a SHA's first seven characters.
func Short(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}

// Icon is the symbol shown for a stage result.
func Icon(result string) string {
	switch result {
	case Pass:
		return "✅"
	case Warn:
		return "⚠️"
	case Info:
		return "ℹ️"
	case Wait:
		return "⏳"
	case Fail:
		return "❌"
	case Error:
		return "⛔"
	}
	return ""
}

// WriteList writes up to limit items as a markdown list of code spans.
func WriteList(b *strings.Builder, items []string, limit int) {
	if len(items) == 0 {
		b.WriteString("(none)\n")
		return
	}
	for i, it := range items {
		if i == limit {
			fmt.Fprintf(b, "- … and %d more\n", len(items)-limit)
			break
		}
		fmt.Fprintf(b, "- `%s`\n", it)
	}
}

// Cell makes s safe inside a markdown table cell or list line.
func Cell(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	return strings.ReplaceAll(s, "|", `\|`)
}

// NotEvaluated is Quality while Validate has not passed.
var NotEvaluated = Stage{Result: Info, Summary: "not evaluated until Validate passes"}

// List renders a list as the governance diff shows it: "[a, b]", "" when
// empty.
func List(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return "[" + strings.Join(s, ", ") + "]"
}
