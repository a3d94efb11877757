package kind

import (
	"path"

	"github.com/agnivade/levenshtein"
	"github.com/bmatcuk/doublestar/v4"

	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Doc walks yaml.v3 nodes of one file and collects problems with
// positions, so every kind's keys are reported in the same words ("<what>
// must be a string, not a list; write for example ...").
type Doc struct {
	File  string
	Probs []Problem
}

// Add records a problem at n (line 1 when n is nil).
func (r *Doc) Add(n *yaml.Node, format string, args ...any) {
	p := Problem{File: r.File, Line: 1, Message: fmt.Sprintf(format, args...)}
	if n != nil && n.Line > 0 {
		p.Line, p.Column = n.Line, n.Column
	}
	r.Probs = append(r.Probs, p)
}

// Resolve follows aliases so "*anchor" values read like the anchored value.
func Resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 8; i++ {
		n = n.Alias
	}
	return n
}

// IsNull reports whether n is absent or an explicit null.
func IsNull(n *yaml.Node) bool {
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

// ParseDocument decodes data into its root node, recovering from parser panics
// so that no input can crash a check.
func ParseDocument(file string, data []byte) (root *yaml.Node, prob *Problem) {
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
	return Resolve(doc.Content[0]), nil
}

// Fields walks a mapping node, reporting duplicate and unknown keys (with the
// nearest known key as a suggestion) and calling fn for every known key.
// A null value counts as an empty mapping.
func (r *Doc) Fields(n *yaml.Node, what, example string, known []string, fn func(k, v *yaml.Node)) bool {
	n = Resolve(n)
	if IsNull(n) {
		return true
	}
	if n.Kind != yaml.MappingNode {
		r.Add(n, "%s must be a mapping, not %s; write for example %s", what, Describe(n), example)
		return false
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := Resolve(n.Content[i]), Resolve(n.Content[i+1])
		if k == nil || k.Kind != yaml.ScalarNode {
			r.Add(n.Content[i], "keys in %s must be plain words; write one of %s", what, strings.Join(known, ", "))
			continue
		}
		if seen[k.Value] {
			r.Add(k, "%q appears twice in %s; keep one of them", k.Value, what)
			continue
		}
		seen[k.Value] = true
		if !Contains(known, k.Value) {
			r.unknown(k, what, known)
			continue
		}
		fn(k, v)
	}
	return true
}

func (r *Doc) unknown(k *yaml.Node, what string, known []string) {
	if s := Nearest(k.Value, known); s != "" {
		r.Add(k, "unknown key %q in %s; did you mean %q?", k.Value, what, s)
		return
	}
	r.Add(k, "unknown key %q in %s; write one of %s", k.Value, what, strings.Join(known, ", "))
}

// Entries walks a mapping of user-chosen names (artifacts, environments).
func (r *Doc) Entries(n *yaml.Node, what, example string, fn func(k, v *yaml.Node)) {
	n = Resolve(n)
	if IsNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		r.Add(n, "%s must be a mapping of names, not %s; write for example %s", what, Describe(n), example)
		return
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := Resolve(n.Content[i]), Resolve(n.Content[i+1])
		if k == nil || k.Kind != yaml.ScalarNode {
			r.Add(n.Content[i], "names in %s must be plain words; write for example %s", what, example)
			continue
		}
		if line, ok := seen[k.Value]; ok {
			r.Add(k, "%q is defined twice in %s (first at line %d); rename or remove one", k.Value, what, line)
			continue
		}
		seen[k.Value] = k.Line
		fn(k, v)
	}
}

// Str reads a non-empty string.
func (r *Doc) Str(n *yaml.Node, what, example string) (string, bool) {
	n = Resolve(n)
	if n == nil || n.Kind != yaml.ScalarNode || n.Tag != "!!str" {
		r.Add(n, "%s must be a string, not %s; write for example %s", what, Describe(n), example)
		return "", false
	}
	if strings.TrimSpace(n.Value) == "" {
		r.Add(n, "%s is empty; write for example %s", what, example)
		return "", false
	}
	return n.Value, true
}

// StrList reads a sequence of strings; a single string is accepted as a
// one-element list.
func (r *Doc) StrList(n *yaml.Node, what, example string) ([]string, []Pos) {
	n = Resolve(n)
	if IsNull(n) {
		return nil, nil
	}
	items := []*yaml.Node{n}
	if n.Kind == yaml.SequenceNode {
		items = n.Content
	} else if n.Kind != yaml.ScalarNode {
		r.Add(n, "%s must be a list of strings, not %s; write for example %s", what, Describe(n), example)
		return nil, nil
	}
	var out []string
	var pos []Pos
	for _, it := range items {
		if s, ok := r.Str(it, what+" entries", example); ok {
			out = append(out, s)
			pos = append(pos, Pos{it.Line, it.Column})
		}
	}
	return out, pos
}

// Number reads a finite number.
func (r *Doc) Number(n *yaml.Node, what, example string) (float64, bool) {
	n = Resolve(n)
	if n == nil || n.Kind != yaml.ScalarNode || (n.Tag != "!!int" && n.Tag != "!!float") {
		r.Add(n, "%s must be a number, not %s; write for example %s", what, Describe(n), example)
		return 0, false
	}
	var v float64
	if err := n.Decode(&v); err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		r.Add(n, "%s: %q is not a finite number; write for example %s", what, n.Value, example)
		return 0, false
	}
	return v, true
}

// Integer reads a whole number that fits 32 bits.
func (r *Doc) Integer(n *yaml.Node, what, example string) (int, bool) {
	n = Resolve(n)
	if n == nil || n.Kind != yaml.ScalarNode || n.Tag != "!!int" {
		r.Add(n, "%s must be a whole number, not %s; write for example %s", what, Describe(n), example)
		return 0, false
	}
	var v int
	if err := n.Decode(&v); err != nil || v > math.MaxInt32 || v < math.MinInt32 {
		r.Add(n, "%s: %q is out of range; write for example %s", what, n.Value, example)
		return 0, false
	}
	return v, true
}

// Describe names a node's type for error messages.
func Describe(n *yaml.Node) string {
	n = Resolve(n)
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

// Contains reports whether list holds s.
func Contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// Nearest returns the known word closest to s by edit distance, or "" when
// none is close enough to be a likely typo.
func Nearest(s string, known []string) string {
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

// SortProblems orders problems by file, line and column.
func SortProblems(ps []Problem) {
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

// Has reports whether mapping n has key.
func Has(n *yaml.Node, key string) bool {
	n = Resolve(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return false
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := Resolve(n.Content[i]); k != nil && k.Value == key {
			return true
		}
	}
	return false
}

// NodeAt returns the i-th item of a sequence node, or the node itself when it
// is a single scalar written in place of a list.
func NodeAt(n *yaml.Node, i int) *yaml.Node {
	n = Resolve(n)
	if n != nil && n.Kind == yaml.SequenceNode && i < len(n.Content) {
		return n.Content[i]
	}
	return n
}

// Problem is one thing wrong with a file, with its position. Line and Column
// are 1-based; Column is 0 when unknown. Message says what is wrong and what
// to write instead.
type Problem struct {
	File    string
	Line    int
	Column  int
	Message string
}

// String renders the problem as file:line:column: message.
func (p Problem) String() string {
	switch {
	case p.Line == 0:
		return fmt.Sprintf("%s: %s", p.File, p.Message)
	case p.Column == 0:
		return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Message)
	default:
		return fmt.Sprintf("%s:%d:%d: %s", p.File, p.Line, p.Column, p.Message)
	}
}

// CheckGlob returns why p is not a usable repository glob, or "".
func CheckGlob(p string) string {
	if msg := checkRelative(p, "services/web/**"); msg != "" {
		return msg
	}
	if !doublestar.ValidatePattern(p) {
		return `is not a valid glob (check brackets and braces); write for example "services/web/**"`
	}
	return ""
}

// CheckFilePath returns why p is not a clean repository-relative path, or "".
func CheckFilePath(p, example string) string {
	if msg := checkRelative(p, example); msg != "" {
		return msg
	}
	if path.Clean(p) != p || strings.ContainsAny(p, "*?[{\\") {
		return "is not a plain path (no globs, doubled or trailing slashes); write for example " + example
	}
	return ""
}

func checkRelative(p, example string) string {
	switch {
	case strings.HasPrefix(p, "/"):
		return "must be relative to the repository root; drop the leading / (for example " + example + ")"
	case strings.HasPrefix(p, "./"):
		return "must be relative to the repository root; drop the leading ./ (for example " + example + ")"
	case p == ".." || strings.HasPrefix(p, "../") || strings.Contains(p, "/../") || strings.HasSuffix(p, "/.."):
		return "must stay inside the repository; remove the .. segments (for example " + example + ")"
	}
	return ""
}
