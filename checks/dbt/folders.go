package dbt

import (
	"path"
	"strings"
)

// Folders lists the repository folders Load reads for the project in dir,
// so that a caller fetching files from GitHub can fetch only those: dir
// itself, its packages-install-path when that lies outside it, and the
// folders of its local: packages (packages.yml, dependencies.yml) outside
// it. read reads a file of the project folder by name ("dbt_project.yml");
// an error skips that file. Folders outside the repository are left out
// (Load warns about them).
func Folders(dir string, read func(name string) ([]byte, error)) []string {
	dir = path.Clean(strings.Trim(dir, "/"))
	if dir == "" {
		dir = "."
	}
	out := []string{dir}
	add := func(rel string) {
		d := path.Clean(path.Join(dir, rel))
		if d == ".." || strings.HasPrefix(d, "../") || within(d, dir) {
			return
		}
		out = append(out, d)
	}
	if data, err := read("dbt_project.yml"); err == nil {
		pf, _ := parseProjectFile(data)
		add(pf.InstallPath)
	}
	for _, f := range []string{"packages.yml", "dependencies.yml"} {
		data, err := read(f)
		if err != nil {
			continue
		}
		decl, _ := parsePackages(data)
		for _, d := range decl {
			if d.local != "" {
				add(d.local)
			}
		}
	}
	return sortedUnique(out)
}

// within says whether folder d is dir or under it.
func within(d, dir string) bool {
	return dir == "." || d == dir || strings.HasPrefix(d, dir+"/")
}
