package repoconfig

import (
	"fmt"
	"path"
	"sort"
	"strings"
)

// Repo is the repository tree at one ref, as Validate needs it.
type Repo interface {
	Files() []string // every file path in the tree, slash-separated, relative to the root
	ReadFile(path string) ([]byte, error)
}

// MapRepo is an in-memory Repo: path -> content.
type MapRepo map[string]string

// Files returns the paths in m, sorted.
func (m MapRepo) Files() []string {
	out := make([]string, 0, len(m))
	for p := range m {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// ReadFile returns the content of p, or an error when it is not in m.
func (m MapRepo) ReadFile(p string) ([]byte, error) {
	s, ok := m[p]
	if !ok {
		return nil, fmt.Errorf("%s: file does not exist", p)
	}
	return []byte(s), nil
}

// Validate checks c against the repository tree and the server config:
// claims that must match a file and match none (app globs), what each kind
// checks in the tree (model pointer files, dbt projects and manifests), and
// deploy drivers the server does not define. A nil repo skips the tree
// checks; a nil drivers map skips the driver check.
func Validate(c *Config, repo Repo, drivers map[string]bool) []Problem {
	if c == nil {
		return nil
	}
	var probs []Problem
	add := func(a *Artifact, at position, format string, args ...any) {
		if at.Line == 0 {
			at = position{Line: a.Line}
		}
		probs = append(probs, Problem{File: Path, Line: max(at.Line, 1), Column: at.Col, Message: fmt.Sprintf(format, args...)})
	}
	if repo != nil {
		files := repo.Files()
		have := make(map[string]bool, len(files))
		for _, f := range files {
			have[f] = true
		}
		cl := NewClassifier(c)
		matched := make([]bool, len(cl.patterns))
		for _, f := range files {
			cl.each(f, func(h hit) {
				if h.pattern >= 0 {
					matched[h.pattern] = true
				}
			})
		}
		for id, ok := range matched {
			if ok {
				continue
			}
			ref := cl.patterns[id]
			a := c.Artifacts[ref.artifact]
			add(a, ref.claim.At, "artifact %q: %s entry %q matches no file at this commit; correct it to a glob over the artifact's files (for example %q) or remove it",
				a.Name, ref.claim.Key, ref.claim.Path, suggestGlob(ref.claim.Path, files))
		}
		tree := tree{repo, have}
		for _, a := range c.Artifacts {
			if a.Spec == nil {
				continue
			}
			a.Spec.Validate(tree, func(p Problem) {
				if p.File != "" {
					probs = append(probs, p)
					return
				}
				add(a, position{Line: p.Line, Col: p.Column}, "artifact %q: %s", a.Name, p.Message)
			})
		}
	}
	if drivers != nil {
		known := make([]string, 0, len(drivers))
		for d := range drivers {
			known = append(known, d)
		}
		sort.Strings(known)
		for _, a := range c.Artifacts {
			if a.Deploy.Driver == "" || drivers[a.Deploy.Driver] {
				continue
			}
			hint := "the server defines none; ask an admin to add one to the server config"
			if s := nearest(a.Deploy.Driver, known); s != "" {
				hint = fmt.Sprintf("did you mean %q?", s)
			} else if len(known) > 0 {
				hint = "write one of " + strings.Join(known, ", ")
			}
			add(a, a.driverAt, "artifact %q: driver %q is not defined in the server config; %s", a.Name, a.Deploy.Driver, hint)
		}
	}
	sortProblems(probs)
	return probs
}

// tree is a Repo as kinds validate against it.
type tree struct {
	Repo
	have map[string]bool
}

func (t tree) Has(p string) bool { return t.have[p] }

// suggestGlob proposes a glob for a pattern that matched nothing: the
// pattern with its first missing folder replaced by the nearest existing one,
// or the deepest existing folder of its literal prefix with "/**".
func suggestGlob(pattern string, files []string) string {
	children := map[string][]string{} // folder -> its subfolders
	seen := map[string]bool{}
	for _, f := range files {
		dir := ""
		for {
			i := strings.IndexByte(f[len(dir):], '/')
			if i < 0 {
				break
			}
			sub := f[:len(dir)+i]
			if !seen[sub] {
				seen[sub] = true
				children[dir] = append(children[dir], path.Base(sub))
			}
			dir = sub + "/"
		}
	}
	segs := strings.Split(pattern, "/")
	dir := ""
	for i, seg := range segs[:len(segs)-1] {
		if strings.ContainsAny(seg, globMeta) {
			break
		}
		if seen[dir+seg] {
			dir += seg + "/"
			continue
		}
		if s := nearest(seg, children[dir]); s != "" {
			return dir + s + "/" + strings.Join(segs[i+1:], "/")
		}
		break
	}
	if dir != "" {
		return dir + "**"
	}
	return "services/web/**"
}
