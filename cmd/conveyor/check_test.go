package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/conveyor-dev/conveyor/examples"
	"github.com/conveyor-dev/conveyor/internal/mlflowfake"
)

// gitRepo builds a checkout of examples/monorepo on main with change applied
// on the branch "feature".
func gitRepo(t *testing.T, change string) string {
	t.Helper()
	dir := t.TempDir()
	run := func(args ...string) {
		cmd := exec.Command("git", append([]string{"-c", "user.email=t@example.com", "-c", "user.name=t"}, args...)...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	write := func(files map[string]string) {
		for p, c := range files {
			full := filepath.Join(dir, p)
			os.MkdirAll(filepath.Dir(full), 0o755)
			if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	files, err := examples.LoadRepo("../../examples/monorepo")
	if err != nil {
		t.Fatal(err)
	}
	run("init", "-q", "-b", "main")
	write(files)
	run("add", "-A")
	run("commit", "-qm", "init")
	run("checkout", "-q", "-b", "feature")
	ch, err := examples.LoadChange("../../examples/changes/" + change)
	if err != nil {
		t.Fatal(err)
	}
	write(ch.Files)
	for _, p := range ch.Delete {
		os.Remove(filepath.Join(dir, p))
	}
	run("add", "-A")
	run("commit", "-qm", change)
	return dir
}

func exitCode(err error) int {
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	if err != nil {
		return 1
	}
	return 0
}

func TestCheckOnLocalCheckout(t *testing.T) {
	cases := []struct {
		change string
		code   int
		want   []string
	}{
		{"contract-break", 1, []string{"FAIL  conveyor / analytics (dbt)", "analytics/models/marts/schema.yml:4", "column customer_id was removed"}},
		{"missing-tests", 1, []string{"FAIL  conveyor / analytics (dbt)"}},
		{"broken-config", 1, []string{".github/conveyor.yml:8", "owners"}},
	}
	for _, c := range cases {
		t.Run(c.change, func(t *testing.T) {
			dir := gitRepo(t, c.change)
			var out bytes.Buffer
			err := runCheck(context.Background(), &out, &checkFlags{base: "main", head: "HEAD", format: "text", repo: dir})
			if got := exitCode(err); got != c.code {
				t.Fatalf("exit %d (%v), want %d\n%s", got, err, c.code, out.String())
			}
			for _, w := range c.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
		})
	}
	dir := gitRepo(t, "good")
	var out bytes.Buffer
	err := runCheck(context.Background(), &out, &checkFlags{base: "main", head: "HEAD", format: "json", repo: dir})
	if exitCode(err) != 0 {
		t.Fatalf("good change without the server config: exit %d (%v), output:\n%s", exitCode(err), err, out.String())
	}
	// The app check lists main..HEAD from git log: one commit, subject "good" by "t".
	if !strings.Contains(out.String(), "### Commits (1)") || !strings.Contains(out.String(), "` good (t)") {
		t.Errorf("the web artifact does not list the local commit:\n%s", out.String())
	}
}

func TestCheckErrors(t *testing.T) {
	dir := gitRepo(t, "good")
	for _, f := range []*checkFlags{
		{base: "", head: "HEAD", format: "text", repo: dir},
		{base: "nope", head: "HEAD", format: "text", repo: dir},
		{base: "main", head: "HEAD", format: "yaml", repo: dir},
		{base: "main", head: "HEAD", format: "text", repo: t.TempDir()},
		{base: "main", head: "HEAD", format: "text", repo: filepath.Join(dir, "services")},    // inside a checkout
		{base: "main", head: "HEAD", format: "text", repo: filepath.Join(dir, "no-such-dir")}, // missing
	} {
		if err := runCheck(context.Background(), &bytes.Buffer{}, f); exitCode(err) != 2 {
			t.Errorf("%+v: exit %d (%v), want 2", f, exitCode(err), err)
		}
	}
}

func TestCheckWithRegistry(t *testing.T) {
	seed, err := os.ReadFile("../../examples/monorepo/mlflow.json")
	if err != nil {
		t.Fatal(err)
	}
	reg := mlflowfake.NewTest(t)
	if err := reg.LoadSeed(bytes.NewReader(seed)); err != nil {
		t.Fatal(err)
	}
	for change, code := range map[string]int{"good": 0, "auc-regression": 1} {
		dir := gitRepo(t, change)
		var out bytes.Buffer
		err := runCheck(context.Background(), &out, &checkFlags{base: "main", head: "HEAD", format: "markdown", repo: dir,
			config: "../../examples/monorepo/conveyor.server.yml", mlflowURL: reg.URL()})
		if got := exitCode(err); got != code {
			t.Fatalf("%s: exit %d (%v), want %d\n%s", change, got, err, code, out.String())
		}
		if !strings.Contains(out.String(), "auc") {
			t.Errorf("%s: no metric table:\n%s", change, out.String())
		}
	}
}

// TestCheckRefusesAFolderInsideACheckout: --repo examples/monorepo inside
// this repository used to check the enclosing repository silently.
func TestCheckRefusesAFolderInsideACheckout(t *testing.T) {
	dir := gitRepo(t, "good")
	var out bytes.Buffer
	err := runCheck(context.Background(), &out, &checkFlags{base: "main", head: "HEAD", format: "text", repo: filepath.Join(dir, "services")})
	if exitCode(err) != 2 || err == nil || !strings.Contains(err.Error(), "is not the top of a git checkout") || out.Len() != 0 {
		t.Fatalf("exit %d, err %v, output %q; want exit 2 naming the problem and no check output", exitCode(err), err, out.String())
	}
	// The checkout's top, given through a path with a trailing slash, is accepted.
	if err := runCheck(context.Background(), &out, &checkFlags{base: "main", head: "HEAD", format: "text", repo: dir + "/"}); exitCode(err) == 2 {
		t.Fatalf("the checkout's own top folder was refused: %v", err)
	}
}

// TestCheckWithAuthenticatedRegistry: conveyor check reads the registry's
// token_env from the environment, as conveyor serve does.
func TestCheckWithAuthenticatedRegistry(t *testing.T) {
	seed, err := os.ReadFile("../../examples/monorepo/mlflow.json")
	if err != nil {
		t.Fatal(err)
	}
	reg := mlflowfake.NewTest(t, mlflowfake.WithToken("s3cret-token"))
	if err := reg.LoadSeed(bytes.NewReader(seed)); err != nil {
		t.Fatal(err)
	}
	cfg, err := os.ReadFile("../../examples/monorepo/conveyor.server.yml")
	if err != nil {
		t.Fatal(err)
	}
	conf := strings.Replace(string(cfg), `main: {type: mlflow, url: "http://127.0.0.1:0"}`,
		`main: {type: mlflow, url: "`+reg.URL()+`", token_env: CONVEYOR_TEST_MLFLOW_TOKEN}`, 1)
	if conf == string(cfg) {
		t.Fatal("the example server config no longer has the registry line this test rewrites")
	}
	path := filepath.Join(t.TempDir(), "conveyor.server.yml")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := gitRepo(t, "good")
	check := func() (string, error) {
		var out bytes.Buffer
		err := runCheck(context.Background(), &out, &checkFlags{base: "main", head: "HEAD", format: "text", repo: dir, config: path})
		return out.String(), err
	}
	t.Setenv("CONVEYOR_TEST_MLFLOW_TOKEN", "s3cret-token")
	if out, err := check(); err != nil || !strings.Contains(out, "auc") {
		t.Fatalf("with the token: %v\n%s", err, out)
	}
	t.Setenv("CONVEYOR_TEST_MLFLOW_TOKEN", "wrong")
	out, err := check()
	if exitCode(err) != 1 || !strings.Contains(out, "UNAUTHENTICATED") || strings.Contains(out, "s3cret") {
		t.Fatalf("with a wrong token: exit %d (%v)\n%s", exitCode(err), err, out)
	}
}

// TestCheckWithoutServerConfig: without --config a correct change used to
// fail on what only the server config knows ("driver "mlflow" is not
// defined in the server config; the server defines none", "registry "main"
// is not defined"). Those are now said to be not checked, and the run
// passes; a real problem still fails it.
func TestCheckWithoutServerConfig(t *testing.T) {
	dir := gitRepo(t, "good")
	var out bytes.Buffer
	err := runCheck(context.Background(), &out, &checkFlags{base: "main", head: "HEAD", format: "text", repo: dir})
	if exitCode(err) != 0 {
		t.Fatalf("exit %d (%v), want 0\n%s", exitCode(err), err, out.String())
	}
	for _, w := range []string{
		`Validate  info  registry "main" not checked without the server config (pass --config)`,
		`Quality   info  metrics not checked without the server config (pass --config)`,
		`driver "mlflow" not checked without the server config`,
		`driver "dbt" not checked without the server config`,
		"team quotas and pricing not checked without the server config",
		"PASS  conveyor / fraud-model (model): Ready as far as checked without the server config",
	} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("output lacks %q:\n%s", w, out.String())
		}
	}
	for _, bad := range []string{"is not defined in the server config", "defines none", "FAIL"} {
		if strings.Contains(out.String(), bad) {
			t.Errorf("output says %q:\n%s", bad, out.String())
		}
	}
	// A change that edits the config is validated too, drivers aside: the
	// broken config still fails on its own problem, never on drivers.
	dir = gitRepo(t, "broken-config")
	out.Reset()
	err = runCheck(context.Background(), &out, &checkFlags{base: "main", head: "HEAD", format: "text", repo: dir})
	if exitCode(err) != 1 || strings.Contains(out.String(), "is not defined in the server config") {
		t.Fatalf("broken config: exit %d (%v)\n%s", exitCode(err), err, out.String())
	}
}

// TestCheckRegistryUnreachable: with --config and the registry down, the
// terminal used to be told to "retry with Re-run", a button it does not
// have. It now names the registry, its URL and the error, and says to run
// again; the run fails (exit 1).
func TestCheckRegistryUnreachable(t *testing.T) {
	dir := gitRepo(t, "good")
	var out bytes.Buffer
	// The example server config points registry "main" at 127.0.0.1:0,
	// where nothing listens.
	err := runCheck(context.Background(), &out, &checkFlags{base: "main", head: "HEAD", format: "text", repo: dir,
		config: "../../examples/monorepo/conveyor.server.yml"})
	if exitCode(err) != 1 {
		t.Fatalf("exit %d (%v), want 1\n%s", exitCode(err), err, out.String())
	}
	want := `Validate  error registry "main" at http://127.0.0.1:0 unreachable: `
	if !strings.Contains(out.String(), want) || !strings.Contains(out.String(), "connection refused") ||
		!strings.Contains(out.String(), "; run again") || strings.Contains(out.String(), "Re-run") {
		t.Fatalf("output lacks %q ... \"; run again\" (or mentions Re-run):\n%s", want, out.String())
	}
}

// TestCheckUnreachableRegistrySaysRunAgain: on the command line nothing
// comes back by itself, so an unreachable registry fails and says so.
func TestCheckUnreachableRegistrySaysRunAgain(t *testing.T) {
	reg := mlflowfake.New()
	url := reg.URL()
	reg.Close()
	dir := gitRepo(t, "good")
	var out bytes.Buffer
	err := runCheck(context.Background(), &out, &checkFlags{base: "main", head: "HEAD", format: "text", repo: dir,
		config: "../../examples/monorepo/conveyor.server.yml", mlflowURL: url})
	if exitCode(err) != 1 || !strings.Contains(out.String(), `registry "main" at `) || !strings.Contains(out.String(), "unreachable") || !strings.Contains(out.String(), "; run again") || strings.Contains(out.String(), "trying again at") {
		t.Fatalf("exit %d (%v)\n%s", exitCode(err), err, out.String())
	}
}
