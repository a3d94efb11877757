package dbt

import (
	"fmt"
	"slices"
	"strings"
)

// scope is the little of Jinja's state that decides lineage when dbt parses
// a model: project vars, which {% if %} branches are taken, what a {% for %}
// loop variable runs over and what {% set %} bound. dbt renders every model
// at parse time with the project's vars (core/dbt/parser/base.py renders
// with execute=False), so a branch decided by var() or a literal takes one
// way only, and a ref() over a literal list names each of its items.
// Anything else (target.name, run_query results) is unknown: both branches
// count, and a ref whose argument stays unknown is a dynamic ref.
type scope struct {
	vars   map[string]string
	frames []frame
	sets   map[string][]string
	params []string // the parameters of the macro being read
}

// tri is a condition's value: known true, known false, or unknown.
type tri byte

const (
	unknown tri = iota
	yes
	no
)

// frame is one open {% if %} or {% for %}.
type frame struct {
	kind       byte // 'i' if, 'f' for
	state      tri  // the current branch of an if
	taken      bool // an earlier branch was known true
	anyUnknown bool // an earlier branch was unknown
	name       string
	values     []string // a for loop's literal items; nil when unknown
}

// maxFrames bounds nesting so that hostile input costs little.
const maxFrames = 256

// statement applies one {% ... %} statement to the scope.
func (sc *scope) statement(body string) {
	if sc == nil {
		return
	}
	toks := lexJinja(body)
	if len(toks) == 0 || toks[0].kind != 'i' {
		return
	}
	top := func(kind byte) *frame {
		if n := len(sc.frames); n > 0 && sc.frames[n-1].kind == kind {
			return &sc.frames[n-1]
		}
		return nil
	}
	switch toks[0].text {
	case "if":
		if len(sc.frames) >= maxFrames {
			return
		}
		c := sc.cond(toks[1:])
		sc.frames = append(sc.frames, frame{kind: 'i', state: c, taken: c == yes, anyUnknown: c == unknown})
	case "elif":
		if f := top('i'); f != nil {
			if f.taken {
				f.state = no
				return
			}
			c := sc.cond(toks[1:])
			f.state, f.taken = c, c == yes
			f.anyUnknown = f.anyUnknown || c == unknown
		}
	case "else":
		if f := top('i'); f != nil {
			switch {
			case f.taken:
				f.state = no
			case f.anyUnknown:
				f.state = unknown
			default:
				f.state = yes
			}
		}
	case "endif":
		if top('i') != nil {
			sc.frames = sc.frames[:len(sc.frames)-1]
		}
	case "for":
		if len(sc.frames) >= maxFrames {
			return
		}
		f := frame{kind: 'f'}
		if len(toks) >= 3 && toks[1].kind == 'i' && toks[2].text == "in" {
			f.name = toks[1].text
			f.values = literalList(toks[3:])
			if f.values == nil && len(toks) == 4 && toks[3].kind == 'i' {
				f.values = sc.bound(toks[3].text) // for x in a {% set %} list
			}
			if f.values == nil {
				if v, ok := sc.value(toks[3:]); ok {
					f.values, _ = listItems(v) // for x in var('a_list')
				}
			}
		}
		sc.frames = append(sc.frames, f)
	case "endfor":
		if top('f') != nil {
			sc.frames = sc.frames[:len(sc.frames)-1]
		}
	case "set":
		if len(toks) >= 4 && toks[1].kind == 'i' && toks[2].text == "=" && toks[3].text != "=" {
			if sc.sets == nil {
				sc.sets = map[string][]string{}
			}
			if list := literalList(toks[3:]); list != nil {
				sc.sets[toks[1].text] = list
			} else if v, ok := sc.value(toks[3:]); ok {
				sc.sets[toks[1].text] = []string{v}
			} else {
				delete(sc.sets, toks[1].text)
			}
		}
	}
}

// live reports whether text here can render: no enclosing if branch is
// known to be skipped.
func (sc *scope) live() bool {
	if sc == nil {
		return true
	}
	for _, f := range sc.frames {
		if f.kind == 'i' && f.state == no {
			return false
		}
	}
	return true
}

// literalList reads ['a', "b"] (or a tuple) of string literals.
func literalList(toks []token) []string {
	if len(toks) < 2 || (toks[0].text != "[" && toks[0].text != "(") {
		return nil
	}
	closer := map[string]string{"[": "]", "(": ")"}[toks[0].text]
	out := []string{}
	for k := 1; k < len(toks); k++ {
		switch {
		case toks[k].kind == 's':
			out = append(out, toks[k].text)
		case toks[k].text == ",":
		case toks[k].text == closer:
			return out
		default:
			return nil
		}
	}
	return nil
}

// listText is the canonical text of a list value, so that lists from
// YAML vars and from Jinja literals compare equal: ['a', 'b'].
func listText(items []string) string {
	q := make([]string, len(items))
	for i, it := range items {
		q[i] = "'" + it + "'"
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// listItems reads a listText value; false when v is not a list.
func listItems(v string) ([]string, bool) {
	if !strings.HasPrefix(v, "[") || !strings.HasSuffix(v, "]") {
		return nil, false
	}
	inner := strings.TrimSpace(v[1 : len(v)-1])
	if inner == "" {
		return []string{}, true
	}
	parts := strings.Split(inner, "', '")
	for i, p := range parts {
		parts[i] = strings.Trim(p, "'")
	}
	return parts, true
}

// cond evaluates an if condition.
func (sc *scope) cond(toks []token) tri {
	v, ok := sc.value(toks)
	if !ok {
		return unknown
	}
	if truthy(v) {
		return yes
	}
	return no
}

func truthy(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "", "false", "0", "none", "null", "[]", "{}":
		return false
	}
	return true
}

// value evaluates a small expression: literals, var('x'[, default]),
// bound names, the filters that only convert (as_bool, as_text, bool,
// string, lower, upper, trim), not, ==, !=, and, or. ok is false for
// anything else.
func (sc *scope) value(toks []token) (string, bool) {
	vs := sc.values(toks)
	if len(vs) != 1 {
		return "", false
	}
	return vs[0], true
}

// values is what an expression may render to: one value when it is known;
// both branches of a conditional expression (A if C else B) whose condition
// is not known but whose branches are, as an if block whose condition is
// unknown keeps both branches live; nil when unknown.
func (sc *scope) values(toks []token) []string {
	e := &evaluator{sc: sc, toks: toks}
	vs := e.conditional()
	if e.i != len(toks) {
		return nil
	}
	return vs
}

type evaluator struct {
	sc   *scope
	toks []token
	i    int
}

func (e *evaluator) peek(text string) bool {
	return e.i < len(e.toks) && e.toks[e.i].text == text && e.toks[e.i].kind != 's'
}

func boolText(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// conditional is Jinja's `A if C else B`, the loosest expression; a
// missing else renders nothing when C is false (Jinja's undefined).
func (e *evaluator) conditional() []string {
	v, ok := e.or()
	if !ok {
		return nil
	}
	if !e.peek("if") {
		return []string{v}
	}
	e.i++
	start := e.i
	c, cok := e.or()
	if !cok {
		// Skip the unknown condition to its else.
		e.i = start
		for depth := 0; e.i < len(e.toks) && (depth > 0 || !e.peek("else")); e.i++ {
			switch t := e.toks[e.i]; {
			case t.kind == 'p' && (t.text == "(" || t.text == "[" || t.text == "{"):
				depth++
			case t.kind == 'p' && (t.text == ")" || t.text == "]" || t.text == "}"):
				depth--
			}
		}
	}
	alt := []string{""}
	if e.peek("else") {
		e.i++
		if alt = e.conditional(); alt == nil {
			return nil
		}
	}
	switch {
	case !cok:
		return sortedUnique(append([]string{v}, alt...))
	case truthy(c):
		return []string{v}
	}
	return alt
}

func (e *evaluator) or() (string, bool) {
	v, ok := e.and()
	for ok && e.peek("or") {
		e.i++
		w, ok2 := e.and()
		v, ok = boolText(truthy(v) || truthy(w)), ok2
	}
	return v, ok
}

func (e *evaluator) and() (string, bool) {
	v, ok := e.not()
	for ok && e.peek("and") {
		e.i++
		w, ok2 := e.not()
		v, ok = boolText(truthy(v) && truthy(w)), ok2
	}
	return v, ok
}

func (e *evaluator) not() (string, bool) {
	if e.peek("not") {
		e.i++
		v, ok := e.not()
		return boolText(!truthy(v)), ok
	}
	v, ok := e.filtered()
	if !ok {
		return v, false
	}
	if e.i+1 < len(e.toks) && (e.peek("=") || e.peek("!")) && e.toks[e.i+1].text == "=" {
		negate := e.peek("!")
		e.i += 2
		w, ok := e.filtered()
		return boolText((v == w) != negate), ok
	}
	// x in list, x not in list; in a string, a substring (Python's in).
	if e.peek("in") || (e.peek("not") && e.i+1 < len(e.toks) && e.toks[e.i+1].text == "in") {
		negate := e.peek("not")
		if negate {
			e.i++
		}
		e.i++
		w, ok := e.filtered()
		if !ok {
			return "", false
		}
		found := strings.Contains(w, v)
		if items, isList := listItems(w); isList {
			found = slices.Contains(items, v)
		}
		return boolText(found != negate), true
	}
	return v, true
}

// filtered is an atom followed by filters, which bind tighter than the
// operators (Jinja's precedence). dbt's as_bool turns a rendered "False"
// into False (dbt.clients.jinja: as_bool); lower, upper and trim change the
// text; an unknown filter makes the value unknown.
func (e *evaluator) filtered() (string, bool) {
	v, ok := e.atom()
	for ok && e.peek("|") && e.i+1 < len(e.toks) {
		name := e.toks[e.i+1].text
		e.i += 2
		switch name {
		case "as_bool", "bool":
			v = boolText(truthy(v))
		case "as_text", "string", "as_native":
		case "lower":
			v = strings.ToLower(v)
		case "upper":
			v = strings.ToUpper(v)
		case "trim":
			v = strings.TrimSpace(v)
		default:
			return "", false
		}
	}
	return v, ok
}

func (e *evaluator) atom() (string, bool) {
	if e.i >= len(e.toks) {
		return "", false
	}
	t := e.toks[e.i]
	e.i++
	switch t.kind {
	case 's', 'n':
		return t.text, true
	case 'p':
		if t.text == "[" {
			if items := literalList(e.toks[e.i-1:]); items != nil {
				// A literal list holds only strings and commas: its
				// closer is the first "]".
				for e.i < len(e.toks) && e.toks[e.i].text != "]" {
					e.i++
				}
				e.i++
				return listText(items), true
			}
			return "", false
		}
		if t.text == "(" {
			vs := e.conditional()
			if len(vs) != 1 || !e.peek(")") {
				return "", false
			}
			e.i++
			return vs[0], true
		}
		return "", false
	}
	switch t.text {
	case "true", "True":
		return "true", true
	case "false", "False":
		return "false", true
	case "none", "None":
		return "", true
	case "var":
		return e.varCall()
	}
	if e.sc != nil {
		if vs := e.sc.bound(t.text); len(vs) == 1 {
			return vs[0], true
		}
	}
	return "", false
}

// varCall reads ('name'[, default]) after var, as dbt's var() resolves:
// the project's value, else the default; no default and no value is an
// error in dbt, so unknown here.
func (e *evaluator) varCall() (string, bool) {
	if !e.peek("(") || e.i+1 >= len(e.toks) || e.toks[e.i+1].kind != 's' {
		return "", false
	}
	name := e.toks[e.i+1].text
	e.i += 2
	def, hasDef := "", false
	if e.peek(",") {
		e.i++
		v, ok := e.or()
		if !ok {
			return "", false
		}
		def, hasDef = v, true
	}
	if !e.peek(")") {
		return "", false
	}
	e.i++
	if e.sc != nil {
		if v, ok := e.sc.vars[name]; ok {
			return v, true
		}
	}
	return def, hasDef
}

// bound returns what a loop variable or {% set %} name stands for.
func (sc *scope) bound(name string) []string {
	for k := len(sc.frames) - 1; k >= 0; k-- {
		if f := sc.frames[k]; f.kind == 'f' && f.name == name {
			return f.values
		}
	}
	return sc.sets[name]
}

// refsFromArgs builds the refs one ref() call names: one, or one per item
// when its name is a loop variable over a literal list. dynamic reports a
// ref whose target only dbt's rendering can know (a warning, not an error).
func (sc *scope) refsFromArgs(args []callArg) (refs []Ref, msg string, dynamic bool) {
	var alts [][]string // per positional argument, the values it may take
	var r Ref
	for _, a := range args {
		switch a.Key {
		case "":
			if a.IsLit {
				alts = append(alts, []string{a.Lit})
				continue
			}
			toks := lexJinja(a.Raw)
			if len(toks) == 1 && toks[0].kind == 'i' && sc != nil {
				if vs := sc.bound(toks[0].text); len(vs) > 0 {
					alts = append(alts, vs)
					continue
				}
			}
			if vs := sc.values(toks); len(vs) > 0 && !slices.Contains(vs, "") {
				alts = append(alts, vs)
				continue
			}
			return nil, fmt.Sprintf("dynamic ref(%s), lineage incomplete: its target is only known when dbt renders the model; a manifest.json written by dbt (manifest: in .github/conveyor.yml) is exact", shorten(a.Raw)), true
		case "v", "version":
			r.Version = strings.Trim(a.Raw, `'"`)
		case "package":
			if !a.IsLit {
				return nil, fmt.Sprintf("ref(package=%s) needs a quoted package name; %s", a.Raw, refUsage), false
			}
			r.Package = a.Lit
		}
	}
	switch len(alts) {
	case 1:
		for _, name := range alts[0] {
			x := r
			x.Name = name
			refs = append(refs, x)
		}
	case 2:
		if len(alts[0]) != 1 {
			return nil, fmt.Sprintf("dynamic ref package, lineage incomplete: %s", refUsage), true
		}
		for _, name := range alts[1] {
			x := r
			x.Package, x.Name = alts[0][0], name
			refs = append(refs, x)
		}
	default:
		return nil, fmt.Sprintf("ref() takes one or two quoted names, got %d; %s", len(alts), refUsage), false
	}
	for _, x := range refs {
		if x.Name == "" {
			return nil, "ref('') names no model; " + refUsage, false
		}
	}
	return refs, "", false
}

// dispatchFromArgs reads adapter.dispatch('name', 'namespace') or
// adapter.dispatch('name', macro_namespace='namespace').
func dispatchFromArgs(args []callArg) (macroCall, bool) {
	var d macroCall
	pos := 0
	for _, a := range args {
		switch {
		case a.Key == "" && a.IsLit:
			if pos == 0 {
				d.Name = a.Lit
			} else {
				d.Namespace = a.Lit
			}
			pos++
		case a.Key == "macro_name" && a.IsLit:
			d.Name = a.Lit
		case a.Key == "macro_namespace" && a.IsLit:
			d.Namespace = a.Lit
		}
	}
	return d, d.Name != ""
}

// shorten keeps a quoted expression readable in a one-line message.
func shorten(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 60 {
		return s[:57] + "..."
	}
	return s
}
