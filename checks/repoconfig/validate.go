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

// Validate checks c against the repository tree and the server config: app
// globs that match no file, model pointer files that are missing or invalid,
// dbt folders without dbt_project.yml, dbt manifests that are missing, and
// deploy drivers the server does not define. A nil repo skips the tree checks;
// a nil drivers map skips the driver check.
func Validate(c *Config, repo Repo, drivers map[string]bool) []Problem {
	if c == nil {
		return nil
	}
	var probs []Problem
	add := func(a *Artifact, at position, format string, args ...any) {
		if at.line == 0 {
			at = position{a.Line, 0}
		}
		probs = append(probs, Problem{File: Path, Line: max(at.line, 1), Column: at.col, Message: fmt.Sprintf(format, args...)})
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
			var at position
			if ref.index < len(a.pos.paths) {
				at = a.pos.paths[ref.index]
			}
			add(a, at, "artifact %q: paths entry %q matches no file at this commit; correct it to a glob over the artifact's files (for example %q) or remove it",
				a.Name, a.Paths[ref.index], suggestGlob(a.Paths[ref.index], files))
		}
		for _, a := range c.Artifacts {
			switch {
			case a.Kind == KindModel && a.Pointer != "":
				probs = append(probs, validatePointer(a, repo, have, add)...)
			case a.Kind == KindDBT && a.Project != "":
				if f := path.Join(a.Project, "dbt_project.yml"); !have[f] {
					add(a, a.pos.project, "artifact %q: project %q has no dbt_project.yml (looked for %s); write the folder that holds dbt_project.yml", a.Name, a.Project+"/", f)
				}
				if a.Manifest != "" && !have[a.Manifest] {
					add(a, a.pos.manifest, "artifact %q: manifest %s does not exist at this commit; commit it or remove the manifest key so the project is parsed from source", a.Name, a.Manifest)
				}
			}
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
			add(a, a.pos.driver, "artifact %q: driver %q is not defined in the server config; %s", a.Name, a.Deploy.Driver, hint)
		}
	}
	sortProblems(probs)
	return probs
}

func validatePointer(a *Artifact, repo Repo, have map[string]bool, add func(*Artifact, position, string, ...any)) []Problem {
	if !have[a.Pointer] {
		add(a, a.pos.pointer, "artifact %q: pointer file %s does not exist at this commit; create it with registry, model and version, or correct the path", a.Name, a.Pointer)
		return nil
	}
	data, err := repo.ReadFile(a.Pointer)
	if err != nil {
		add(a, a.pos.pointer, "artifact %q: pointer file %s could not be read; check that it is a regular file", a.Name, a.Pointer)
		return nil
	}
	_, probs := ParsePointer(data)
	for i := range probs {
		probs[i].File = a.Pointer
	}
	return probs
}

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
