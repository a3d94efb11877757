package dbt

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
)

// Load reads the dbt project in folder dir of fsys. It always returns a
// project (empty when dbt_project.yml is missing) and the problems found
// while reading; Validate reports them again along with broken references.
// Files are parsed in parallel, so fsys must allow concurrent reads (as
// os.DirFS and fstest.MapFS do).
func Load(fsys fs.FS, dir string, opts LoadOptions) (*Project, []Problem) {
	dir = path.Clean(strings.Trim(dir, "/"))
	if dir == "" {
		dir = "."
	}
	l := &loader{fsys: fsys, dir: dir, p: &Project{Dir: dir, Models: map[string]*Model{}, Sources: map[string]*Source{}}}
	l.load(opts)
	sort.SliceStable(l.p.problems, func(i, j int) bool {
		a, b := l.p.problems[i], l.p.problems[j]
		if a.File != b.File {
			return a.File < b.File
		}
		return a.Line < b.Line
	})
	return l.p, append([]Problem(nil), l.p.problems...)
}

// loader carries the state of one Load.
type loader struct {
	fsys fs.FS
	dir  string
	p    *Project
	pf   projectFile
	sql  map[string]*parsedSQL // model files by rel, parsed up front
}

// repoPath turns a path relative to the project folder into a repo path.
func (l *loader) repoPath(rel string) string { return path.Join(l.dir, rel) }

func (l *loader) problem(rel string, line int, msg string) {
	l.p.problems = append(l.p.problems, Problem{File: l.repoPath(rel), Line: line, Message: msg})
}

func (l *loader) lineErrors(rel string, errs []lineError) {
	for _, e := range errs {
		l.problem(rel, e.Line, e.Message)
	}
}

func (l *loader) load(opts LoadOptions) {
	data, err := fs.ReadFile(l.fsys, l.repoPath("dbt_project.yml"))
	if err != nil {
		l.problem("dbt_project.yml", 0, fmt.Sprintf("no dbt_project.yml in %s/: point `project:` at the folder that holds dbt_project.yml, or add one with `name:` and `model-paths:`", l.dir))
		return
	}
	var errs []lineError
	l.pf, errs = parseProjectFile(data)
	l.lineErrors("dbt_project.yml", errs)
	l.p.Name = l.pf.Name
	for _, f := range []string{"packages.yml", "dependencies.yml"} {
		data, err := fs.ReadFile(l.fsys, l.repoPath(f))
		if err != nil {
			continue
		}
		names, errs := parsePackages(data)
		l.lineErrors(f, errs)
		l.p.Packages = append(l.p.Packages, names...)
	}
	l.p.Packages = sortedUnique(l.p.Packages)

	manifest := opts.ManifestPath
	if manifest == "" && !opts.IgnoreManifest {
		if _, err := fs.Stat(l.fsys, l.repoPath("target/manifest.json")); err == nil {
			manifest = "target/manifest.json"
		}
	}
	if manifest != "" {
		l.loadManifest(manifest)
		return
	}
	l.loadSources()
}

// sqlFile is one .sql file found under a model path.
type sqlFile struct {
	rel   string // relative to the project folder
	under string // relative to its model path
}

func (l *loader) loadSources() {
	byName := map[string][]sqlFile{}
	var yamls []string
	for _, mp := range l.pf.ModelPaths {
		root := l.repoPath(mp)
		err := fs.WalkDir(l.fsys, root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return nil
			}
			rel := strings.TrimPrefix(strings.TrimPrefix(p, l.dir+"/"), "./")
			if l.dir == "." {
				rel = p
			}
			switch path.Ext(p) {
			case ".sql":
				name := strings.TrimSuffix(path.Base(p), ".sql")
				byName[name] = append(byName[name], sqlFile{rel: rel, under: strings.TrimPrefix(p, root+"/")})
			case ".yml", ".yaml":
				yamls = append(yamls, rel)
			}
			return nil
		})
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			l.problem(mp, 0, "cannot read model path: "+err.Error())
		}
	}
	sort.Strings(yamls)

	var all []sqlFile
	for _, files := range byName {
		all = append(all, files...)
	}
	l.sql = l.parseSQLFiles(all)

	var entries []entryAt
	var units []unitTest
	for i, parsed := range l.parseYAMLFiles(yamls) {
		rel := yamls[i]
		if parsed.readErr != nil {
			l.problem(rel, 0, "cannot read file: "+parsed.readErr.Error())
			continue
		}
		sf := parsed.sf
		l.lineErrors(rel, parsed.errs)
		for _, m := range sf.Models {
			entries = append(entries, entryAt{m, rel})
		}
		for _, s := range sf.Sources {
			s.File = l.repoPath(rel)
			key := s.SourceName + "." + s.Table
			if prev, dup := l.p.Sources[key]; dup {
				l.problem(rel, s.Line, fmt.Sprintf("source table %s is declared twice (also at %s:%d): keep one declaration", key, prev.File, prev.Line))
				continue
			}
			src := s
			l.p.Sources[key] = &src
		}
		units = append(units, sf.UnitTests...)
	}
	l.buildModels(byName, entries)
	l.countUnitTests(units)
	l.countSingularTests()
}

// entryAt is a schema model entry and the file declaring it.
type entryAt struct {
	m   schemaModel
	rel string
}

// buildModels pairs SQL files with schema entries: versioned entries claim
// their version files first, every other file is a model named after it.
func (l *loader) buildModels(byName map[string][]sqlFile, entries []entryAt) {
	seen := map[string]entryAt{}
	claimed := map[string]bool{}
	for _, e := range entries {
		if prev, dup := seen[e.m.Name]; dup {
			l.problem(e.rel, e.m.Line, fmt.Sprintf("model %s is described twice (also in %s:%d): merge the two entries", e.m.Name, l.repoPath(prev.rel), prev.m.Line))
			continue
		}
		seen[e.m.Name] = e
		latest := e.m.LatestVersion
		if latest == "" {
			for _, v := range e.m.Versions {
				if versionLess(latest, v.V) {
					latest = v.V
				}
			}
		}
		for _, v := range e.m.Versions {
			file := v.DefinedIn
			if file == "" {
				file = e.m.Name + "_v" + v.V
			}
			files := byName[file]
			if len(files) == 0 && v.V == latest {
				file, files = e.m.Name, byName[e.m.Name]
			}
			if len(files) == 0 {
				l.problem(e.rel, v.Line, fmt.Sprintf("version %s of model %s has no SQL file: add %s.sql or set defined_in:", v.V, e.m.Name, file))
				continue
			}
			claimed[file] = true
			m := l.newModel(e.m.Name, files[0])
			m.Version, m.LatestVersion = v.V, latest
			l.applyEntry(m, e, v.Config, v.Columns, v.Tests, v.Checksum)
			l.p.Models[modelKey(m.Name, m.Version)] = m
		}
	}
	names := make([]string, 0, len(byName))
	for name := range byName {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if claimed[name] {
			continue
		}
		files := byName[name]
		for _, dup := range files[1:] {
			l.problem(dup.rel, 0, fmt.Sprintf("model name %s is used twice (also %s): dbt needs unique model names, rename one file", name, l.repoPath(files[0].rel)))
		}
		m := l.newModel(name, files[0])
		if e, ok := seen[name]; ok && len(e.m.Versions) == 0 {
			l.applyEntry(m, e, e.m.Config, e.m.Columns, e.m.Tests, e.m.Checksum)
		}
		l.p.Models[name] = m
	}
	for _, e := range entries {
		if _, ok := byName[e.m.Name]; !ok && len(e.m.Versions) == 0 && seen[e.m.Name].rel == e.rel {
			l.problem(e.rel, e.m.Line, fmt.Sprintf("model %s is described here but has no %s.sql under %s: fix the name or add the model", e.m.Name, e.m.Name, strings.Join(l.pf.ModelPaths, ", ")))
		}
	}
	for _, m := range l.p.Models {
		m.ContractEnforced = contractEnforced(m.Config["contract"])
		m.Checksums.Config = configChecksum(m.Config)
	}
}

// newModel reads and parses one model SQL file; configs from
// dbt_project.yml apply first, config() in the file last.
func (l *loader) newModel(name string, f sqlFile) *Model {
	m := &Model{Name: name, Path: l.repoPath(f.rel), Config: l.pf.projectConfig(f.under)}
	parsed := l.sql[f.rel]
	if parsed.readErr != nil {
		l.problem(f.rel, 0, "cannot read file: "+parsed.readErr.Error())
		return m
	}
	m.SQL, m.Checksums.Body = parsed.sql, parsed.sum
	facts := parsed.facts
	l.lineErrors(f.rel, parsed.errs)
	m.Refs, m.SourceRefs = facts.Refs, facts.Sources
	m.sqlConfig = facts.Config
	for k, v := range facts.Config {
		m.Config[k] = v
	}
	return m
}

// applyEntry merges a schema entry into a model; config() in SQL still wins.
func (l *loader) applyEntry(m *Model, e entryAt, cfg map[string]string, cols []Column, tests int, sum string) {
	for k, v := range e.m.Config {
		m.Config[k] = v
	}
	for k, v := range cfg {
		m.Config[k] = v
	}
	for k, v := range m.sqlConfig {
		m.Config[k] = v
	}
	m.Columns, m.Constraints = cols, e.m.Constraints
	m.Tests += tests
	m.YAMLFile, m.YAMLLine = l.repoPath(e.rel), e.m.Line
	m.Checksums.YAML = digest(sum)
}

func (l *loader) countUnitTests(units []unitTest) {
	for _, u := range units {
		for _, m := range l.p.Models {
			if m.Name == u.Model {
				m.Tests++
			}
		}
	}
}

// countSingularTests adds one test to each model a tests/*.sql file refs.
func (l *loader) countSingularTests() {
	res := newResolver(l.p)
	for _, tp := range l.pf.TestPaths {
		_ = fs.WalkDir(l.fsys, l.repoPath(tp), func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || path.Ext(p) != ".sql" {
				return nil
			}
			data, err := fs.ReadFile(l.fsys, p)
			if err != nil {
				return nil
			}
			facts, _ := parseSQL(string(data))
			if facts.Macro {
				return nil
			}
			counted := map[string]bool{}
			for _, r := range facts.Refs {
				if key, _, ok := res.resolve(r); ok && key != "" && !counted[key] {
					counted[key] = true
					l.p.Models[key].Tests++
				}
			}
			return nil
		})
	}
}

// configChecksum digests a config map independent of key order.
func configChecksum(cfg map[string]string) string {
	keys := make([]string, 0, len(cfg))
	for k := range cfg {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%q=%q\n", k, cfg[k])
	}
	return digest(b.String())
}

func digest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
