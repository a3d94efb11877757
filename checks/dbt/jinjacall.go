package dbt

import (
	"fmt"
	"strings"
)

// token is one lexical item of a Jinja expression.
type token struct {
	kind byte // 'i' identifier, 's' string, 'n' number, 'p' punctuation
	text string
	pos  int // byte offset in the block body
	end  int
}

// lexJinja splits a Jinja block body into tokens. It never fails: an
// unterminated string becomes a string token running to the end.
func lexJinja(body string) []token {
	var toks []token
	for k := 0; k < len(body); {
		c := body[k]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			k++
		case c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			n := k + 1
			for n < len(body) && isIdentByte(body[n]) {
				n++
			}
			toks = append(toks, token{'i', body[k:n], k, n})
			k = n
		case c >= '0' && c <= '9':
			n := k + 1
			for n < len(body) && (body[n] >= '0' && body[n] <= '9' || body[n] == '.') {
				n++
			}
			toks = append(toks, token{'n', body[k:n], k, n})
			k = n
		case c == '\'' || c == '"':
			n := skipString(body, k)
			if n < 0 {
				toks = append(toks, token{'s', unquote(body[k:]), k, len(body)})
				return toks
			}
			toks = append(toks, token{'s', unquote(body[k : n+1]), k, n + 1})
			k = n + 1
		default:
			toks = append(toks, token{'p', body[k : k+1], k, k + 1})
			k++
		}
	}
	return toks
}

func isIdentByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// unquote strips the quotes of a Jinja string literal and resolves simple
// backslash escapes.
func unquote(lit string) string {
	if len(lit) < 2 {
		return ""
	}
	inner := lit[1:]
	if inner[len(inner)-1] == lit[0] {
		inner = inner[:len(inner)-1]
	}
	if !strings.Contains(inner, "\\") {
		return inner
	}
	var b strings.Builder
	for k := 0; k < len(inner); k++ {
		if inner[k] == '\\' && k+1 < len(inner) {
			k++
		}
		b.WriteByte(inner[k])
	}
	return b.String()
}

// callArg is one argument of a call: positional when Key is empty.
type callArg struct {
	Key   string
	Raw   string // source text of the value
	Lit   string // value of a lone string literal
	IsLit bool
}

// scanCalls finds ref(), source() and config() calls in one block body
// starting on line, appending them to facts.
func scanCalls(body string, line int, facts *sqlFacts) []lineError {
	if !strings.Contains(body, "ref") && !strings.Contains(body, "source") && !strings.Contains(body, "config") {
		return nil
	}
	toks := lexJinja(body)
	var errs []lineError
	for k := 0; k+1 < len(toks); k++ {
		t := toks[k]
		if t.kind != 'i' || toks[k+1].text != "(" || (k > 0 && toks[k-1].text == ".") {
			continue
		}
		if t.text != "ref" && t.text != "source" && t.text != "config" {
			continue
		}
		at := line + strings.Count(body[:t.pos], "\n")
		args, next, ok := splitArgs(body, toks, k+2)
		if !ok {
			errs = append(errs, lineError{at, fmt.Sprintf("%s( is never closed: add the missing )", t.text)})
			return errs
		}
		k = next
		switch t.text {
		case "ref":
			r, msg := refFromArgs(args)
			if msg != "" {
				errs = append(errs, lineError{at, msg})
				continue
			}
			r.Line = at
			facts.Refs = append(facts.Refs, r)
		case "source":
			s, msg := sourceFromArgs(args)
			if msg != "" {
				errs = append(errs, lineError{at, msg})
				continue
			}
			s.Line = at
			facts.Sources = append(facts.Sources, s)
		case "config":
			for _, a := range args {
				if a.Key == "" {
					errs = append(errs, lineError{at, fmt.Sprintf("config() takes key=value pairs, not %q: write {{ config(materialized='table') }}", a.Raw)})
					continue
				}
				facts.Config[a.Key] = configValue(a)
			}
		}
	}
	return errs
}

// splitArgs reads call arguments from toks[from:] up to the matching ")".
// It returns the arguments and the index of the closing parenthesis.
func splitArgs(body string, toks []token, from int) ([]callArg, int, bool) {
	var args []callArg
	depth := 0
	argStart := from
	flush := func(stop int) {
		if stop <= argStart {
			return
		}
		part := toks[argStart:stop]
		a := callArg{}
		if len(part) >= 2 && part[0].kind == 'i' && part[1].text == "=" && (len(part) < 3 || part[2].text != "=") {
			a.Key = part[0].text
			part = part[2:]
		}
		if len(part) > 0 {
			a.Raw = body[part[0].pos:part[len(part)-1].end]
			if len(part) == 1 && part[0].kind == 's' {
				a.Lit, a.IsLit = part[0].text, true
			}
		}
		args = append(args, a)
	}
	for k := from; k < len(toks); k++ {
		switch toks[k].text {
		case "(", "[", "{":
			depth++
		case ")", "]", "}":
			if depth == 0 {
				if toks[k].text != ")" {
					return nil, k, false
				}
				flush(k)
				return args, k, true
			}
			depth--
		case ",":
			if depth == 0 {
				flush(k)
				argStart = k + 1
			}
		}
	}
	return nil, len(toks), false
}

const refUsage = "write {{ ref('model') }}, {{ ref('package', 'model') }} or {{ ref('model', v=2) }}"

// refFromArgs builds a Ref, or says what is wrong with the call.
func refFromArgs(args []callArg) (Ref, string) {
	var pos []string
	var r Ref
	for _, a := range args {
		switch a.Key {
		case "":
			if !a.IsLit {
				return r, fmt.Sprintf("ref(%s) cannot be resolved without running dbt: use a quoted model name; %s", a.Raw, refUsage)
			}
			pos = append(pos, a.Lit)
		case "v", "version":
			r.Version = strings.Trim(a.Raw, `'"`)
		case "package":
			if !a.IsLit {
				return r, fmt.Sprintf("ref(package=%s) needs a quoted package name; %s", a.Raw, refUsage)
			}
			r.Package = a.Lit
		}
	}
	switch len(pos) {
	case 1:
		r.Name = pos[0]
	case 2:
		r.Package, r.Name = pos[0], pos[1]
	default:
		return r, fmt.Sprintf("ref() takes one or two quoted names, got %d; %s", len(pos), refUsage)
	}
	if r.Name == "" {
		return r, "ref('') names no model; " + refUsage
	}
	return r, ""
}

// sourceFromArgs builds a SourceRef, or says what is wrong with the call.
func sourceFromArgs(args []callArg) (SourceRef, string) {
	var pos []string
	for _, a := range args {
		if a.Key != "" {
			continue
		}
		if !a.IsLit {
			return SourceRef{}, fmt.Sprintf("source(%s) cannot be resolved without running dbt: write {{ source('source_name', 'table_name') }} with quoted names", a.Raw)
		}
		pos = append(pos, a.Lit)
	}
	if len(pos) != 2 || pos[0] == "" || pos[1] == "" {
		return SourceRef{}, fmt.Sprintf("source() takes exactly two quoted names, got %d: write {{ source('source_name', 'table_name') }}", len(pos))
	}
	return SourceRef{Source: pos[0], Table: pos[1]}, ""
}

// configValue renders a config() value: strings unquoted, Jinja booleans
// lower-cased, anything else as written.
func configValue(a callArg) string {
	switch {
	case a.IsLit:
		return a.Lit
	case a.Raw == "True" || a.Raw == "true":
		return "true"
	case a.Raw == "False" || a.Raw == "false":
		return "false"
	}
	return a.Raw
}

// contractEnforced reads a contract config value, in any of its spellings
// ({enforced: true} from YAML, {'enforced': True} from Jinja).
func contractEnforced(raw string) bool {
	return reEnforcedYes.MatchString(raw)
}
