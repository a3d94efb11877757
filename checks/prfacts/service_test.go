package prfacts

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-github/v66/github"

	"github.com/conveyor-dev/conveyor/checks/repoconfig"
	"github.com/conveyor-dev/conveyor/internal/ghfake"
)

const (
	repo = "acme/shop"
	inst = 7
)

const baseConfig = `version: 1
artifacts:
  web:
    kind: app
    paths: ["services/web/**"]
    owners: ["@acme/web"]
    ci: [build]
    deploy: {driver: web-deploy}
environments:
  staging: {}
  production: {requires: [staging], approvals: {count: 2, from: [acme/sre]}}
`

func strp(s string) *string { return &s }

type world struct {
	gh     *ghfake.Server
	client *github.Client
}

func newWorld(t *testing.T) *world {
	t.Helper()
	gh := ghfake.NewTest(t)
	gh.AddRepo(repo, "main", inst)
	gh.Commit(repo, "main", map[string]*string{
		repoconfig.Path:        strp(baseConfig),
		"services/web/main.go": strp("package main\n"),
		"README.md":            strp("shop\n"),
	}, "base")
	c, err := gh.InstallationClient(inst)
	if err != nil {
		t.Fatal(err)
	}
	return &world{gh: gh, client: c}
}

func (w *world) pr(p *ghfake.PR, current bool) PR {
	return PR{Repository: repo, Number: p.Number, BaseRef: p.Base, BaseSHA: p.BaseSHA, HeadSHA: p.HeadSHA, Current: current}
}

func (w *world) count(method, path string) int {
	n := 0
	for _, c := range w.gh.Calls() {
		if c.Method == method && c.Path == path {
			n++
		}
	}
	return n
}

// Two readers of the same change (the check engine's and a command's) cost
// one file listing and one config read: the answers are cached by SHA on the
// shared service, and both see the same definitions.
func TestOneSetOfCallsForEveryReader(t *testing.T) {
	w := newWorld(t)
	w.gh.Commit(repo, "feature", map[string]*string{"services/web/app.py": strp("print(1)\n")}, "web")
	p := w.gh.OpenPR(repo, "feature", "main", "Web", "dev")
	svc := New(Options{Drivers: map[string]bool{"web-deploy": true}})
	ctx := context.Background()
	w.gh.ResetCalls()

	var seen []*Definitions
	for i := 0; i < 2; i++ {
		r, err := svc.For(w.client, w.pr(p, true))
		if err != nil {
			t.Fatal(err)
		}
		d, err := r.Definitions(ctx)
		if err != nil {
			t.Fatal(err)
		}
		seen = append(seen, d)
	}
	if seen[0] != seen[1] {
		t.Error("the second reader resolved the change again")
	}
	if got := seen[0].TouchedNames(); !slices.Equal(got, []string{"web"}) {
		t.Errorf("touched = %v, want [web]", got)
	}
	var calls []ghfake.Call
	for _, c := range w.gh.Calls() {
		if c.InstallationID != 0 { // minting the token is not a call about the PR
			calls = append(calls, c)
		}
	}
	if len(calls) != 2 || w.count("GET", "/repos/acme/shop/pulls/1/files") != 1 || w.count("GET", "/repos/acme/shop/contents/.github/conveyor.yml") != 1 {
		var got []string
		for _, c := range calls {
			got = append(got, c.Method+" "+c.Path)
		}
		t.Fatalf("calls = %v, want one PR-files call and one config read", got)
	}
}

// Past GitHub's 3,000-file cap the PR's list is incomplete; the trees of the
// merge base and the head are compared instead, and every file is listed.
func TestChangedFilesPastTheCapCompareTrees(t *testing.T) {
	w := newWorld(t)
	files := map[string]*string{}
	for i := 0; i < MaxPRFiles+5; i++ {
		files[fmt.Sprintf("data/f%04d.txt", i)] = strp("x\n")
	}
	files["services/web/main.go"] = strp("package main // changed\n")
	w.gh.Commit(repo, "big", files, "big")
	p := w.gh.OpenPR(repo, "big", "main", "Big", "dev")
	svc := New(Options{})
	r, err := svc.For(w.client, w.pr(p, true))
	if err != nil {
		t.Fatal(err)
	}
	got, err := r.ChangedFiles(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != MaxPRFiles+6 || !slices.Contains(got, "services/web/main.go") || !slices.Contains(got, "data/f3004.txt") {
		t.Fatalf("listed %d files, want %d including services/web/main.go and data/f3004.txt", len(got), MaxPRFiles+6)
	}
	if n := w.count("GET", "/repos/acme/shop/pulls/1/files"); n != MaxPRFiles/100 {
		t.Errorf("PR-files pages = %d, want %d", n, MaxPRFiles/100)
	}
}

// For a head that is no longer the PR's (a command written for an older
// push), the PR's file list would describe the newer head; the trees are
// compared from the merge base, so base-branch commits are not listed.
func TestChangedFilesOfAnOlderHead(t *testing.T) {
	w := newWorld(t)
	old := w.gh.Commit(repo, "feature", map[string]*string{"services/web/app.py": strp("v1\n")}, "v1")
	w.gh.Commit(repo, "main", map[string]*string{"README.md": strp("shop, moved on\n")}, "main moves")
	p := w.gh.OpenPR(repo, "feature", "main", "Web", "dev")
	w.gh.Commit(repo, "feature", map[string]*string{"docs/new.md": strp("later\n")}, "v2")
	svc := New(Options{})
	pr := w.pr(p, false)
	pr.HeadSHA = old
	r, err := svc.For(w.client, pr)
	if err != nil {
		t.Fatal(err)
	}
	got, err := r.ChangedFiles(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, []string{"services/web/app.py"}) {
		t.Fatalf("changed = %v, want [services/web/app.py]", got)
	}
	if w.count("GET", "/repos/acme/shop/pulls/1/files") != 0 {
		t.Error("the PR's file list was used for an older head")
	}
	behind, err := r.BehindBy(context.Background())
	if err != nil || behind != 1 {
		t.Fatalf("behind = %d, %v; want 1", behind, err)
	}
}

// The head's config never governs: the reader hands the check engine and
// the commands the same merge.
func TestDefinitionsGovernFromTheBase(t *testing.T) {
	w := newWorld(t)
	head := strings.Replace(baseConfig, "ci: [build]", "ci: []", 1)
	head = strings.Replace(head, "approvals: {count: 2, from: [acme/sre]}", "approvals: {count: 0}", 1)
	w.gh.Commit(repo, "weaken", map[string]*string{repoconfig.Path: strp(head), "services/web/app.py": strp("x\n")}, "weaken")
	p := w.gh.OpenPR(repo, "weaken", "main", "Weaken", "dev")
	r, err := New(Options{Drivers: map[string]bool{"web-deploy": true}}).For(w.client, w.pr(p, true))
	if err != nil {
		t.Fatal(err)
	}
	d, err := r.Definitions(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if d.Head == nil || len(d.HeadProblems) > 0 {
		t.Fatalf("head config not read: %v", d.HeadProblems)
	}
	if web := d.Effective.Artifact("web"); !slices.Equal(web.CI, []string{"build"}) {
		t.Errorf("web.ci = %v, want the base's [build]", web.CI)
	}
	if e := d.Effective.Environment("production"); e.Approvals.Count != 2 {
		t.Errorf("production approvals = %d, want the base's 2", e.Approvals.Count)
	}
	var fields []string
	for _, c := range d.Governance {
		fields = append(fields, c.String())
	}
	want := []string{"artifacts.web.ci: [build] -> (none)", "environments.production.approvals.count: 2 -> (none)", "environments.production.approvals.from: [acme/sre] -> (none)"}
	if !slices.Equal(fields, want) {
		t.Errorf("governance = %v, want %v", fields, want)
	}
}

// A PR's author is read once, or not at all when a command already learned it.
func TestAuthorIsCached(t *testing.T) {
	w := newWorld(t)
	w.gh.Commit(repo, "feature", map[string]*string{"a.txt": strp("a\n")}, "a")
	p := w.gh.OpenPR(repo, "feature", "main", "A", "dev")
	svc := New(Options{})
	w.gh.ResetCalls()
	for i := 0; i < 3; i++ {
		a, err := svc.Author(context.Background(), w.client, repo, p.Number)
		if err != nil || a != "dev" {
			t.Fatalf("author = %q, %v", a, err)
		}
	}
	if n := w.count("GET", "/repos/acme/shop/pulls/1"); n != 1 {
		t.Errorf("%d PR reads, want 1", n)
	}
	svc.RememberAuthor(repo, 9, "ops")
	if a, err := svc.Author(context.Background(), w.client, repo, 9); err != nil || a != "ops" {
		t.Errorf("remembered author = %q, %v", a, err)
	}
	if _, err := svc.Author(context.Background(), w.client, repo, 404); err == nil {
		t.Error("a missing PR has an author")
	}
}

// API failures are errors, never an empty answer that would look like "no
// files changed" or "no config".
func TestFailuresAreErrors(t *testing.T) {
	w := newWorld(t)
	svc := New(Options{})
	r, err := svc.For(w.client, PR{Repository: repo, Number: 99, BaseRef: "main", BaseSHA: w.gh.BranchSHA(repo, "main"), HeadSHA: strings.Repeat("f", 40), Current: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.ChangedFiles(context.Background()); err == nil {
		t.Error("files of a missing PR: no error")
	}
	if _, err := r.Definitions(context.Background()); err == nil {
		t.Error("definitions of a missing PR: no error")
	}
	if _, err := svc.For(w.client, PR{Repository: "no-slash"}); err == nil {
		t.Error("a malformed repository name was accepted")
	}
}

// A comparison already in hand lists the files when it holds them all; at
// its cap of 300 it may be cut, and the PR's own list is read instead.
func TestCompareListIsUsedOnlyBelowItsCap(t *testing.T) {
	for _, n := range []int{MaxCompareFiles - 1, MaxCompareFiles, MaxCompareFiles + 1} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			w := newWorld(t)
			files := map[string]*string{}
			for i := 0; i < n; i++ {
				files[fmt.Sprintf("data/f%04d.txt", i)] = strp("x\n")
			}
			w.gh.Commit(repo, "wide", files, "wide")
			p := w.gh.OpenPR(repo, "wide", "main", "Wide", "dev")
			r, err := New(Options{}).For(w.client, w.pr(p, true))
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			if _, err := r.BehindBy(ctx); err != nil {
				t.Fatal(err)
			}
			got, err := r.ChangedFiles(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != n {
				t.Fatalf("listed %d files, want %d", len(got), n)
			}
			wantPRList := 0
			if n >= MaxCompareFiles {
				wantPRList = (n + 99) / 100
			}
			if c := w.count("GET", "/repos/acme/shop/pulls/1/files"); c != wantPRList {
				t.Errorf("PR-files pages = %d, want %d", c, wantPRList)
			}
		})
	}
}
