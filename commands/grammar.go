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
	Raw     string
	Message string
	Usage   string
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

// ParseComment parses every command line of a comment body. A command line
// starts (after optional spaces) with "/" and a known command name, matched
// case-insensitively. Lines inside fenced code blocks and quoted lines ("> ")
// are ignored, as are slash lines that are not commands, such as paths. A
// slash word within two edits of a command name is reported as a typo.
// At most MaxCommandsPerComment commands are returned; the rest are errors.
func ParseComment(body string) (cmds []Command, errs []*ParseError) {
	var fence fenceState
	for i, line := range strings.Split(body, "\n") {
		lineNo := i + 1
		line = strings.TrimSuffix(line, "\r")
		if fence.inside(line) {
			continue
		}
		trimmed := strings.TrimSpace(line)
		word, args, ok := slashWord(trimmed)
		if !ok {
			continue
		}
		spec, known := lookup(word)
		if !known {
			if e := typoError(word, lineNo, trimmed); e != nil {
				errs = append(errs, e)
			}
			continue
		}
		if len(cmds) == MaxCommandsPerComment {
			errs = append(errs, &ParseError{
				Line: lineNo, Raw: trimmed,
				Message: fmt.Sprintf("a comment may hold at most %d commands; put /%s and the ones after it in another comment", MaxCommandsPerComment, spec.Name),
			})
			continue
		}
		cmd, err := spec.parse(&argScanner{s: args})
		if err != nil {
			errs = append(errs, &ParseError{Line: lineNo, Raw: trimmed, Message: "/" + spec.Name + ": " + err.Error(), Usage: spec.Usage})
			continue
		}
		cmd.Name, cmd.Line, cmd.Raw = spec.Name, lineNo, trimmed
		cmds = append(cmds, cmd)
	}
	return cmds, errs
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
		Line: line, Raw: raw,
		Message: fmt.Sprintf("unknown command /%s; did you mean /%s?", word, best),
		Usage:   spec.Usage,
	}
}

// levenshtein is the edit distance between two strings.
func levenshtein(a, b string) int { return lev.ComputeDistance(a, b) }

// fenceState tracks CommonMark fenced code blocks (``` or ~~~, three or more,
// indented at most three spaces); a block closes with a fence of the same
// character at least as long as the opening one.
type fenceState struct {
	char byte
	size int
}

// inside reports whether line is part of a fenced code block, fence lines
// included, and updates the state.
func (f *fenceState) inside(line string) bool {
	indent := len(line) - len(strings.TrimLeft(line, " "))
	if indent > 3 {
		return f.char != 0
	}
	rest := line[indent:]
	if len(rest) < 3 || (rest[0] != '`' && rest[0] != '~') {
		return f.char != 0
	}
	c := rest[0]
	n := 0
	for n < len(rest) && rest[n] == c {
		n++
	}
	if n < 3 {
		return f.char != 0
	}
	switch {
	case f.char == 0:
		f.char, f.size = c, n
	case c == f.char && n >= f.size && strings.TrimSpace(rest[n:]) == "":
		f.char, f.size = 0, 0
	}
	return true
}

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
