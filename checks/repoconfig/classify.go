package repoconfig

import (
	"strings"

	"github.com/bmatcuk/doublestar/v4"

	"github.com/conveyor-dev/conveyor/checks/kind"
)

// Classifier maps changed file paths to the artifacts they touch. It is built
// once per config and is safe for concurrent use.
//
// Globs are indexed by their literal directory prefix in a trie, so a file is
// only matched against the globs whose prefix it lies under; "dir/**" globs,
// dbt project folders and exact paths need no glob matching at all.
type Classifier struct {
	names    []string
	patterns []globRef        // claims that must match a file, by pattern id
	exact    map[string][]hit // literal paths: File claims, literal globs
	root     *trieNode
}

// globRef says which artifact and which of its claims a pattern id stands for.
type globRef struct {
	artifact int
	claim    kind.Claim
}

// hit is one way a file can touch an artifact; pattern is -1 when the hit
// does not come from a claim that must match.
type hit struct{ artifact, pattern int }

type globHit struct {
	hit
	glob string
}

type trieNode struct {
	children map[string]*trieNode
	all      []hit     // every file under this folder
	globs    []globHit // files under this folder that match glob
}

// NewClassifier precompiles the file claims of c's artifacts (their
// kinds' globs, files and folders).
func NewClassifier(c *Config) *Classifier {
	cl := &Classifier{exact: map[string][]hit{}, root: &trieNode{}}
	for ai, a := range c.Artifacts {
		cl.names = append(cl.names, a.Name)
		if a.Spec == nil {
			continue
		}
		for _, cm := range a.Spec.Claims() {
			if cm.Path == "" {
				continue
			}
			h := hit{ai, -1}
			if cm.MustMatch {
				h.pattern = len(cl.patterns)
				cl.patterns = append(cl.patterns, globRef{ai, cm})
			}
			switch cm.Kind {
			case kind.Glob:
				cl.addGlob(h, cm.Path)
			case kind.File:
				cl.exact[cm.Path] = append(cl.exact[cm.Path], h)
			case kind.Folder:
				n := cl.node(cm.Path)
				n.all = append(n.all, h)
			}
		}
	}
	return cl
}

const globMeta = "*?[{\\"

func (cl *Classifier) addGlob(h hit, pattern string) {
	if !strings.ContainsAny(pattern, globMeta) {
		cl.exact[pattern] = append(cl.exact[pattern], h)
		return
	}
	segs := strings.Split(pattern, "/")
	lit := 0
	for lit < len(segs) && !strings.ContainsAny(segs[lit], globMeta) {
		lit++
	}
	prefix := strings.Join(segs[:lit], "/")
	n := cl.node(prefix)
	if lit == len(segs)-1 && segs[lit] == "**" {
		n.all = append(n.all, h)
		// "dir/**" also matches "dir" itself; keep doublestar's answer.
		if prefix != "" && doublestar.MatchUnvalidated(pattern, prefix) {
			cl.exact[prefix] = append(cl.exact[prefix], h)
		}
		return
	}
	n.globs = append(n.globs, globHit{h, pattern})
}

// node returns the trie node of a folder ("" or "." is the root), creating it.
func (cl *Classifier) node(dir string) *trieNode {
	n := cl.root
	if dir == "" || dir == "." {
		return n
	}
	for _, seg := range strings.Split(dir, "/") {
		if n.children == nil {
			n.children = map[string]*trieNode{}
		}
		c := n.children[seg]
		if c == nil {
			c = &trieNode{}
			n.children[seg] = c
		}
		n = c
	}
	return n
}

// each calls fn for every way file touches an artifact (possibly several
// times for one artifact).
func (cl *Classifier) each(file string, fn func(hit)) {
	for _, h := range cl.exact[file] {
		fn(h)
	}
	n := cl.root
	rest := file
	for n != nil {
		for _, h := range n.all {
			fn(h)
		}
		for _, g := range n.globs {
			if doublestar.MatchUnvalidated(g.glob, file) {
				fn(g.hit)
			}
		}
		i := strings.IndexByte(rest, '/')
		if i < 0 {
			return
		}
		n = n.children[rest[:i]]
		rest = rest[i+1:]
	}
}

// Classify returns, for every touched artifact, its changed files in input
// order, and the changed files no artifact claims. A file may touch several
// artifacts; a file listed twice is counted once.
func (cl *Classifier) Classify(changed []string) (touched map[string][]string, unowned []string) {
	touched = map[string][]string{}
	last := make([]int, len(cl.names))
	for i := range last {
		last[i] = -1
	}
	seen := make(map[string]bool, len(changed))
	for i, f := range changed {
		if seen[f] {
			continue
		}
		seen[f] = true
		matched := false
		cl.each(f, func(h hit) {
			matched = true
			if last[h.artifact] != i {
				last[h.artifact] = i
				name := cl.names[h.artifact]
				touched[name] = append(touched[name], f)
			}
		})
		if !matched {
			unowned = append(unowned, f)
		}
	}
	return touched, unowned
}

// Match returns the names of the artifacts one file touches, in config order.
func (cl *Classifier) Match(file string) []string {
	seen := make([]bool, len(cl.names))
	cl.each(file, func(h hit) { seen[h.artifact] = true })
	var out []string
	for i, ok := range seen {
		if ok {
			out = append(out, cl.names[i])
		}
	}
	return out
}
