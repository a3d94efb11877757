// Package examples owns the example monorepo (examples/monorepo) and the
// scripted PR changes replayed over it (examples/changes/<name>), so tests and
// `conveyor demo` can load a repository tree into memory and apply a change.
// It only reads files; it knows nothing about checks, policy or deploys.
package examples

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// ChangeFile is the name of a change's description inside its directory.
const ChangeFile = "change.yaml"

// Change is one scripted PR: files written over the monorepo, files deleted,
// and what Conveyor is expected to conclude.
type Change struct {
	Name        string            // the directory name, for example "good"
	Title       string            `yaml:"title"`
	Description string            `yaml:"description"`
	Expect      Expect            `yaml:"expect"`
	Delete      []string          `yaml:"delete"` // repository paths the change removes
	Files       map[string]string `yaml:"-"`      // repository path -> new content (the files/ overlay)
}

// Expect is the outcome a change should produce.
type Expect struct {
	Gate      string            `yaml:"gate"`      // conclusion of the "conveyor" check: success or failure
	Artifacts map[string]string `yaml:"artifacts"` // artifact -> conclusion of "conveyor / <artifact>"
	Problems  []ExpectProblem   `yaml:"problems"`  // config problems that must be reported
}

// ExpectProblem is a problem a change must produce: in File at Line, with a
// message containing Contains.
type ExpectProblem struct {
	File     string `yaml:"file"`
	Line     int    `yaml:"line"`
	Contains string `yaml:"contains"`
}

// LoadChange reads a change directory: change.yaml and the files/ overlay.
func LoadChange(dir string) (*Change, error) {
	data, err := os.ReadFile(filepath.Join(dir, ChangeFile))
	if err != nil {
		return nil, fmt.Errorf("load change: %w", err)
	}
	ch := &Change{Name: filepath.Base(dir)}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(ch); err != nil {
		return nil, fmt.Errorf("load change %s: %s: %w (write title, description, expect {gate, artifacts} and optional delete)", ch.Name, ChangeFile, err)
	}
	if err := ch.check(); err != nil {
		return nil, fmt.Errorf("load change %s: %w", ch.Name, err)
	}
	ch.Files = map[string]string{}
	overlay := filepath.Join(dir, "files")
	if _, err := os.Stat(overlay); err == nil {
		files, err := readTree(overlay, false)
		if err != nil {
			return nil, fmt.Errorf("load change %s: %w", ch.Name, err)
		}
		ch.Files = files
	}
	if len(ch.Files) == 0 && len(ch.Delete) == 0 {
		return nil, fmt.Errorf("load change %s: it changes nothing; add files under files/ or list paths under delete", ch.Name)
	}
	return ch, nil
}

func (ch *Change) check() error {
	okConclusion := func(s string) bool { return s == "success" || s == "failure" }
	if ch.Title == "" {
		return fmt.Errorf("%s: title is missing; write a PR title", ChangeFile)
	}
	if !okConclusion(ch.Expect.Gate) {
		return fmt.Errorf("%s: expect.gate is %q; write success or failure", ChangeFile, ch.Expect.Gate)
	}
	for name, c := range ch.Expect.Artifacts {
		if !okConclusion(c) {
			return fmt.Errorf("%s: expect.artifacts.%s is %q; write success or failure", ChangeFile, name, c)
		}
	}
	for _, p := range ch.Delete {
		if p == "" || path.IsAbs(p) || path.Clean(p) != p || strings.HasPrefix(p, "../") {
			return fmt.Errorf("%s: delete entry %q is not a clean repository path; write for example models/churn.yaml", ChangeFile, p)
		}
	}
	return nil
}

// Apply returns a copy of files with the change's deletions and overlay
// applied; files itself is not modified.
func (ch *Change) Apply(files map[string]string) map[string]string {
	out := make(map[string]string, len(files)+len(ch.Files))
	for p, s := range files {
		out[p] = s
	}
	for _, p := range ch.Delete {
		delete(out, p)
	}
	for p, s := range ch.Files {
		out[p] = s
	}
	return out
}

// Changed lists the paths the change adds, modifies or deletes, sorted: the
// PR's changed files.
func (ch *Change) Changed() []string {
	seen := map[string]bool{}
	var out []string
	for _, p := range append(append([]string{}, ch.Delete...), mapKeys(ch.Files)...) {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

// LoadRepo reads the tree under dir into memory: slash-separated path
// relative to dir -> content. It skips .git, a top-level changes/ folder and
// any folder holding a change.yaml.
func LoadRepo(dir string) (map[string]string, error) {
	files, err := readTree(dir, true)
	if err != nil {
		return nil, fmt.Errorf("load repo: %w", err)
	}
	return files, nil
}

// LoadChanges loads every change under dir (for example examples/changes),
// sorted by name.
func LoadChanges(dir string) ([]*Change, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("load changes: %w", err)
	}
	var out []*Change
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		ch, err := LoadChange(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		out = append(out, ch)
	}
	return out, nil
}

func readTree(root string, skipChanges bool) (map[string]string, error) {
	files := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel == "." {
				return nil
			}
			if d.Name() == ".git" || (skipChanges && rel == "changes") {
				return fs.SkipDir
			}
			if _, err := os.Stat(filepath.Join(p, ChangeFile)); skipChanges && err == nil {
				return fs.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		files[rel] = string(b)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return files, nil
}

func mapKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
