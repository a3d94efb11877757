// Package docgolden keeps the examples in docs/ equal to what the code really
// prints. A test renders the real output and calls Check, which compares it
// with the fenced block between `<!-- golden:NAME -->` and
// `<!-- /golden:NAME -->` in a Markdown file; `go test ./... -args
// -update-docs` rewrites the blocks, so a change of wording updates the docs in
// the same commit. It is for tests only and holds no product logic.
package docgolden

import (
	"flag"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

var update = flag.Bool("update-docs", false, "rewrite the golden blocks in docs/ with the output the tests render")

// Path is the path of a file in the repository's docs/ folder, wherever the
// test runs from.
func Path(name string) string {
	return filepath.Join(Root(), "docs", name)
}

// Root is the repository's top folder (where README.md is).
func Root() string {
	_, here, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(here), "..", "..")
}

// Check compares got, shown as a fenced block of language lang, with the
// block named name in the Markdown file at mdPath, or rewrites that block
// when -update-docs is given.
func Check(t testing.TB, mdPath, name, lang, got string) {
	t.Helper()
	data, err := os.ReadFile(mdPath)
	if err != nil {
		t.Fatalf("docgolden: %v", err)
	}
	open, end := "<!-- golden:"+name+" -->\n", "<!-- /golden:"+name+" -->"
	doc := string(data)
	i := strings.Index(doc, open)
	j := strings.Index(doc, end)
	if i < 0 || j < i {
		t.Fatalf("docgolden: %s has no block %s ... %s", mdPath, strings.TrimSpace(open), end)
	}
	if !strings.HasSuffix(got, "\n") {
		got += "\n"
	}
	want := "```" + lang + "\n" + got + "```\n"
	have := doc[i+len(open) : j]
	if have == want {
		return
	}
	if *update {
		if err := os.WriteFile(mdPath, []byte(doc[:i+len(open)]+want+doc[j:]), 0o644); err != nil {
			t.Fatalf("docgolden: %v", err)
		}
		return
	}
	t.Errorf("%s, block %q, differs from what the code prints (run: go test -run '%s' ./<package> -args -update-docs)\n--- docs\n%s--- code\n%s",
		mdPath, name, t.Name(), have, want)
}
