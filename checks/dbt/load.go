package dbt

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Load reads the dbt project in folder dir of fsys. It always returns a
// project (empty when dbt_project.yml is missing) and the problems found
// while reading; Validate reports them again along with broken references,
// and Warnings lists what leaves the analysis incomplete. Only the project
// folder and its installed packages are read. Files are parsed in parallel,
// so fsys must allow concurrent reads (as os.DirFS and fstest.MapFS do).
func Load(fsys fs.FS, dir string, opts LoadOptions) (*Project, []Problem) {
	l := newLoader(fsys, dir)
	l.load(opts, true)
	sortProblems(l.p.problems)
	sortProblems(l.p.warnings)
	return l.p, append([]Problem(nil), l.p.problems...)
}

func newLoader(fsys fs.FS, dir string) *loader {
	dir = path.Clean(strings.Trim(dir, "/"))
	if dir == "" {
		dir = "."
	}
	return &loader{fsys: fsys, dir: dir, p: &Project{Dir: dir, Models: map[string]*Model{}, Sources: map[string]*Source{},
		Disabled: map[string]*Model{}, Deps: map[string]*Project{}, Macros: map[string]*Macro{}}}
}

func sortProblems(ps []Problem) {
	sort.SliceStable(ps, func(i, j int) bool {
		a, b := ps[i], ps[j]
		if a.File != b.File {
			return a.File < b.File
		}
		return a.Line < b.Line
	})
}

// MaxModelFiles is the most model files Load parses from source (about 5 s
// of CPU per state on the project's machine; see docs/performance.md).
const MaxModelFiles = 50000

// loader carries the state of one Load.
type loader struct {
	fsys fs.FS
	dir  string
	p    *Project
	pf   projectFile
	sql  map[string]*parsedSQL // node files by rel, parsed up front
	// pkgName is "" for the root project, else the package being read.
	pkgName string
	decl    []declaredPackage
	walked  map[string][]sqlFile // files under each folder walked
	root    *projectFile         // the root project, when reading a package
}

// repoPath turns a path relative to the project folder into a repo path.
func (l *loader) repoPath(rel string) string { return path.Join(l.dir, rel) }

func (l *loader) problem(rel string, line int, msg string) {
	l.p.problems = append(l.p.problems, Problem{File: l.repoPath(rel), Line: line, Message: msg})
}

func (l *loader) warn(rel string, line int, msg string) {
	l.p.warnings = append(l.p.warnings, Problem{File: l.repoPath(rel), Line: line, Message: msg, Warning: true})
}

func (l *loader) lineErrors(rel string, errs []lineError) {
	for _, e := range errs {
		if e.Warn {
			l.warn(rel, e.Line, e.Message)
		} else {
			l.problem(rel, e.Line, e.Message)
		}
	}
}

func (l *loader) load(opts LoadOptions, root bool) {
	data, err := fs.ReadFile(l.fsys, l.repoPath("dbt_project.yml"))
	if err != nil {
		l.problem("dbt_project.yml", 0, fmt.Sprintf("no dbt_project.yml in %s/: point `project:` at the folder that holds dbt_project.yml, or add one with `name:` and `model-paths:`", l.dir))
		return
	}
	var errs []lineError
	l.pf, errs = parseProjectFile(data)
	l.lineErrors("dbt_project.yml", errs)
	if l.root != nil {
		maps.Copy(l.pf.Vars, l.root.varsFor(l.pf.Name))
	}
	l.p.Name = l.pf.Name
	if !root {
		l.loadSources(false)
		return
	}
	// The adapter: the config's, else the manifest's (loadManifest), else
	// a committed profiles.yml's.
	l.p.Adapter = strings.ToLower(opts.Adapter)
	defer func() {
		if l.p.Adapter != "" {
			return
		}
		if data, err := fs.ReadFile(l.fsys, l.repoPath("profiles.yml")); err == nil {
			l.p.Adapter = profileAdapter(data, l.pf.Profile)
		}
	}()
	for _, f := range []string{"packages.yml", "dependencies.yml"} {
		data, err := fs.ReadFile(l.fsys, l.repoPath(f))
		if err != nil {
			continue
		}
		decl, errs := parsePackages(data)
		l.lineErrors(f, errs)
		for i := range decl {
			decl[i].file = f
			l.p.Packages = append(l.p.Packages, decl[i].name)
		}
		l.decl = append(l.decl, decl...)
	}
	l.p.Packages = sortedUnique(l.p.Packages)

	if opts.Manifest != nil && !opts.IgnoreManifest {
		name := opts.ManifestName
		if name == "" {
			name = "manifest.json"
		}
		if l.loadManifestData(name, opts.Manifest, false) {
			return
		}
	}
	manifest := opts.ManifestPath
	if opts.IgnoreManifest {
		manifest = ""
	} else if manifest == "" {
		if _, err := fs.Stat(l.fsys, l.repoPath("target/manifest.json")); err == nil {
			manifest = "target/manifest.json"
		}
	}
	if manifest != "" && l.loadManifest(manifest) {
		return
	}
	l.loadSources(true)
}

// sqlFile is one node file found under a resource path.
type sqlFile struct {
	rel   string // relative to the project folder
	under string // relative to its resource path
}

// walk lists the files under the given project-relative folders whose
// extension is in exts, once each, sorted. Each folder is walked once per
// Load whatever the extensions asked (directory listings of an in-memory
// tree cost a pass over the tree each).
func (l *loader) walk(folders []string, exts ...string) []sqlFile {
	var out []sqlFile
	seen := map[string]bool{}
	for _, mp := range folders {
		for _, f := range l.folder(mp) {
			if !seen[f.rel] && slices.Contains(exts, path.Ext(f.rel)) {
				seen[f.rel] = true
				out = append(out, f)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].rel < out[j].rel })
	return out
}

// folder lists every file under one project-relative folder (cached).
func (l *loader) folder(mp string) []sqlFile {
	if files, ok := l.walked[mp]; ok {
		return files
	}
	var files []sqlFile
	root := l.repoPath(mp)
	err := fs.WalkDir(l.fsys, root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		rel := p
		if l.dir != "." {
			rel = strings.TrimPrefix(p, l.dir+"/")
		}
		files = append(files, sqlFile{rel: rel, under: strings.TrimPrefix(p, root+"/")})
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		l.problem(mp, 0, "cannot read folder: "+err.Error())
	}
	if l.walked == nil {
		l.walked = map[string][]sqlFile{}
	}
	l.walked[mp] = files
	return files
}

func (l *loader) loadSources(root bool) {
	modelFiles := l.walk(l.pf.ModelPaths, ".sql", ".py")
	if len(modelFiles) > MaxModelFiles {
		// Bounded cost: a tree this large is refused with one clear
		// problem rather than read for minutes and gigabytes.
		l.problem("dbt_project.yml", 0, fmt.Sprintf("the project has %d model files, more than the %d Conveyor analyses: commit target/manifest.json and set manifest: in .github/conveyor.yml, or split the project",
			len(modelFiles), MaxModelFiles))
		return
	}
	snapFiles := l.walk(l.pf.SnapshotPaths, ".sql")
	byName := map[string][]sqlFile{}
	for _, f := range modelFiles {
		name := strings.TrimSuffix(path.Base(f.rel), path.Ext(f.rel))
		byName[name] = append(byName[name], f)
	}
	yamlPaths := slices.Concat(l.pf.ModelPaths, l.pf.SeedPaths, l.pf.SnapshotPaths, l.pf.MacroPaths)
	var yamls []string
	for _, f := range l.walk(yamlPaths, ".yml", ".yaml") {
		yamls = append(yamls, f.rel)
	}
	l.sql = l.parseSQLFiles(slices.Concat(modelFiles, snapFiles))
	l.loadMacros()

	var entries, seedEntries, snapEntries []entryAt
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
		for _, m := range sf.Seeds {
			seedEntries = append(seedEntries, entryAt{m, rel})
		}
		for _, m := range sf.Snapshots {
			snapEntries = append(snapEntries, entryAt{m, rel})
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
		for _, x := range sf.Exposures {
			x.File = l.repoPath(rel)
			l.p.Exposures = append(l.p.Exposures, x)
		}
		units = append(units, sf.UnitTests...)
	}
	l.buildModels(byName, entries)
	l.buildSeeds(seedEntries)
	l.buildSnapshots(snapFiles, snapEntries)
	if !root {
		return
	}
	l.loadDeps()
	l.linkMacros()
	l.countUnitTests(units)
	l.countSingularTests()
	for _, m := range l.p.Models {
		finishChecksums(m)
	}
}

// entryAt is a schema model entry and the file declaring it.
type entryAt struct {
	m   schemaModel
	rel string
}

// buildModels pairs SQL and Python files with schema entries: versioned
// entries claim their version files first, every other file is a model
// named after it.
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
			m.Version, m.LatestVersion, m.DeprecationDate = v.V, latest, v.DeprecationDate
			l.applyEntry(m, e, v.Config, v.Columns, v.Tests)
			m.TestsSum = v.TestsSig
			l.place(modelKey(m.Name, m.Version), m)
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
		for _, f := range byName[name] {
			m := l.newModel(name, f)
			if e, ok := seen[name]; ok && len(e.m.Versions) == 0 {
				l.applyEntry(m, e, e.m.Config, e.m.Columns, e.m.Tests)
			}
			l.place(name, m)
		}
	}
	for _, e := range entries {
		if _, ok := byName[e.m.Name]; !ok && len(e.m.Versions) == 0 && seen[e.m.Name].rel == e.rel {
			// dbt only warns here ("Did not find matching node for patch",
			// core/dbt/parser/schemas.py): the project still builds.
			l.warn(e.rel, e.m.Line, fmt.Sprintf("model %s is described here but has no %s.sql under %s: fix the name or add the model", e.m.Name, e.m.Name, strings.Join(l.pf.ModelPaths, ", ")))
		}
	}
}

// place adds a node under key, or to Disabled when its config disables it.
// Two enabled nodes of one name are an error; a disabled twin is not (dbt
// allows one enabled node per name, e.g. one per adapter).
func (l *loader) place(key string, m *Model) {
	m.pkg = l.pkgName
	if !enabled(m.Config["enabled"], l.pf.Vars) {
		l.p.Disabled[m.Path+"#"+key] = m
		return
	}
	if prev, dup := l.p.Models[key]; dup {
		l.problem(strings.TrimPrefix(m.Path, l.dir+"/"), 0, fmt.Sprintf("%s name %s is used twice (also %s): dbt needs unique names for models, seeds and snapshots, rename one file",
			m.Resource, key, prev.Path))
		return
	}
	l.p.Models[key] = m
}

// enabled decides an enabled config as dbt renders it: false/False, a
// Jinja expression decided by project vars ("{{ var('x', false) }}" in
// YAML), or the expression a config() call passes as it is
// (enabled=var('x', false) | as_bool). What cannot be decided counts as
// enabled.
func enabled(raw string, vars map[string]string) bool {
	raw = strings.TrimSpace(raw)
	switch strings.ToLower(raw) {
	case "":
		return true
	case "true", "false", "yes", "no", "0", "1", "none", "null":
		return truthy(raw) && !strings.EqualFold(raw, "no")
	}
	expr := raw
	if inner, ok := strings.CutPrefix(raw, "{{"); ok {
		expr = strings.Trim(strings.TrimSuffix(inner, "}}"), "-")
	}
	v, known := (&scope{vars: vars}).value(lexJinja(expr))
	return !known || truthy(v)
}

// newModel reads and parses one model file; configs from dbt_project.yml
// apply first, config() in the file last.
func (l *loader) newModel(name string, f sqlFile) *Model {
	m := &Model{Name: name, Resource: ResourceModel, Language: "sql", Path: l.repoPath(f.rel), Config: l.packageConfig("models", f.under),
		fqn: strings.TrimSuffix(f.under, path.Ext(f.under))}
	if path.Ext(f.rel) == ".py" {
		m.Language = "python"
	}
	parsed := l.sql[f.rel]
	if parsed.readErr != nil {
		l.problem(f.rel, 0, "cannot read file: "+parsed.readErr.Error())
		return m
	}
	m.SQL, m.Checksums.Body = parsed.sql, parsed.sum
	facts := parsed.facts
	l.lineErrors(f.rel, parsed.errs)
	m.Refs, m.SourceRefs = facts.Refs, facts.Sources
	m.calls, m.dispatch = facts.Calls, facts.Dispatches
	m.sqlConfig = facts.Config
	for k, v := range facts.Config {
		m.Config[k] = v
	}
	return m
}

// applyEntry merges a schema entry into a node; config() in SQL still wins.
func (l *loader) applyEntry(m *Model, e entryAt, cfg map[string]string, cols []Column, tests int) {
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
	m.Description, m.TestsSum = e.m.Description, e.m.TestsSig
	if m.DeprecationDate == "" {
		m.DeprecationDate = e.m.DeprecationDate
	}
	if e.m.Access != "" && m.Config["access"] == "" {
		m.Config["access"] = e.m.Access
	}
}

// countUnitTests adds each unit test to the models it targets (all
// versions of a versioned model), in one pass.
func (l *loader) countUnitTests(units []unitTest) {
	byName := make(map[string][]*Model, len(l.p.Models))
	for _, m := range l.p.Models {
		byName[m.Name] = append(byName[m.Name], m)
	}
	for _, u := range units {
		for _, m := range byName[u.Model] {
			m.Tests++
			m.TestsSum += u.Sig
		}
	}
}

// countSingularTests adds one test to each node a tests/*.sql file refs.
func (l *loader) countSingularTests() {
	res := newResolver(l.p)
	for _, f := range l.walk(l.pf.TestPaths, ".sql") {
		data, err := fs.ReadFile(l.fsys, l.repoPath(f.rel))
		if err != nil {
			continue
		}
		facts, _ := parseSQLWith(string(data), l.pf.Vars)
		if facts.Macro {
			continue
		}
		counted := map[string]bool{}
		for _, r := range facts.Refs {
			if key, st := res.resolve(r); st == refRoot && !counted[key] {
				counted[key] = true
				m := l.p.Models[key]
				m.Tests++
				m.TestsSum += f.rel + digest(string(data))
			}
		}
	}
}

// configChecksum digests a config map independent of key order.
func configChecksum(cfg map[string]string) string {
	keys := make([]string, 0, len(cfg))
	for k := range cfg {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	buf := make([]byte, 0, 256)
	for _, k := range keys {
		buf = strconv.AppendQuote(buf, k)
		buf = append(buf, '=')
		buf = strconv.AppendQuote(buf, cfg[k])
		buf = append(buf, '\n')
	}
	sum := sha256.Sum256(buf)
	return hex.EncodeToString(sum[:])
}

func digest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
