package ghfake

import (
	"strings"
	"testing"

	"github.com/google/go-github/v66/github"
)

// recordingTB stands in for a test so NewTest's verdict can itself be checked.
type recordingTB struct {
	cleanups []func()
	errs     []string
}

func (r *recordingTB) Helper()                   {}
func (r *recordingTB) Cleanup(f func())          { r.cleanups = append(r.cleanups, f) }
func (r *recordingTB) Errorf(f string, a ...any) { r.errs = append(r.errs, f) }
func (r *recordingTB) end() {
	for i := len(r.cleanups) - 1; i >= 0; i-- {
		r.cleanups[i]()
	}
}

// A request GitHub's description forbids fails the test that sent it, even when the
// emulator itself let it through.
func TestNewTestFailsOnContractViolation(t *testing.T) {
	rt := &recordingTB{}
	s := NewTest(rt)
	s.AddRepo("acme/web", "main", testInstallation)
	gh := installationClient(t, s, testInstallation, "")
	sha := s.BranchSHA("acme/web", "main")
	// A reaction GitHub does not know: ghfake answers 422 and the contract names the field.
	_, _, _ = gh.Reactions.CreateIssueCommentReaction(ctx, "acme", "web", 1, "thumbsup")
	_, _, err := gh.Checks.CreateCheckRun(ctx, "acme", "web", github.CreateCheckRunOptions{Name: "ok", HeadSHA: sha})
	if err != nil {
		t.Fatal(err)
	}
	v := s.ContractViolations()
	if len(v) != 1 || !strings.Contains(v[0], "/content") {
		t.Fatalf("violations = %q, want only the reaction content", v)
	}
	rt.end()
	if len(rt.errs) != 1 {
		t.Fatalf("NewTest reported %d errors, want 1", len(rt.errs))
	}
}

func TestContractMatchesPaths(t *testing.T) {
	c, err := loadContract()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ method, path, want, param, value string }{
		{"GET", "/repos/a/b", "/repos/{owner}/{repo}", "repo", "b"},
		{"GET", "/repos/a/b/pulls", "/repos/{owner}/{repo}/pulls", "", ""},
		{"GET", "/repos/a/b/contents/dir/sub/file.yml", "/repos/{owner}/{repo}/contents/{path}", "path", "dir/sub/file.yml"},
		{"GET", "/repos/a/b/commits/feature/x/status", "/repos/{owner}/{repo}/commits/{ref}/status", "ref", "feature/x"},
		{"GET", "/repos/a/b/commits/main/check-runs", "/repos/{owner}/{repo}/commits/{ref}/check-runs", "ref", "main"},
		{"PATCH", "/repos/a/b/check-runs/7", "/repos/{owner}/{repo}/check-runs/{check_run_id}", "check_run_id", "7"},
	} {
		op, vals := c.match(tc.method, tc.path)
		if op == nil || op.path != tc.want || (tc.param != "" && vals[tc.param] != tc.value) {
			t.Errorf("%s %s matched %+v %v, want %s", tc.method, tc.path, op, vals, tc.want)
		}
	}
	if op, _ := c.match("DELETE", "/repos/a/b"); op != nil {
		t.Errorf("DELETE /repos/a/b matched %s", op.path)
	}
	// Path parameters are read as the type the description gives them.
	op, vals := c.match("PATCH", "/repos/a/b/check-runs/abc")
	if v := op.checkRequest(vals, nil, []byte(`{"status":"completed","conclusion":"success"}`)); len(v) != 1 || !strings.Contains(v[0], "check_run_id") {
		t.Errorf("non-numeric check run id: %q", v)
	}
}
