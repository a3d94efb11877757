// Package commands owns the PR comment commands (/deploy, /plan, /rollback,
// /approve, /reject, /cancel, /lock, /unlock, /status, /help): their grammar,
// their usage and help text, and what each command does. The grammar is pure
// syntax: it must not check names against a repository's configuration or
// decide who may do what; handlers validate environments and artifacts, and
// the policy decides.
package commands

import (
	lev "github.com/agnivade/levenshtein"

	"fmt"
	"strings"
	"unicode/utf8"
)

// MaxCommandsPerComment is how many commands one comment may hold.
const MaxCommandsPerComment = 10

// Command is one parsed command line of a comment.
type Command struct {
	Name      string   // deploy, plan, rollback, approve, reject, cancel, lock, unlock, status or help
	Env       string   // environment name; empty when the command takes none or it was left out
	Artifacts []string // artifact names; empty means "every touched artifact"
	Reason    string   // reject and lock only; quotes removed
	Line      int      // 1-based line in the comment body
	Raw       string   // the line as written, leading and trailing space trimmed
}

// ParseError is a command line that could not be parsed. Message says what is
// wrong and what to write instead; Usage is the command's usage line (empty
// when the error is not about one command).
type ParseError struct {
	Line    int
	Raw     string // an excerpt of the line (see Excerpt)
	Message string
	Usage   string
	Command string // the command the line names; "" for a typo or a line past the limit
}

// Error renders the error as one line for logs and replies.
func (e *ParseError) Error() string {
	s := fmt.Sprintf("line %d: %s", e.Line, e.Message)
	if e.Usage != "" {
		s += " (usage: " + e.Usage + ")"
	}
	return s
}

// foreignCommands are slash commands of other well-known bots (Prow, Mergify,
// Dependabot, ...). They are never reported as typos of ours even when they
// are close: "/hold" is not a misspelled "/help", nor "/retest" of "/reject".
var foreignCommands = map[string]bool{
	"hold": true, "unhold": true, "retest": true, "test": true, "lgtm": true,
	"assign": true, "unassign": true, "cc": true, "uncc": true, "label": true,
	"close": true, "reopen": true, "lint": true, "ok-to-test": true, "kind": true,
	"priority": true, "area": true, "meow": true, "woof": true, "shrug": true,
	"rebase": true, "merge": true, "review": true, "deploy-preview": true,
}

// Bounds on what one comment may make Conveyor read. Anything beyond them is
// an error (or, for the body, simply not read), so the work a comment causes
// does not grow with its size.
const (
	// MaxCommandLines is how many slash lines (commands, typos and lines
	// over MaxCommandsPerComment) are read; the rest are one error.
	MaxCommandLines = 2 * MaxCommandsPerComment
	// MaxArguments is how many names one command may take.
	MaxArguments = 20
	// MaxNameBytes bounds one environment or artifact name.
	MaxNameBytes = 100
	// MaxReasonBytes bounds a /lock or /reject reason.
	MaxReasonBytes = 500
	// ExcerptBytes bounds how much of a line a reply quotes.
	ExcerptBytes = 120
)

// ParseComment parses every command line of a comment body. A command line
// is a line of a top-level paragraph, as GitHub renders it, that starts
// (after optional spaces) with "/" and a known command name, matched
// case-insensitively (see paragraphLines: code, quotes, HTML, lists and
// headings never hold commands). Slash lines that are not commands, such as
// paths, are ignored; a slash word within two edits of a command name is
// reported as a typo. At most MaxCommandsPerComment commands are returned;
// the rest are errors. Only the first MaxBodyBytes of body and the first
// MaxCommandLines slash lines are read.
func ParseComment(body string) (cmds []Command, errs []*ParseError) {
	seen := 0
	for _, pl := range paragraphLines(body) {
		lineNo := pl.no
		trimmed := strings.TrimSpace(pl.text)
		word, args, ok := slashWord(trimmed)
		if !ok {
			continue
		}
		spec, known := lookup(word)
		var typo *ParseError
		if !known {
			if typo = typoError(word, lineNo, trimmed); typo == nil {
				continue
			}
		}
		if seen == MaxCommandLines {
			errs = append(errs, &ParseError{
				Line: lineNo, Raw: Excerpt(trimmed, ExcerptBytes),
				Message: fmt.Sprintf("Conveyor reads at most %d command lines of a comment; this line and the ones after it were not read", MaxCommandLines),
			})
			break
		}
		seen++
		if typo != nil {
			errs = append(errs, typo)
			continue
		}
		if len(cmds) == MaxCommandsPerComment {
			errs = append(errs, &ParseError{
				Line: lineNo, Raw: Excerpt(trimmed, ExcerptBytes), Command: spec.Name,
				Message: fmt.Sprintf("a comment may hold at most %d commands; put /%s and the ones after it in another comment", MaxCommandsPerComment, spec.Name),
			})
			continue
		}
		cmd, err := spec.parse(&argScanner{s: args})
		if err != nil {
			errs = append(errs, &ParseError{Line: lineNo, Raw: Excerpt(trimmed, ExcerptBytes), Command: spec.Name,
				Message: "/" + spec.Name + ": " + err.Error(), Usage: spec.Usage})
			continue
		}
		cmd.Name, cmd.Line, cmd.Raw = spec.Name, lineNo, trimmed
		cmds = append(cmds, cmd)
	}
	return cmds, errs
}

// Excerpt returns s when it has at most max bytes, and otherwise its start
// cut at the last word boundary within max bytes (mid-word only when the
// first word is longer), followed by "…". Replies quote user text through it.
func Excerpt(s string, max int) string {
	if len(s) <= max {
		return s
	}
	cut := s[:max]
	for len(cut) > 0 && !utf8.ValidString(cut) {
		cut = cut[:len(cut)-1] // never split a character
	}
	if i := strings.LastIndexAny(cut, " \t"); i > 0 {
		cut = cut[:i]
	}
	return strings.TrimRight(cut, " \t") + "…"
}

// slashWord splits "/word rest" into the word and the rest. It reports false
// unless the line starts with "/" followed by a word of letters, digits, "-"
// or "_" that ends the line or is followed by a space; so "/usr/bin/env" and
// "/deploy," are not command lines.
func slashWord(line string) (word, rest string, ok bool) {
	if !strings.HasPrefix(line, "/") {
		return "", "", false
	}
	end := 1
	for end < len(line) && isWordByte(line[end]) {
		end++
	}
	if end == 1 {
		return "", "", false
	}
	if end < len(line) && line[end] != ' ' && line[end] != '\t' {
		return "", "", false
	}
	return line[1:end], line[end:], true
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}

// typoError returns a "did you mean" error when word is close to a command
// name, and nil for slash words that are simply not meant for Conveyor.
func typoError(word string, line int, raw string) *ParseError {
	w := strings.ToLower(word)
	if foreignCommands[w] {
		return nil
	}
	best, bestDist := "", 3
	for _, s := range commandSpecs {
		// A distance as large as the word itself means nothing of it was
		// kept ("/ok" is not "/lock").
		if d := levenshtein(w, s.Name); d < bestDist && d < len(w) {
			best, bestDist = s.Name, d
		}
	}
	if best == "" {
		return nil
	}
	spec, _ := lookup(best)
	return &ParseError{
		Line: line, Raw: Excerpt(raw, ExcerptBytes),
		Message: fmt.Sprintf("unknown command /%s; did you mean /%s?", word, best),
		Usage:   spec.Usage,
	}
}

// levenshtein is the edit distance between two strings.
func levenshtein(a, b string) int { return lev.ComputeDistance(a, b) }

// argScanner reads a command's arguments left to right. Names are
// whitespace-separated words; a reason is the rest of the line, either one
// quoted string ("..." or '...') or unquoted text taken verbatim.
type argScanner struct {
	s string
}

// word returns the next whitespace-separated word, or "" at the end.
func (a *argScanner) word() string {
	a.s = strings.TrimLeft(a.s, " \t")
	end := strings.IndexAny(a.s, " \t")
	if end < 0 {
		end = len(a.s)
	}
	w := a.s[:end]
	a.s = a.s[end:]
	return w
}

// done reports whether no arguments are left.
func (a *argScanner) done() bool {
	return strings.TrimSpace(a.s) == ""
}

// reason consumes the rest of the line as a reason.
func (a *argScanner) reason() (string, error) {
	rest := strings.TrimSpace(a.s)
	a.s = ""
	if rest == "" {
		return "", nil
	}
	if len(rest) > MaxReasonBytes {
		return "", fmt.Errorf("the reason is %d bytes long; keep it under %d", len(rest), MaxReasonBytes)
	}
	q := rest[0]
	if q != '"' && q != '\'' {
		return rest, nil
	}
	end := strings.IndexByte(rest[1:], q)
	if end < 0 {
		return "", fmt.Errorf("the reason opens a %c quote but never closes it; end it with %c or leave the quotes off", q, q)
	}
	inner, after := rest[1:1+end], strings.TrimSpace(rest[2+end:])
	if after != "" {
		return "", fmt.Errorf("text %q follows the quoted reason; put the whole reason inside the quotes", after)
	}
	if strings.TrimSpace(inner) == "" {
		return "", fmt.Errorf("the quoted reason is empty; write a reason inside the quotes or leave it out")
	}
	return strings.TrimSpace(inner), nil
}

// env consumes and validates an environment name. Empty means none was given.
func (a *argScanner) env() (string, error) {
	w := a.word()
	if w == "" {
		return "", nil
	}
	if len(w) > MaxNameBytes {
		return "", fmt.Errorf("an environment name is at most %d bytes; %q is longer", MaxNameBytes, Excerpt(w, 32))
	}
	if !validName(w, true) {
		return "", nameError("environment", w, "[a-z0-9][a-z0-9_-]*", true)
	}
	return w, nil
}

// artifacts consumes the remaining words as artifact names.
func (a *argScanner) artifacts() ([]string, error) {
	var names []string
	seen := map[string]bool{}
	for w := a.word(); w != ""; w = a.word() {
		if len(names) == MaxArguments {
			return nil, fmt.Errorf("a command names at most %d artifacts; split them over several commands", MaxArguments)
		}
		if len(w) > MaxNameBytes {
			return nil, fmt.Errorf("an artifact name is at most %d bytes; %q is longer", MaxNameBytes, Excerpt(w, 32))
		}
		if !validName(w, false) {
			return nil, nameError("artifact", w, "[a-z0-9][a-z0-9-]*", false)
		}
		if seen[w] {
			return nil, fmt.Errorf("artifact %q is listed twice; name each artifact once", w)
		}
		seen[w] = true
		names = append(names, w)
	}
	return names, nil
}

// validName checks [a-z0-9][a-z0-9-]*, also allowing "_" for environments.
func validName(s string, underscore bool) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case i > 0 && (c == '-' || (underscore && c == '_')):
		default:
			return false
		}
	}
	return s != ""
}

func nameError(kind, got, pattern string, underscore bool) error {
	if lower := strings.ToLower(got); lower != got && validName(lower, underscore) {
		return fmt.Errorf("%s name %q must be lowercase; write %q", kind, got, lower)
	}
	return fmt.Errorf("%q is not a valid %s name; names match %s, like staging or web-api", got, kind, pattern)
}
