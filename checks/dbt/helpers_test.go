package dbt

import (
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
)

// projectFS builds an in-memory repository with a dbt project under
// "analytics/"; files are relative to that folder.
func projectFS(files map[string]string) fstest.MapFS {
	fsys := fstest.MapFS{}
	for name, body := range files {
		fsys["analytics/"+name] = &fstest.MapFile{Data: []byte(body)}
	}
	return fsys
}

const basicProjectYML = "name: shop\nmodel-paths: [models]\n"

// mustLoad loads a project and fails the test on any problem.
func mustLoad(t *testing.T, files map[string]string) *Project {
	t.Helper()
	p, probs := Load(projectFS(files), "analytics", LoadOptions{})
	if len(probs) > 0 {
		t.Fatalf("unexpected load problems: %v", probs)
	}
	return p
}

func assertEqual[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got  %#v\n want %#v", what, got, want)
	}
}

// assertProblem checks that one problem is at file:line and mentions all
// of the given fragments.
func assertProblem(t *testing.T, probs []Problem, file string, line int, fragments ...string) {
	t.Helper()
	for _, p := range probs {
		if p.File != file || p.Line != line {
			continue
		}
		ok := true
		for _, f := range fragments {
			if !strings.Contains(p.Message, f) {
				ok = false
			}
		}
		if ok {
			return
		}
	}
	t.Errorf("no problem at %s:%d mentioning %q; got %v", file, line, fragments, probs)
}

// replaceOnce replaces old in s exactly once, failing the test otherwise so
// that an edit never silently does nothing.
func replaceOnce(t *testing.T, s, old, new string) string {
	t.Helper()
	if strings.Count(s, old) != 1 {
		t.Fatalf("%q occurs %d times in %q", old, strings.Count(s, old), s)
	}
	return strings.Replace(s, old, new, 1)
}

func mapFile(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }
