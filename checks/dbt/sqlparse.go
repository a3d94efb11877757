package dbt

import (
	"fmt"
	"regexp"
	"strings"
)

// sqlFacts is what one SQL file says about itself through Jinja.
type sqlFacts struct {
	Refs    []Ref
	Sources []SourceRef
	Config  map[string]string
	// Calls are the macros the Jinja calls by name ("name", or "pkg.name"
	// for a package-qualified call), in order of first call, with lines.
	Calls []macroCall
	// Dispatches are adapter.dispatch('name', 'namespace') calls.
	Dispatches []macroCall
	// Macro reports a file that defines {% test %} or {% macro %} blocks
	// (a generic test definition, not a singular test).
	Macro bool
	// ParamRefs are ref(p) calls in a macro body whose name is the macro's
	// parameter p: the caller's argument decides them.
	ParamRefs []paramRef
}

// paramRef is a ref() whose name is a macro parameter.
type paramRef struct {
	Param string
	Line  int
}

// macroCall is one call of a macro: its (possibly package-qualified) name,
// the namespace of a dispatch, the line of the call and the string
// literals it passes (by position "0", "1"... and by keyword).
type macroCall struct {
	Name, Namespace string
	Line            int
	Args            map[string]string
}

// lineError is a problem inside one file; Warn marks one that does not
// keep the project from building (a dynamic ref, lineage incomplete).
type lineError struct {
	Line    int
	Message string
	Warn    bool
}

var (
	reRawEnd     = regexp.MustCompile(`\{%-?\s*endraw\s*-?%\}`)
	reRawStart   = regexp.MustCompile(`^\s*raw\s*$`)
	reMacroStart = regexp.MustCompile(`^\s*(test|macro|materialization)\s`)
)

// parseSQL extracts ref(), source() and config() calls from a model or test
// file. Only Jinja blocks ({{ }} and {% %}) are read; {# #} comments and
// {% raw %} sections are skipped. It never panics on any input.
func parseSQL(sql string) (sqlFacts, []lineError) { return parseSQLWith(sql, nil) }

// parseSQLWith is parseSQL with the project's vars, so that var() in refs
// and {% if %} conditions is decided as dbt decides it when it parses.
func parseSQLWith(sql string, vars map[string]string) (sqlFacts, []lineError) {
	return parseSQLScope(sql, &scope{vars: vars})
}

// parseSQLScope parses with a prepared scope (a macro body's knows the
// macro's parameters).
func parseSQLScope(sql string, sc *scope) (sqlFacts, []lineError) {
	facts := sqlFacts{Config: map[string]string{}}
	var errs []lineError
	line := 1
	i := 0
	for i < len(sql) {
		j := strings.IndexByte(sql[i:], '{')
		if j < 0 || i+j+1 >= len(sql) {
			break
		}
		start := i + j
		line += strings.Count(sql[i:start], "\n")
		i = start
		switch sql[start+1] {
		case '#':
			end := strings.Index(sql[start+2:], "#}")
			if end < 0 {
				errs = append(errs, lineError{Line: line, Message: "comment {# is never closed: add #} after it"})
				return facts, errs
			}
			stop := start + 2 + end + 2
			line += strings.Count(sql[start:stop], "\n")
			i = stop
		case '{', '%':
			closer := "}}"
			if sql[start+1] == '%' {
				closer = "%}"
			}
			bodyStart := start + 2
			end, ok := findBlockEnd(sql, bodyStart, closer)
			if !ok {
				kind := "expression {{"
				if closer == "%}" {
					kind = "statement {%"
				}
				errs = append(errs, lineError{Line: line, Message: fmt.Sprintf("%s is never closed: add %s after it", kind, closer)})
				return facts, errs
			}
			body := strings.Trim(sql[bodyStart:end], "-+")
			if closer == "%}" {
				sc.statement(body)
			}
			if sc.live() {
				errs = append(errs, scanCalls(body, line, &facts, sc)...)
			}
			stop := end + 2
			if closer == "%}" && reRawStart.MatchString(body) {
				loc := reRawEnd.FindStringIndex(sql[stop:])
				if loc == nil {
					errs = append(errs, lineError{Line: line, Message: "{% raw %} is never closed: add {% endraw %}"})
					return facts, errs
				}
				stop += loc[1]
			}
			if closer == "%}" && reMacroStart.MatchString(body) {
				facts.Macro = true
			}
			line += strings.Count(sql[start:stop], "\n")
			i = stop
		default:
			i = start + 1
		}
	}
	return facts, errs
}

// findBlockEnd returns the index of the closer that ends a Jinja block whose
// body starts at from, skipping quoted strings and bracketed expressions (so
// the "}}" of a dict inside {{ config(meta={'a': {'b': 1}}) }} is not taken).
func findBlockEnd(s string, from int, closer string) (int, bool) {
	depth := 0
	for k := from; k < len(s); k++ {
		switch c := s[k]; c {
		case '\'', '"':
			n := skipString(s, k)
			if n < 0 {
				return 0, false
			}
			k = n
		case '(', '[', '{':
			depth++
		case ')', ']', '}':
			if depth > 0 {
				depth--
				continue
			}
			if c == '}' && strings.HasPrefix(s[k:], closer) {
				return k, true
			}
		case '%':
			if depth == 0 && strings.HasPrefix(s[k:], closer) {
				return k, true
			}
		}
	}
	return 0, false
}

// skipString returns the index of the quote closing the string opened at k,
// or -1 when it is never closed.
func skipString(s string, k int) int {
	q := s[k]
	for n := k + 1; n < len(s); n++ {
		switch s[n] {
		case '\\':
			n++
		case q:
			return n
		}
	}
	return -1
}
