package ghfake

import (
	"archive/tar"
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/google/go-github/v66/github"
)

func TestContentsAtRef(t *testing.T) {
	s, gh := fixture(t)
	first := s.Commit("acme/web", "main", map[string]*string{
		"conveyor.yml": str("version: 1\n"), "src/app.go": str("package app\n"), "src/lib/x.go": str("package lib\n"),
	}, "add files")
	second := s.Commit("acme/web", "main", map[string]*string{
		"conveyor.yml": str("version: 2\n"), "src/app.go": nil,
	}, "bump, delete app")

	read := func(path, ref string) (string, error) {
		f, _, _, err := gh.Repositories.GetContents(ctx, "acme", "web", path, &github.RepositoryContentGetOptions{Ref: ref})
		if err != nil {
			return "", err
		}
		return f.GetContent()
	}
	for _, tc := range []struct{ ref, want string }{{first, "version: 1\n"}, {second, "version: 2\n"}, {"main", "version: 2\n"}, {first[:7], "version: 1\n"}} {
		got, err := read("conveyor.yml", tc.ref)
		if err != nil || got != tc.want {
			t.Errorf("conveyor.yml@%s = %q, %v; want %q", tc.ref, got, err, tc.want)
		}
	}
	if _, err := read("src/app.go", second); statusOf(err) != http.StatusNotFound {
		t.Errorf("deleted file: err = %v, want 404", err)
	}
	if _, err := read("conveyor.yml", "no-such-branch"); statusOf(err) != http.StatusNotFound {
		t.Errorf("unknown ref: err = %v, want 404", err)
	}
	_, dir, _, err := gh.Repositories.GetContents(ctx, "acme", "web", "src", &github.RepositoryContentGetOptions{Ref: first})
	if err != nil || len(dir) != 2 || dir[0].GetName() != "app.go" || dir[1].GetType() != "dir" || dir[1].GetPath() != "src/lib" {
		t.Fatalf("dir listing = %v, %v", dir, err)
	}

	tree, _, err := gh.Git.GetTree(ctx, "acme", "web", first, true)
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, e := range tree.Entries {
		paths = append(paths, e.GetType()+":"+e.GetPath())
	}
	want := []string{"blob:conveyor.yml", "tree:src", "blob:src/app.go", "tree:src/lib", "blob:src/lib/x.go"}
	if fmt.Sprint(paths) != fmt.Sprint(want) {
		t.Fatalf("tree = %v, want %v", paths, want)
	}
	c, _, err := gh.Repositories.GetCommit(ctx, "acme", "web", "main", nil)
	if err != nil || c.GetSHA() != second || len(c.Parents) != 1 || c.Parents[0].GetSHA() != first || len(c.Files) != 2 {
		t.Fatalf("commit main = %v files=%d, %v", c.GetSHA(), len(c.Files), err)
	}
}

func TestTarball(t *testing.T) {
	s, gh := fixture(t)
	sha := s.Commit("acme/web", "main", map[string]*string{"a.txt": str("A"), "d/b.txt": str("BB")}, "files")
	req, err := gh.NewRequest("GET", "repos/acme/web/tarball/"+sha, nil)
	if err != nil {
		t.Fatal(err)
	}
	pr, pw := io.Pipe()
	go func() {
		_, err := gh.Do(ctx, req, pw)
		pw.CloseWithError(err)
	}()
	gz, err := gzip.NewReader(pr)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	files := map[string]string{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		if h.Typeflag == tar.TypeReg {
			files[h.Name] = string(b)
		}
	}
	top := "acme-web-" + sha[:7] + "/"
	if files[top+"a.txt"] != "A" || files[top+"d/b.txt"] != "BB" || len(files) != 2 {
		t.Fatalf("tarball files = %v", files)
	}
}

func TestCompare(t *testing.T) {
	s, gh := fixture(t)
	s.Commit("acme/web", "main", map[string]*string{"a": str("1\n")}, "base")
	s.Branch("acme/web", "feature", "main")
	s.Commit("acme/web", "feature", map[string]*string{"b": str("x\n")}, "f1")
	s.Commit("acme/web", "feature", map[string]*string{"a": str("1\n2\n")}, "f2")

	cmp := func(base, head string) *github.CommitsComparison {
		c, _, err := gh.Repositories.CompareCommits(ctx, "acme", "web", base, head, nil)
		if err != nil {
			t.Fatalf("compare %s...%s: %v", base, head, err)
		}
		return c
	}
	c := cmp("main", "feature")
	if c.GetStatus() != "ahead" || c.GetAheadBy() != 2 || c.GetBehindBy() != 0 || len(c.Files) != 2 || len(c.Commits) != 2 {
		t.Fatalf("main...feature = %s +%d -%d files=%d", c.GetStatus(), c.GetAheadBy(), c.GetBehindBy(), len(c.Files))
	}
	if f := c.Files[0]; f.GetFilename() != "a" || f.GetStatus() != "modified" || f.GetAdditions() != 1 || f.GetDeletions() != 0 {
		t.Fatalf("file a = %+v", f)
	}
	if c := cmp("feature", "main"); c.GetStatus() != "behind" || c.GetBehindBy() != 2 {
		t.Fatalf("feature...main = %s -%d", c.GetStatus(), c.GetBehindBy())
	}
	s.Commit("acme/web", "main", map[string]*string{"c": str("c\n")}, "main moves")
	if c := cmp("main", "feature"); c.GetStatus() != "diverged" || c.GetAheadBy() != 2 || c.GetBehindBy() != 1 {
		t.Fatalf("diverged = %s +%d -%d", c.GetStatus(), c.GetAheadBy(), c.GetBehindBy())
	}
	if c := cmp("main", "main"); c.GetStatus() != "identical" {
		t.Fatalf("identical = %s", c.GetStatus())
	}
}

func TestPullRequestFilesPaginated(t *testing.T) {
	s, gh := fixture(t)
	s.Commit("acme/web", "main", map[string]*string{"keep": str("k\n")}, "base")
	files := map[string]*string{}
	for i := range 75 {
		files[fmt.Sprintf("models/m%03d.yml", i)] = str("x\n")
	}
	s.Commit("acme/web", "feature", files, "many files")
	s.Commit("acme/web", "main", map[string]*string{"main-only": str("m\n")}, "unrelated on main")
	pr := s.OpenPR("acme/web", "feature", "main", "Add models", "alice", FromFork())

	got, _, err := gh.PullRequests.Get(ctx, "acme", "web", pr.Number)
	if err != nil || got.GetHead().GetSHA() != pr.HeadSHA || got.GetUser().GetLogin() != "alice" ||
		got.GetHead().GetRepo().GetFullName() != "alice/web" || !got.GetHead().GetRepo().GetFork() || got.GetChangedFiles() != 75 {
		t.Fatalf("PR = %+v, %v", got, err)
	}
	var all []*github.CommitFile
	opt := &github.ListOptions{PerPage: 30}
	pages := 0
	for {
		page, resp, err := gh.PullRequests.ListFiles(ctx, "acme", "web", pr.Number, opt)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		all = append(all, page...)
		if resp.NextPage == 0 {
			if resp.LastPage != 0 {
				t.Fatalf("last page still announces last=%d", resp.LastPage)
			}
			break
		}
		opt.Page = resp.NextPage
	}
	// The merge-base diff excludes main-only changes made after the branch point.
	if len(all) != 75 || pages != 3 || all[0].GetFilename() != "models/m000.yml" || all[74].GetStatus() != "added" {
		t.Fatalf("got %d files over %d pages", len(all), pages)
	}
	open, _, err := gh.PullRequests.List(ctx, "acme", "web", &github.PullRequestListOptions{State: "open"})
	if err != nil || len(open) != 1 || open[0].GetNumber() != pr.Number {
		t.Fatalf("open PRs = %v, %v", open, err)
	}
	s.ClosePR("acme/web", pr.Number, true)
	if open, _, _ := gh.PullRequests.List(ctx, "acme", "web", nil); len(open) != 0 {
		t.Fatalf("closed PR still listed as open")
	}
	if _, _, err := gh.PullRequests.Get(ctx, "acme", "web", 99); statusOf(err) != http.StatusNotFound {
		t.Fatalf("missing PR: %v", err)
	}
}

func TestPullRequestFilesCapAt3000(t *testing.T) {
	s, gh := fixture(t)
	files := map[string]*string{}
	for i := range 3005 {
		files[fmt.Sprintf("f/%05d", i)] = str("x")
	}
	s.Commit("acme/web", "big", files, "huge")
	pr := s.OpenPR("acme/web", "big", "main", "huge", "bob")
	_, resp, err := gh.PullRequests.ListFiles(ctx, "acme", "web", pr.Number, &github.ListOptions{PerPage: 100})
	if err != nil || resp.LastPage != 30 {
		t.Fatalf("last page = %d, %v; want 30 (3000 files / 100)", resp.LastPage, err)
	}
}

func TestPullRequestCommits(t *testing.T) {
	s, gh := fixture(t)
	s.Commit("acme/web", "main", map[string]*string{"a": str("1")}, "base")
	first := s.Commit("acme/web", "feature", map[string]*string{"b": str("1")}, "add b\n\nwith a body")
	s.Commit("acme/web", "main", map[string]*string{"c": str("1")}, "main moves on")
	second := s.Commit("acme/web", "feature", map[string]*string{"b": str("2")}, "change b")
	pr := s.OpenPR("acme/web", "feature", "main", "b", "bob")
	got, _, err := gh.PullRequests.ListCommits(ctx, "acme", "web", pr.Number, &github.ListOptions{PerPage: 1})
	if err != nil || len(got) != 1 || got[0].GetSHA() != first || got[0].GetCommit().GetMessage() != "add b\n\nwith a body" {
		t.Fatalf("first page = %+v, %v", got, err)
	}
	all, _, err := gh.PullRequests.ListCommits(ctx, "acme", "web", pr.Number, nil)
	if err != nil || len(all) != 2 || all[0].GetSHA() != first || all[1].GetSHA() != second {
		t.Fatalf("commits = %d, %v; want the branch's two, oldest first (not main's)", len(all), err)
	}
	if _, _, err := gh.PullRequests.ListCommits(ctx, "acme", "web", 999, nil); err == nil {
		t.Fatal("commits of a missing PR did not fail")
	}
}

// TestContentsRefusesFilesOverOneMB: GitHub's contents API serves files up to
// 1 MB and answers larger ones 403 with a too_large error on the Blob; the
// folder listing still gives their size.
func TestContentsRefusesFilesOverOneMB(t *testing.T) {
	s, gh := fixture(t)
	big := string(make([]byte, maxContentsBytes+1))
	sha := s.Commit("acme/web", "main", map[string]*string{"data/big.bin": &big, "data/ok.txt": str("ok\n")}, "big")
	_, _, _, err := gh.Repositories.GetContents(ctx, "acme", "web", "data/big.bin", &github.RepositoryContentGetOptions{Ref: sha})
	ge, ok := err.(*github.ErrorResponse)
	if !ok || ge.Response.StatusCode != http.StatusForbidden || len(ge.Errors) != 1 || ge.Errors[0].Code != "too_large" || ge.Errors[0].Resource != "Blob" {
		t.Fatalf("big file: err = %#v, want 403 with a too_large Blob error", err)
	}
	_, dir, _, err := gh.Repositories.GetContents(ctx, "acme", "web", "data", &github.RepositoryContentGetOptions{Ref: sha})
	if err != nil || len(dir) != 2 || dir[0].GetSize() != maxContentsBytes+1 {
		t.Fatalf("listing = %v, %v; want big.bin with its size", dir, err)
	}
}
