package dbt

import (
	"io/fs"
	"testing"
)

// The folders a project's load reads: the project, plus local packages and
// an install path outside it; nothing inside it twice, nothing outside the
// repository.
func TestFolders(t *testing.T) {
	files := map[string]string{
		"dbt_project.yml": "name: shop\npackages-install-path: ../vendor/dbt\n",
		"packages.yml": "packages:\n  - local: ../shared/macros\n  - local: sub/pkg\n  - local: ../../../outside\n" +
			"  - package: dbt-labs/dbt_utils\n    version: 1.3.0\n",
		"dependencies.yml": "packages:\n  - local: ../shared/macros/\n",
	}
	read := func(name string) ([]byte, error) {
		if s, ok := files[name]; ok {
			return []byte(s), nil
		}
		return nil, fs.ErrNotExist
	}
	assertEqual(t, "folders", Folders("analytics/", read), []string{"analytics", "shared/macros", "vendor/dbt"})
	assertEqual(t, "root project", Folders(".", read), []string{"."})
	assertEqual(t, "nothing readable", Folders("a", func(string) ([]byte, error) { return nil, fs.ErrNotExist }), []string{"a"})
}
