package dbt

import (
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
)

var (
	reMacroStartBlock = regexp.MustCompile(`\{%-?\s*macro\s+([A-Za-z_][A-Za-z0-9_]*)\s*\(`)
	reMacroEndBlock   = regexp.MustCompile(`\{%-?\s*endmacro\s*-?%\}`)
)

// maxMacrosPerFile bounds what one hostile file can add.
const maxMacrosPerFile = 10000

// loadMacros reads every {% macro %} under the macro paths into
// p.Macros as "project.name", with the calls, dispatches and refs in it.
func (l *loader) loadMacros() {
	files := l.walk(l.pf.MacroPaths, ".sql")
	found := make([][]*Macro, len(files))
	eachParallel(len(files), func(i int) {
		data, err := fs.ReadFile(l.fsys, l.repoPath(files[i].rel))
		if err != nil {
			return
		}
		found[i] = parseMacros(string(data), l.p.Name, l.repoPath(files[i].rel), l.pf.Vars)
	})
	for _, ms := range found {
		for _, m := range ms {
			l.p.Macros[m.Package+"."+m.Name] = m
		}
	}
}

// parseMacros splits a macro file into its macros.
func parseMacros(src, pkg, file string, vars map[string]string) []*Macro {
	var out []*Macro
	for _, loc := range reMacroStartBlock.FindAllStringSubmatchIndex(src, maxMacrosPerFile) {
		rest := src[loc[1]:]
		headerEnd := strings.Index(rest, "%}")
		if headerEnd < 0 {
			continue
		}
		body := rest[headerEnd+2:]
		end := reMacroEndBlock.FindStringIndex(body)
		if end != nil {
			body = body[:end[0]]
		}
		offset := strings.Count(src[:loc[1]+headerEnd+2], "\n")
		params := macroParams(rest[:headerEnd])
		facts, errs := parseSQLScope(body, &scope{vars: vars, params: params})
		var warns []lineError
		for _, e := range errs {
			if e.Warn {
				e.Line += offset
				warns = append(warns, e)
			}
		}
		for i := range facts.ParamRefs {
			facts.ParamRefs[i].Line += offset
		}
		out = append(out, &Macro{Package: pkg, Name: src[loc[2]:loc[3]], File: file, Line: strings.Count(src[:loc[0]], "\n") + 1,
			Sum: digest(src[loc[0] : loc[1]+headerEnd+2+len(body)]), facts: facts, warns: warns, params: params})
	}
	return out
}

// macroParams reads the parameter names of a macro header's argument list
// ("base_ref, cte_name='x')"), in order.
func macroParams(header string) []string {
	var out []string
	depth := 0
	start := 0
	for i := 0; i <= len(header); i++ {
		c := byte(')')
		if i < len(header) {
			c = header[i]
		}
		switch {
		case c == '(' || c == '[' || c == '{':
			depth++
		case (c == ')' || c == ']' || c == '}') && depth > 0:
			depth--
		case (c == ',' || c == ')') && depth == 0:
			name, _, _ := strings.Cut(header[start:i], "=")
			if name = strings.TrimSpace(name); name != "" {
				out = append(out, name)
			}
			if c == ')' {
				return out
			}
			start = i + 1
		}
	}
	return out
}

// macroIndex resolves macro calls the way dbt's MacroNamespace does: an
// unqualified call finds the caller's own package, then the root project
// (package macros must be called as package.name); adapter.dispatch finds
// every <adapter>__name and default__name in its search order, the
// project's dispatch: config for the namespace or else the namespace itself
// (core/dbt/context/providers.py, BaseDatabaseWrapper.dispatch). Which
// adapter runs is not known here, so a dispatch depends on all of them.
type macroIndex struct {
	p        *Project
	dispatch map[string][]string
	bySuffix map[string][]string // package + "\x00" + name after "__" -> uids
}

func newMacroIndex(p *Project, dispatch map[string][]string) *macroIndex {
	ix := &macroIndex{p: p, dispatch: dispatch, bySuffix: map[string][]string{}}
	for uid, m := range p.Macros {
		if _, suffix, ok := strings.Cut(m.Name, "__"); ok {
			k := m.Package + "\x00" + suffix
			ix.bySuffix[k] = append(ix.bySuffix[k], uid)
		}
	}
	for _, list := range ix.bySuffix {
		sort.Strings(list)
	}
	return ix
}

// resolve returns the macros one call or dispatch from package from means.
func (ix *macroIndex) resolve(from string, c macroCall, isDispatch bool) []string {
	if isDispatch {
		order := ix.dispatch[c.Namespace]
		if len(order) == 0 {
			order = []string{c.Namespace}
			if c.Namespace == "" {
				order = []string{from, ix.p.Name}
			}
		}
		var out []string
		for _, pkg := range order {
			out = append(out, ix.bySuffix[pkg+"\x00"+c.Name]...)
		}
		return out
	}
	if pkg, name, ok := strings.Cut(c.Name, "."); ok {
		if _, found := ix.p.Macros[pkg+"."+name]; found {
			return []string{pkg + "." + name}
		}
		return nil
	}
	for _, pkg := range []string{from, ix.p.Name} {
		if _, found := ix.p.Macros[pkg+"."+c.Name]; found {
			return []string{pkg + "." + c.Name}
		}
	}
	return nil
}

// linkMacros resolves every macro's and node's macro calls, gives each
// node its transitive macros (for state:modified) and adds the refs and
// sources made inside those macros to the node (dbt records them as the
// node's depends_on when it renders the node), at the line of the call.
func (l *loader) linkMacros() {
	ix := newMacroIndex(l.p, l.pf.Dispatch)
	for _, m := range l.p.Macros {
		seen := map[string]bool{}
		for _, c := range m.facts.Calls {
			for _, uid := range ix.resolve(m.Package, c, false) {
				if !seen[uid] {
					seen[uid] = true
					m.Deps = append(m.Deps, uid)
				}
			}
		}
		for _, c := range m.facts.Dispatches {
			for _, uid := range ix.resolve(m.Package, c, true) {
				if !seen[uid] {
					seen[uid] = true
					m.Deps = append(m.Deps, uid)
				}
			}
		}
		sort.Strings(m.Deps)
	}
	closure := map[string][]string{}
	closureOf := func(uid string) []string {
		if c, ok := closure[uid]; ok {
			return c
		}
		seen := map[string]bool{uid: true}
		stack := []string{uid}
		for len(stack) > 0 {
			cur := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			for _, d := range l.p.Macros[cur].Deps {
				if !seen[d] {
					seen[d] = true
					stack = append(stack, d)
				}
			}
		}
		out := make([]string, 0, len(seen))
		for u := range seen {
			out = append(out, u)
		}
		sort.Strings(out)
		closure[uid] = out
		return out
	}
	reached := map[string]bool{}
	unbound := map[string][]paramRef{}
	defer func() {
		uids := make([]string, 0, len(reached))
		for u := range reached {
			uids = append(uids, u)
		}
		sort.Strings(uids)
		for _, u := range uids {
			m := l.p.Macros[u]
			for _, w := range m.warns {
				l.p.warnings = append(l.p.warnings, Problem{File: m.File, Line: w.Line, Message: "in macro " + u + ": " + w.Message, Warning: true})
			}
			for _, pr := range unbound[u] {
				l.p.warnings = append(l.p.warnings, Problem{File: m.File, Line: pr.Line, Warning: true, Message: fmt.Sprintf(
					"in macro %s: dynamic ref(%s), lineage incomplete: a call passes no quoted name for %s; a manifest.json written by dbt is exact", u, pr.Param, pr.Param)})
			}
		}
	}()
	// bind adds the refs a macro makes from its parameters, as the call
	// c's string literals name them (ref(base_ref) called with
	// 'hubspot__email_sends').
	bind := func(n *Model, uid string, c *macroCall) {
		mac := l.p.Macros[uid]
		for _, pr := range mac.facts.ParamRefs {
			name := ""
			if c != nil {
				if name = c.Args[pr.Param]; name == "" {
					if i := slices.Index(mac.params, pr.Param); i >= 0 {
						name = c.Args[strconv.Itoa(i)]
					}
				}
			}
			if name == "" {
				if !slices.Contains(unbound[uid], pr) {
					unbound[uid] = append(unbound[uid], pr)
				}
				continue
			}
			line := pr.Line
			if c != nil {
				line = c.Line
			}
			n.Refs = append(n.Refs, Ref{Name: name, Line: line, Via: uid})
		}
	}
	for _, n := range l.p.Models {
		if len(n.calls)+len(n.dispatch) == 0 {
			continue
		}
		all := map[string]bool{}
		visit := func(c macroCall, isDispatch bool) {
			for _, uid := range ix.resolve("", c, isDispatch) {
				if !isDispatch {
					bind(n, uid, &c) // every call binds its own arguments
				}
				for _, u := range closureOf(uid) {
					if all[u] {
						continue
					}
					if u != uid || isDispatch {
						bind(n, u, nil) // reached through another macro: not bound here
					}
					all[u] = true
					reached[u] = true
					mac := l.p.Macros[u]
					for _, r := range mac.facts.Refs {
						r.Line, r.Via = c.Line, u
						n.Refs = append(n.Refs, r)
					}
					for _, s := range mac.facts.Sources {
						s.Line = c.Line
						n.SourceRefs = append(n.SourceRefs, s)
					}
				}
			}
		}
		for _, c := range n.calls {
			visit(c, false)
		}
		for _, c := range n.dispatch {
			visit(c, true)
		}
		for u := range all {
			n.Macros = append(n.Macros, u)
		}
		sort.Strings(n.Macros)
	}
}
