package commands

import (
	"context"
	"strings"
	"testing"

	"github.com/conveyor-dev/conveyor/checks/prfacts"
)

// reads counts the installation's GET calls by path, with the commit range of
// a compare folded into "compare".
func (e *env) reads() map[string]int {
	out := map[string]int{}
	for _, c := range e.gh.Calls() {
		if c.InstallationID == 0 || c.Method != "GET" {
			continue
		}
		p := c.Path
		if i := strings.Index(p, "/compare/"); i >= 0 {
			p = p[:i] + "/compare"
		}
		out[p]++
	}
	return out
}

// A command reads the PR, the base config and the changed files once each,
// through one call: the PR's file list, or for production the comparison it
// needs anyway to see how far behind the branch is (it lists the files too).
func TestCommandAPIEconomy(t *testing.T) {
	for _, tc := range []struct {
		cmd  string
		list string // the one call that lists the files
	}{
		{"/deploy staging", "/repos/acme/shop/pulls/1/files"},
		{"/plan production", "/repos/acme/shop/compare"},
		{"/deploy production", "/repos/acme/shop/compare"},
	} {
		t.Run(tc.cmd, func(t *testing.T) {
			e := newEnv(t)
			e.gh.SetPermission(testRepo, "lead", "maintain")
			pr := e.openPR("feature", "dev", webChange())
			e.gh.ResetCalls()
			e.comment(pr, "lead", tc.cmd)
			got := e.reads()
			for _, p := range []string{"/repos/acme/shop/pulls/1", "/repos/acme/shop/contents/.github/conveyor.yml", tc.list} {
				if got[p] != 1 {
					t.Errorf("%s read %d times, want 1; reads %v", p, got[p], got)
				}
			}
			if n := got["/repos/acme/shop/pulls/1/files"] + got["/repos/acme/shop/compare"]; n != 1 {
				t.Errorf("%d listing calls, want 1; reads %v", n, got)
			}
		})
	}
}

// The commands ask the PR-facts service the check suite shares: what the
// check evaluation read for a SHA is not read again by a command.
func TestCommandsShareThePRFactsCache(t *testing.T) {
	e := newEnv(t)
	svc := prfacts.New(prfacts.Options{})
	e.h.prFacts = svc
	e.gh.SetPermission(testRepo, "lead", "maintain")
	pr := e.openPR("feature", "dev", webChange())
	gh, err := e.gh.InstallationClient(testInst)
	if err != nil {
		t.Fatal(err)
	}
	// What the check engine does for the PR's head.
	r, err := svc.For(gh, prfacts.PR{Repository: testRepo, Number: pr.Number, BaseRef: pr.Base, BaseSHA: pr.BaseSHA, HeadSHA: pr.HeadSHA, Current: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Definitions(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.gh.ResetCalls()
	e.comment(pr, "lead", "/deploy staging")
	if len(e.starts()) != 1 {
		t.Fatalf("no deployment started; replies %q", e.replies(pr))
	}
	got := e.reads()
	if got["/repos/acme/shop/pulls/1/files"]+got["/repos/acme/shop/contents/.github/conveyor.yml"] != 0 {
		t.Fatalf("the command read again what the check read: %v", got)
	}
	// Slack approvals ask the same service who opened the PR: the command
	// already learned it.
	e.gh.ResetCalls()
	if a, err := svc.Author(context.Background(), gh, testRepo, pr.Number); err != nil || a != "dev" {
		t.Fatalf("author = %q, %v", a, err)
	}
	if len(e.reads()) != 0 {
		t.Fatalf("the author was read again: %v", e.reads())
	}
}

// Without a sound config on the base branch nothing governs the repository:
// the command says so after reading the PR and the config, and lists no files.
func TestNoGoverningConfigOnTheBase(t *testing.T) {
	for _, tc := range []struct {
		name, config, want string
	}{
		{"missing", "", "acme/shop has no .github/conveyor.yml on main, so no environment is defined; merge a config to main first"},
		{"broken", "version: 1\nartifacts:\n  web: {kind: app, paths: [\"services/web/**\"], owner: [\"@acme/web\"]}\n",
			".github/conveyor.yml on main has problems, so Conveyor will not act on it; fix them on main first:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.gh.SetPermission(testRepo, "dev", "write")
			var cfg *string // nil deletes the file
			if tc.config != "" {
				cfg = strp(tc.config)
			}
			e.gh.Commit(testRepo, "main", map[string]*string{".github/conveyor.yml": cfg}, "config")
			pr := e.openPR("feature", "dev", webChange())
			e.gh.ResetCalls()
			e.comment(pr, "dev", "/deploy staging")
			mustContain(t, e.oneReply(pr), tc.want)
			if got := e.reads(); got["/repos/acme/shop/pulls/1/files"]+got["/repos/acme/shop/compare"] != 0 {
				t.Errorf("the files were listed for nothing: %v", got)
			}
			if len(e.starts()) != 0 {
				t.Fatal("deployed without a governing config")
			}
		})
	}
}
