package dbt

import (
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
)

// loadDeps reads the installed packages: every folder with a
// dbt_project.yml under packages-install-path (where `dbt deps` puts
// them; dbt_packages unless configured) and every local: package. A
// package is known by the name in its own dbt_project.yml, not by its
// folder (dbt's ref('package', 'model') uses that name). Packages declared
// but absent are listed in Unvendored with a warning: refs into them
// cannot be checked, which must not fail the check.
func (l *loader) loadDeps() {
	installed := 0
	names := map[string]bool{}
	add := func(dir string) (string, bool) {
		if _, err := fs.Stat(l.fsys, path.Join(dir, "dbt_project.yml")); err != nil {
			return "", false
		}
		sub := newLoader(l.fsys, dir)
		sub.pkgName = path.Base(dir)
		sub.root = &l.pf
		sub.load(LoadOptions{}, false)
		name := sub.p.Name
		if name == "" || name == l.p.Name || l.p.Deps[name] != nil {
			return name, name != ""
		}
		l.p.Deps[name] = sub.p
		names[name] = true
		for uid, m := range sub.p.Macros {
			l.p.Macros[uid] = m
		}
		return name, true
	}
	root := l.repoPath(l.pf.InstallPath)
	if entries, err := fs.ReadDir(l.fsys, root); err == nil {
		for _, e := range entries {
			if e.IsDir() {
				if _, ok := add(path.Join(root, e.Name())); ok {
					installed++
				}
			}
		}
	}
	var hub []declaredPackage
	for _, d := range l.decl {
		switch {
		case d.project:
		case d.local != "":
			dir := path.Clean(path.Join(l.dir, d.local))
			if strings.HasPrefix(dir, "../") || dir == ".." {
				l.warn(d.file, d.line, fmt.Sprintf("local package %s is outside the repository: refs into it are not checked", d.local))
				l.p.Unvendored = append(l.p.Unvendored, d.name)
				continue
			}
			if name, ok := add(dir); ok {
				l.p.Packages = append(l.p.Packages, name)
				continue
			}
			l.warn(d.file, d.line, fmt.Sprintf("local package %s has no dbt_project.yml in this repository: refs into it are not checked", d.local))
			l.p.Unvendored = append(l.p.Unvendored, d.name)
		default:
			hub = append(hub, d)
		}
	}
	// A hub or git package's project name is only known once installed
	// (dbt-audit-helper installs as audit_helper), so a declared package
	// counts as vendored when its guessed name is installed or when as many
	// packages are installed as declared.
	for _, d := range hub {
		if names[d.name] || names[strings.TrimPrefix(d.name, "dbt_")] || installed >= len(hub) {
			continue
		}
		l.p.Unvendored = append(l.p.Unvendored, d.name)
		l.warn(d.file, d.line, fmt.Sprintf("package %s is declared but not in the repository (%s/): run dbt deps, or commit %s; refs into it are not checked",
			d.name, l.pf.InstallPath, l.pf.InstallPath))
	}
	for name := range names {
		l.p.Packages = append(l.p.Packages, name)
	}
	l.p.Packages = sortedUnique(l.p.Packages)
	sort.Strings(l.p.Unvendored)
}
