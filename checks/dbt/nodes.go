package dbt

import (
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strings"
)

// maxSeedSize is dbt's MAXIMUM_SEED_SIZE (core/dbt/constants.py): a larger
// seed is not hashed; its checksum is its path (read_files.py,
// load_seed_source_file), so editing it does not make it modified.
const maxSeedSize = 1 << 20

// buildSeeds adds a node per .csv under the seed paths, with configs from
// dbt_project.yml `seeds:` and the seed's YAML entry.
func (l *loader) buildSeeds(entries []entryAt) {
	byName := map[string]entryAt{}
	for _, e := range entries {
		byName[e.m.Name] = e
	}
	for _, f := range l.walk(l.pf.SeedPaths, ".csv") {
		name := strings.TrimSuffix(path.Base(f.rel), ".csv")
		m := &Model{Name: name, Resource: ResourceSeed, Path: l.repoPath(f.rel), Config: l.packageConfig("seeds", f.under),
			fqn: strings.TrimSuffix(f.under, ".csv")}
		m.Checksums.Body = l.seedChecksum(f.rel)
		if e, ok := byName[name]; ok {
			l.applyEntry(m, e, nil, e.m.Columns, e.m.Tests)
		}
		l.place(name, m)
	}
}

// seedChecksum is dbt's seed checksum: sha256 of the stripped contents,
// or "path:" and the path for a seed over 1 MiB.
func (l *loader) seedChecksum(rel string) string {
	info, err := fs.Stat(l.fsys, l.repoPath(rel))
	if err != nil {
		return ""
	}
	if info.Size() > maxSeedSize {
		return "path:" + rel
	}
	data, err := fs.ReadFile(l.fsys, l.repoPath(rel))
	if err != nil {
		return ""
	}
	return fileChecksum(data)
}

// fileChecksum is dbt's FileHash.from_contents of a file read with
// strip=True (core/dbt/parser/read_files.py): sha256 of the contents
// without leading and trailing whitespace. A manifest's node checksum is
// this value, so it can be checked against the files.
func fileChecksum(data []byte) string {
	return digest(strings.TrimSpace(string(data)))
}

var (
	reSnapshotStart = regexp.MustCompile(`\{%-?\s*snapshot\s+([A-Za-z_][A-Za-z0-9_]*)\s*-?%\}`)
	reSnapshotEnd   = regexp.MustCompile(`\{%-?\s*endsnapshot\s*-?%\}`)
)

// buildSnapshots adds a node per {% snapshot name %} block under the
// snapshot paths and per YAML snapshot with a relation: (dbt 1.9+).
func (l *loader) buildSnapshots(files []sqlFile, entries []entryAt) {
	byName := map[string]entryAt{}
	for _, e := range entries {
		byName[e.m.Name] = e
	}
	for _, f := range files {
		parsed := l.sql[f.rel]
		if parsed == nil || parsed.readErr != nil {
			continue
		}
		src := parsed.sql
		for _, loc := range reSnapshotStart.FindAllStringSubmatchIndex(src, 64) {
			name := src[loc[2]:loc[3]]
			body := src[loc[1]:]
			if end := reSnapshotEnd.FindStringIndex(body); end != nil {
				body = body[:end[0]]
			}
			offset := strings.Count(src[:loc[1]], "\n")
			facts, errs := parseSQLWith(body, l.pf.Vars)
			for i := range errs {
				errs[i].Line += offset
			}
			l.lineErrors(f.rel, errs)
			dir := path.Dir(f.under)
			m := &Model{Name: name, Resource: ResourceSnapshot, Path: l.repoPath(f.rel), SQL: body,
				Config: l.packageConfig("snapshots", path.Join(dir, name)), fqn: path.Join(dir, name)}
			m.Checksums.Body = parsed.sum
			m.Refs, m.SourceRefs = shiftRefs(facts.Refs, offset), shiftSources(facts.Sources, offset)
			m.calls, m.dispatch, m.sqlConfig = facts.Calls, facts.Dispatches, facts.Config
			for k, v := range facts.Config {
				m.Config[k] = v
			}
			if e, ok := byName[name]; ok {
				l.applyEntry(m, e, nil, e.m.Columns, e.m.Tests)
				delete(byName, name)
			}
			l.place(name, m)
		}
	}
	names := make([]string, 0, len(byName))
	for name := range byName {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		e := byName[name]
		if e.m.Relation == "" {
			l.problem(e.rel, e.m.Line, fmt.Sprintf("snapshot %s is described here but has no {%% snapshot %s %%} block and no relation: add one", name, name))
			continue
		}
		facts, _ := parseSQLWith("{{ "+e.m.Relation+" }}", l.pf.Vars)
		m := &Model{Name: name, Resource: ResourceSnapshot, Path: l.repoPath(e.rel), Config: l.packageConfig("snapshots", name), fqn: name}
		m.Checksums.Body = digest(e.m.Checksum)
		m.Refs, m.SourceRefs = shiftRefs(facts.Refs, e.m.Line-1), shiftSources(facts.Sources, e.m.Line-1)
		l.applyEntry(m, e, nil, e.m.Columns, e.m.Tests)
		l.place(name, m)
	}
}

func shiftRefs(rs []Ref, by int) []Ref {
	for i := range rs {
		rs[i].Line += by
	}
	return rs
}

func shiftSources(ss []SourceRef, by int) []SourceRef {
	for i := range ss {
		ss[i].Line += by
	}
	return ss
}

var (
	rePersistRelation = regexp.MustCompile(`(?i)['"]?relation['"]?\s*[:=]\s*['"]?true\b`)
	rePersistColumns  = regexp.MustCompile(`(?i)['"]?columns['"]?\s*[:=]\s*['"]?true\b`)
)

// finishChecksums computes the state digests once configs are merged.
func finishChecksums(m *Model) {
	m.ContractEnforced = contractEnforced(m.Config["contract"])
	m.Checksums.Config = configChecksum(m.Config)
	m.Checksums.FQN = m.pkg + "/" + m.fqn + "/" + m.Version
	m.Checksums.RefRepr = digest(m.LatestVersion + "\x00" + m.Config["access"] + "\x00" + m.DeprecationDate)
	m.Checksums.Contract = contractChecksum(m)
	// same_persisted_description: descriptions count only when
	// persist_docs writes them to the warehouse.
	var docs strings.Builder
	pd := m.Config["persist_docs"]
	if pd != "" && rePersistRelation.MatchString(pd) {
		docs.WriteString(m.Description)
	}
	if pd != "" && rePersistColumns.MatchString(pd) {
		for _, c := range m.Columns {
			fmt.Fprintf(&docs, "\x00%s=%s", c.Name, c.Description)
		}
	}
	m.Checksums.PersistedDocs = digest(docs.String())
	all := m.Description
	for _, c := range m.Columns {
		all += "\x00" + c.Name + "=" + c.Description
	}
	m.DocsSum = digest(all)
	m.TestsSum = digest(m.TestsSum)
}

// contractChecksum follows ModelNode.build_contract_checksum: columns sorted
// by name with data_type and constraints, plus the materialization and
// model constraints when the materialization enforces constraints.
func contractChecksum(m *Model) string {
	if !m.ContractEnforced {
		return ""
	}
	cols := append([]Column(nil), m.Columns...)
	sort.Slice(cols, func(i, j int) bool { return cols[i].Name < cols[j].Name })
	var b strings.Builder
	for _, c := range cols {
		fmt.Fprintf(&b, "|%s%s%v", c.Name, c.DataType, c.Constraints)
	}
	if enforcesConstraints(m) {
		b.WriteString(m.Config["materialized"])
		for _, k := range m.Constraints {
			fmt.Fprintf(&b, "%s%v", k.Type, k.Columns)
		}
	}
	return digest(b.String())
}

// enforcesConstraints is dbt's materialization_enforces_constraints: only
// table and incremental models enforce constraints; views and ephemeral
// models do not (core/dbt/contracts/graph/nodes.py).
func enforcesConstraints(m *Model) bool {
	switch m.Config["materialized"] {
	case "table", "incremental":
		return true
	}
	return false
}

var rePyComment = regexp.MustCompile(`(?m)^\s*#.*$`)

// parsePython reads a Python model: dbt.ref(), dbt.source() and
// dbt.config() calls (dbt's python model parser, core/dbt/parser/models.py,
// reads them from the AST the same way: literal arguments only).
func parsePython(src string) (sqlFacts, []lineError) {
	facts := sqlFacts{Config: map[string]string{}}
	clean := rePyComment.ReplaceAllStringFunc(src, func(s string) string { return strings.Repeat(" ", len(s)) })
	toks := lexJinja(clean)
	var errs []lineError
	for k := 0; k+3 < len(toks); k++ {
		if toks[k].text != "dbt" || toks[k+1].text != "." || toks[k+3].text != "(" {
			continue
		}
		fn := toks[k+2].text
		if fn != "ref" && fn != "source" && fn != "config" {
			continue
		}
		at := 1 + strings.Count(clean[:toks[k].pos], "\n")
		args, next, ok := splitArgs(clean, toks, k+4)
		if !ok {
			errs = append(errs, lineError{Line: at, Message: "dbt." + fn + "( is never closed: add the missing )"})
			return facts, errs
		}
		k = next
		switch fn {
		case "ref":
			refs, msg, dyn := (*scope)(nil).refsFromArgs(args)
			if msg != "" {
				errs = append(errs, lineError{Line: at, Message: msg, Warn: dyn})
			}
			for _, r := range refs {
				r.Line = at
				facts.Refs = append(facts.Refs, r)
			}
		case "source":
			s, msg := sourceFromArgs(args)
			if msg != "" {
				errs = append(errs, lineError{Line: at, Message: msg})
				continue
			}
			s.Line = at
			facts.Sources = append(facts.Sources, s)
		case "config":
			for _, a := range args {
				if a.Key != "" {
					facts.Config[a.Key] = configValue(a)
				}
			}
		}
	}
	return facts, errs
}
