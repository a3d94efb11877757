package prfacts

import (
	"context"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"testing"

	"github.com/conveyor-dev/conveyor/internal/ghfake"
)

func subtreeWorld(t *testing.T, opts ...ghfake.Option) (*ghfake.Server, *Reader, string) {
	t.Helper()
	gh := ghfake.NewTest(t, opts...)
	gh.AddRepo(repo, "main", inst)
	files := map[string]*string{
		"analytics/dbt_project.yml":     strp("name: shop\n"),
		"analytics/models/a.sql":        strp("select 1"),
		"shared/macros/dbt_project.yml": strp("name: shared\n"),
		"services/web/main.go":          strp("package main\n"),
		"README.md":                     strp("shop\n"),
	}
	sha := gh.Commit(repo, "main", files, "base")
	c, err := gh.InstallationClient(inst)
	if err != nil {
		t.Fatal(err)
	}
	r, err := New(Options{}).For(c, PR{Repository: repo, BaseRef: "main", BaseSHA: sha, HeadSHA: sha})
	if err != nil {
		t.Fatal(err)
	}
	return gh, r, sha
}

func paths(t *testing.T, fsys fs.FS) []string {
	t.Helper()
	var out []string
	_ = fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			out = append(out, p)
		}
		return nil
	})
	slices.Sort(out)
	return out
}

// A subtree is the tree listing plus one blob call per file under the
// folders asked for; the other side's identical files cost nothing more.
func TestSubtreeFetchesOnlyItsFiles(t *testing.T) {
	gh, r, _ := subtreeWorld(t)
	gh.ResetCalls()
	sub, err := r.Subtree(context.Background(), Head, []string{"analytics/", "shared/macros"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"analytics/dbt_project.yml", "analytics/models/a.sql", "shared/macros/dbt_project.yml"}
	if got := paths(t, sub); !slices.Equal(got, want) {
		t.Fatalf("subtree = %v, want %v", got, want)
	}
	if b, _ := fs.ReadFile(sub, "analytics/models/a.sql"); string(b) != "select 1" {
		t.Errorf("content %q", b)
	}
	if n := len(gh.CallsMatching("GET", "/repos/"+repo+"/git/blobs/")); n != 3 {
		t.Errorf("%d blob calls, want 3", n)
	}
	if n := len(gh.CallsMatching("GET", "/repos/"+repo+"/tarball")); n != 0 {
		t.Errorf("tarball fetched %d times", n)
	}
	if _, err := r.Subtree(context.Background(), Base, []string{"analytics"}); err != nil {
		t.Fatal(err)
	}
	if n := len(gh.CallsMatching("GET", "/repos/"+repo+"/git/blobs/")); n != 3 {
		t.Errorf("%d blob calls after the base, want still 3 (cached by blob SHA)", n)
	}
}

// A tree listing GitHub truncates, or a subtree over MaxSubtreeBlobs
// files, comes from one tarball, of which only the subtree is kept.
func TestSubtreeFallsBackToAFilteredTarball(t *testing.T) {
	gh, r, _ := subtreeWorld(t, ghfake.WithTreeLimit(3))
	sub, err := r.Subtree(context.Background(), Head, []string{"analytics"})
	if err != nil {
		t.Fatal(err)
	}
	if got := paths(t, sub); !slices.Equal(got, []string{"analytics/dbt_project.yml", "analytics/models/a.sql"}) {
		t.Fatalf("subtree from a truncated listing = %v", got)
	}
	if n := len(gh.CallsMatching("GET", "/repos/"+repo+"/tarball")); n != 1 {
		t.Errorf("tarball fetched %d times, want once", n)
	}
	if n := len(gh.CallsMatching("GET", "/repos/"+repo+"/git/blobs/")); n != 0 {
		t.Errorf("%d blob calls, want none", n)
	}

	gh2, r2, _ := subtreeWorld(t)
	many := map[string]*string{}
	for i := range MaxSubtreeBlobs + 1 {
		many[fmt.Sprintf("analytics/models/m%03d.sql", i)] = strp(fmt.Sprintf("select %d", i))
	}
	sha := gh2.Commit(repo, "main", many, "many models")
	r2.pr.HeadSHA = sha
	sub, err = r2.Subtree(context.Background(), Head, []string{"analytics"})
	if err != nil {
		t.Fatal(err)
	}
	got := paths(t, sub)
	if len(got) != MaxSubtreeBlobs+3 || slices.ContainsFunc(got, func(p string) bool { return !strings.HasPrefix(p, "analytics/") }) {
		t.Errorf("large subtree holds %d files (%v...), want %d under analytics/", len(got), got[:3], MaxSubtreeBlobs+3)
	}
	if n := len(gh2.CallsMatching("GET", "/repos/"+repo+"/git/blobs/")); n != 0 {
		t.Errorf("%d blob calls for a large subtree, want none", n)
	}
}
