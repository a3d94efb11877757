package bot

import (
	"go/build"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const module = "github.com/conveyor-dev/conveyor"

// bot is infrastructure: it verifies, stores, enqueues and routes. Neither
// it, nor its subpackages, nor anything they import from this module may
// depend on the packages that hold check, command or deploy logic; those
// register handlers with bot instead.
func TestBotImportsNoDomainPackage(t *testing.T) {
	t.Parallel()
	forbidden := []string{module + "/checks", module + "/commands", module + "/deploy"}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	var start []string
	filepath.WalkDir(".", func(path string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() && d.Name() != "testdata" {
			start = append(start, module+"/bot"+strings.TrimPrefix("/"+filepath.ToSlash(path), "/."))
		}
		return nil
	})
	// Walk the module's packages reachable from bot, tests included for
	// bot's own packages, and remember how each was reached.
	via := map[string]string{}
	queue := start
	for _, p := range start {
		via[p] = ""
	}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		pkg, err := build.Default.ImportDir(filepath.Join(root, strings.TrimPrefix(p, module)), 0)
		if err != nil {
			if _, ok := err.(*build.NoGoError); ok {
				continue
			}
			t.Fatalf("%s: %v", p, err)
		}
		imports := pkg.Imports
		if strings.HasPrefix(p, module+"/bot") {
			imports = append(append(imports, pkg.TestImports...), pkg.XTestImports...)
		}
		for _, imp := range imports {
			for _, f := range forbidden {
				if imp == f || strings.HasPrefix(imp, f+"/") {
					t.Errorf("%s imports %s (reached from bot via %s)", p, imp, chain(via, p))
				}
			}
			if _, seen := via[imp]; !seen && strings.HasPrefix(imp, module+"/") {
				via[imp] = p
				queue = append(queue, imp)
			}
		}
	}
	if _, ok := via[module+"/internal/store"]; !ok {
		t.Fatalf("the walk did not reach internal/store: it is not reading bot's imports")
	}
}

func chain(via map[string]string, p string) string {
	var path []string
	for ; p != ""; p = via[p] {
		path = append([]string{strings.TrimPrefix(p, module+"/")}, path...)
	}
	return strings.Join(path, " -> ")
}
