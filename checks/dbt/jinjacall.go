package dbt

import (
	"fmt"
	"slices"
	"strconv"
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

// scanCalls finds ref(), source(), config() and macro calls in one block
// body starting on line, appending them to facts. sc resolves var() and
// loop variables in ref() arguments; it may be nil.
func scanCalls(body string, line int, facts *sqlFacts, sc *scope) []lineError {
	if !strings.Contains(body, "(") {
		return nil
	}
	toks := lexJinja(body)
	var errs []lineError
	for k := 0; k+1 < len(toks); k++ {
		t := toks[k]
		if t.kind != 'i' || toks[k+1].text != "(" {
			continue
		}
		if k > 0 && toks[k-1].text == "." {
			// pkg.macro(...) and adapter.dispatch('name', 'pkg')(...); any
			// other method call (x.get(...)) names no macro and is dropped
			// when calls are resolved.
			if k >= 2 && toks[k-2].kind == 'i' && (k < 3 || toks[k-3].text != ".") {
				at := line + strings.Count(body[:t.pos], "\n")
				if toks[k-2].text == "adapter" && t.text == "dispatch" {
					if args, _, ok := splitArgs(body, toks, k+2); ok {
						if d, ok := dispatchFromArgs(args); ok {
							d.Line = at
							facts.Dispatches = append(facts.Dispatches, d)
						}
					}
					continue
				}
				facts.Calls = append(facts.Calls, macroCall{Name: toks[k-2].text + "." + t.text, Line: at})
			}
			continue
		}
		if t.text != "ref" && t.text != "source" && t.text != "config" {
			// The call's arguments are scanned too (k is not moved past
			// them); its string literals are kept for the macro's ref(param).
			c := macroCall{Name: t.text, Line: line + strings.Count(body[:t.pos], "\n")}
			if args, _, ok := splitArgs(body, toks, k+2); ok {
				c.Args = literalArgs(args)
			}
			facts.Calls = append(facts.Calls, c)
			continue
		}
		at := line + strings.Count(body[:t.pos], "\n")
		args, next, ok := splitArgs(body, toks, k+2)
		if !ok {
			errs = append(errs, lineError{Line: at, Message: fmt.Sprintf("%s( is never closed: add the missing )", t.text)})
			return errs
		}
		k = next
		switch t.text {
		case "ref":
			if p := sc.paramArg(args); p != "" {
				facts.ParamRefs = append(facts.ParamRefs, paramRef{Param: p, Line: at})
				continue
			}
			refs, msg, dynamic := sc.refsFromArgs(args)
			if msg != "" {
				errs = append(errs, lineError{Line: at, Message: msg, Warn: dynamic})
				continue
			}
			for _, r := range refs {
				r.Line = at
				facts.Refs = append(facts.Refs, r)
			}
		case "source":
			s, msg := sourceFromArgs(args)
			if msg != "" {
				errs = append(errs, lineError{Line: at, Message: msg})
				continue
			}
			s.Line = at
			facts.Sources = append(facts.Sources, s)
		case "config":
			// config({'materialized': 'table'}) is the same as
			// config(materialized='table'): dbt's config() takes one
			// positional dict or keyword arguments (core/dbt/context/
			// providers.py, ParseConfigObject._transform_config).
			if len(args) == 1 && args[0].Key == "" && strings.HasPrefix(args[0].Raw, "{") {
				if err := dictConfig(args[0].Raw, facts.Config); err != "" {
					errs = append(errs, lineError{Line: at, Message: err})
				}
				continue
			}
			for _, a := range args {
				if a.Key == "" {
					errs = append(errs, lineError{Line: at, Message: fmt.Sprintf("config() takes key=value pairs, not %q: write {{ config(materialized='table') }}", a.Raw)})
					continue
				}
				facts.Config[a.Key] = configValue(a)
			}
		}
	}
	return errs
}

// literalArgs keeps a call's string-literal arguments, by position ("0",
// "1"...) and by keyword; nil when there are none.
func literalArgs(args []callArg) map[string]string {
	var out map[string]string
	pos := 0
	for _, a := range args {
		key := a.Key
		if key == "" {
			key = strconv.Itoa(pos)
			pos++
		}
		if a.IsLit {
			if out == nil {
				out = map[string]string{}
			}
			out[key] = a.Lit
		}
	}
	return out
}

// paramArg is the parameter a ref() names when its one argument is a bare
// parameter of the macro being read (not rebound by set or for); "".
func (sc *scope) paramArg(args []callArg) string {
	if sc == nil || len(sc.params) == 0 || len(args) != 1 || args[0].Key != "" || args[0].IsLit {
		return ""
	}
	toks := lexJinja(args[0].Raw)
	if len(toks) != 1 || toks[0].kind != 'i' || sc.bound(toks[0].text) != nil {
		return ""
	}
	if slices.Contains(sc.params, toks[0].text) {
		return toks[0].text
	}
	return ""
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
// It scans instead of using a regexp: it runs for every node.
func contractEnforced(raw string) bool {
	b := make([]byte, 0, len(raw))
	for k := 0; k < len(raw); k++ {
		switch c := raw[k]; c {
		case '\'', '"', ' ', '\t', '\n', '\r':
		default:
			if c >= 'A' && c <= 'Z' {
				c += 'a' - 'A'
			}
			b = append(b, c)
		}
	}
	s := string(b)
	for _, p := range []string{"enforced:true", "enforced=true"} {
		for off := 0; ; {
			i := strings.Index(s[off:], p)
			if i < 0 {
				break
			}
			end := off + i + len(p)
			if end == len(s) || !isIdentByte(s[end]) {
				return true
			}
			off = end
		}
	}
	return false
}

// dictConfig reads a config dict literal ({'k': v, "k2": v2}) into cfg.
func dictConfig(raw string, cfg map[string]string) string {
	inner := strings.TrimSpace(raw)
	inner = strings.TrimSuffix(strings.TrimPrefix(inner, "{"), "}")
	toks := lexJinja(inner)
	depth, start := 0, 0
	flush := func(stop int) string {
		part := toks[start:stop]
		if len(part) == 0 {
			return ""
		}
		if len(part) < 3 || part[0].kind != 's' || part[1].text != ":" {
			return fmt.Sprintf("config() takes a dict of quoted keys, not %q: write {{ config({'materialized': 'table'}) }}", raw)
		}
		a := callArg{Key: part[0].text, Raw: inner[part[2].pos:part[len(part)-1].end]}
		if len(part) == 3 && part[2].kind == 's' {
			a.Lit, a.IsLit = part[2].text, true
		}
		cfg[a.Key] = configValue(a)
		return ""
	}
	for k, t := range toks {
		switch t.text {
		case "(", "[", "{":
			depth++
		case ")", "]", "}":
			depth--
		case ",":
			if depth == 0 && t.kind == 'p' {
				if msg := flush(k); msg != "" {
					return msg
				}
				start = k + 1
			}
		}
	}
	return flush(len(toks))
}
