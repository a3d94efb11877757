package repoconfig

import (
	"github.com/agnivade/levenshtein"

	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// reader walks yaml.v3 nodes of one file and collects problems with positions.
type reader struct {
	file  string
	probs []Problem
}

func (r *reader) add(n *yaml.Node, format string, args ...any) {
	p := Problem{File: r.file, Line: 1, Message: fmt.Sprintf(format, args...)}
	if n != nil && n.Line > 0 {
		p.Line, p.Column = n.Line, n.Column
	}
	r.probs = append(r.probs, p)
}

// resolve follows aliases so "*anchor" values read like the anchored value.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 8; i++ {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null")
}

// syntaxProblem turns a yaml.v3 error into a Problem with its line.
var yamlLine = regexp.MustCompile(`line (\d+)`)

func syntaxProblem(file string, err error) Problem {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 1
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		if v, e := strconv.Atoi(m[1]); e == nil && v > 0 {
			line = v
		}
		msg = strings.TrimSpace(strings.Replace(msg, m[0]+":", "", 1))
	}
	return Problem{File: file, Line: line, Message: fmt.Sprintf(
		"not valid YAML: %s (check indentation, and quote values that start with @, * or {)", msg)}
}

// parseDocument decodes data into its root node, recovering from parser panics
// so that no input can crash a check.
func parseDocument(file string, data []byte) (root *yaml.Node, prob *Problem) {
	defer func() {
		if v := recover(); v != nil {
			root, prob = nil, &Problem{File: file, Line: 1, Message: "not valid YAML: the parser gave up on this file; check it with a YAML linter"}
		}
	}()
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		p := syntaxProblem(file, err)
		return nil, &p
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, nil
	}
	return resolve(doc.Content[0]), nil
}

// fields walks a mapping node, reporting duplicate and unknown keys (with the
// nearest known key as a suggestion) and calling fn for every known key.
// A null value counts as an empty mapping.
func (r *reader) fields(n *yaml.Node, what, example string, known []string, fn func(k, v *yaml.Node)) bool {
	n = resolve(n)
	if isNull(n) {
		return true
	}
	if n.Kind != yaml.MappingNode {
		r.add(n, "%s must be a mapping, not %s; write for example %s", what, describe(n), example)
		return false
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolve(n.Content[i]), resolve(n.Content[i+1])
		if k == nil || k.Kind != yaml.ScalarNode {
			r.add(n.Content[i], "keys in %s must be plain words; write one of %s", what, strings.Join(known, ", "))
			continue
		}
		if seen[k.Value] {
			r.add(k, "%q appears twice in %s; keep one of them", k.Value, what)
			continue
		}
		seen[k.Value] = true
		if !contains(known, k.Value) {
			r.unknown(k, what, known)
			continue
		}
		fn(k, v)
	}
	return true
}

func (r *reader) unknown(k *yaml.Node, what string, known []string) {
	if s := nearest(k.Value, known); s != "" {
		r.add(k, "unknown key %q in %s; did you mean %q?", k.Value, what, s)
		return
	}
	r.add(k, "unknown key %q in %s; write one of %s", k.Value, what, strings.Join(known, ", "))
}

// entries walks a mapping of user-chosen names (artifacts, environments).
func (r *reader) entries(n *yaml.Node, what, example string, fn func(k, v *yaml.Node)) {
	n = resolve(n)
	if isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		r.add(n, "%s must be a mapping of names, not %s; write for example %s", what, describe(n), example)
		return
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolve(n.Content[i]), resolve(n.Content[i+1])
		if k == nil || k.Kind != yaml.ScalarNode {
			r.add(n.Content[i], "names in %s must be plain words; write for example %s", what, example)
			continue
		}
		if line, ok := seen[k.Value]; ok {
			r.add(k, "%q is defined twice in %s (first at line %d); rename or remove one", k.Value, what, line)
			continue
		}
		seen[k.Value] = k.Line
		fn(k, v)
	}
}

func (r *reader) str(n *yaml.Node, what, example string) (string, bool) {
	n = resolve(n)
	if n == nil || n.Kind != yaml.ScalarNode || n.Tag != "!!str" {
		r.add(n, "%s must be a string, not %s; write for example %s", what, describe(n), example)
		return "", false
	}
	if strings.TrimSpace(n.Value) == "" {
		r.add(n, "%s is empty; write for example %s", what, example)
		return "", false
	}
	return n.Value, true
}

// strList reads a sequence of strings; a single string is accepted as a
// one-element list.
func (r *reader) strList(n *yaml.Node, what, example string) ([]string, []position) {
	n = resolve(n)
	if isNull(n) {
		return nil, nil
	}
	items := []*yaml.Node{n}
	if n.Kind == yaml.SequenceNode {
		items = n.Content
	} else if n.Kind != yaml.ScalarNode {
		r.add(n, "%s must be a list of strings, not %s; write for example %s", what, describe(n), example)
		return nil, nil
	}
	var out []string
	var pos []position
	for _, it := range items {
		if s, ok := r.str(it, what+" entries", example); ok {
			out = append(out, s)
			pos = append(pos, position{it.Line, it.Column})
		}
	}
	return out, pos
}

func (r *reader) number(n *yaml.Node, what, example string) (float64, bool) {
	n = resolve(n)
	if n == nil || n.Kind != yaml.ScalarNode || (n.Tag != "!!int" && n.Tag != "!!float") {
		r.add(n, "%s must be a number, not %s; write for example %s", what, describe(n), example)
		return 0, false
	}
	var v float64
	if err := n.Decode(&v); err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		r.add(n, "%s: %q is not a finite number; write for example %s", what, n.Value, example)
		return 0, false
	}
	return v, true
}

func (r *reader) integer(n *yaml.Node, what, example string) (int, bool) {
	n = resolve(n)
	if n == nil || n.Kind != yaml.ScalarNode || n.Tag != "!!int" {
		r.add(n, "%s must be a whole number, not %s; write for example %s", what, describe(n), example)
		return 0, false
	}
	var v int
	if err := n.Decode(&v); err != nil || v > math.MaxInt32 || v < math.MinInt32 {
		r.add(n, "%s: %q is out of range; write for example %s", what, n.Value, example)
		return 0, false
	}
	return v, true
}

// describe names a node's type for error messages.
func describe(n *yaml.Node) string {
	n = resolve(n)
	if n == nil {
		return "nothing"
	}
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!null":
			return "empty"
		case "!!int", "!!float":
			return "the number " + n.Value
		case "!!bool":
			return "the boolean " + n.Value
		case "!!str":
			return fmt.Sprintf("the string %q", n.Value)
		}
		return fmt.Sprintf("%q", n.Value)
	}
	return "an unsupported value"
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// nearest returns the known word closest to s by edit distance, or "" when
// none is close enough to be a likely typo.
func nearest(s string, known []string) string {
	best, bestD := "", math.MaxInt
	for _, k := range known {
		if d := editDistance(strings.ToLower(s), k); d < bestD {
			best, bestD = k, d
		}
	}
	limit := 2
	if len(s) > 8 {
		limit = 3
	}
	if bestD <= limit && bestD < len(s) {
		return best
	}
	return ""
}

// editDistance is the Levenshtein distance, or MaxInt for long strings
// (suggestions are for short keys only).
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return math.MaxInt
	}
	return levenshtein.ComputeDistance(a, b)
}

func sortProblems(ps []Problem) {
	sort.SliceStable(ps, func(i, j int) bool {
		if ps[i].File != ps[j].File {
			return ps[i].File < ps[j].File
		}
		if ps[i].Line != ps[j].Line {
			return ps[i].Line < ps[j].Line
		}
		return ps[i].Column < ps[j].Column
	})
}
