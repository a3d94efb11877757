package driver

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/conveyor-dev/conveyor/internal/serverconfig"
)

const (
	shaOld = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	shaNew = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
)

// deployScript is a fake deploy script. It reads its mode from the file
// "mode" beside it, records what it saw, and "serves" by writing a file.
const deployScript = `#!/bin/sh
dir=$(dirname "$0")
env > "$dir/env"
printf '%s\n' "$#" "$@" > "$dir/args"
echo "$CONVEYOR_ENVIRONMENT $CONVEYOR_SHA $CONVEYOR_PERCENT $CONVEYOR_ACTION" > "$dir/observed"
echo "starting $CONVEYOR_ACTION of $CONVEYOR_ARTIFACT"
case $(cat "$dir/mode") in
fail) echo "boom: cluster refused the manifest" >&2; exit 3;;
hang) sleep 1000 & echo $! > "$dir/child"; wait;;
esac
if [ "$CONVEYOR_ACTION" = deploy ]; then echo "$CONVEYOR_SHA" > "$dir/serving"; else echo "$CONVEYOR_PREVIOUS" > "$dir/serving"; fi
echo "CONVEYOR_URL=https://web.$CONVEYOR_ENVIRONMENT.example"
echo done
`

func writeScript(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func readTrim(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func appTarget() Target {
	return Target{
		DeploymentID: 42, Repository: "acme/shop", InstallationID: 7, PR: 12, SHA: shaNew, Ref: "feature",
		Environment: "production", Production: true, Artifact: "web", Kind: "app", Percent: 100, Previous: shaOld,
	}
}

func newExecWorld(t *testing.T, timeout time.Duration, cfgEnv map[string]string, getenv func(string) string) (contractWorld, string) {
	dir := t.TempDir()
	script := writeScript(t, dir, "deploy.sh", deployScript)
	os.WriteFile(filepath.Join(dir, "mode"), []byte("ok"), 0o644)
	os.WriteFile(filepath.Join(dir, "serving"), []byte(shaOld), 0o644)
	cfg := serverconfig.Driver{Type: "exec", Command: []string{script}, Env: cfgEnv}
	cfg.Timeout.Duration = timeout
	d, err := New("web-argo", cfg, Deps{Env: getenv})
	if err != nil {
		t.Fatal(err)
	}
	return contractWorld{
		driver:  d,
		target:  appTarget(),
		setMode: func(m string) { os.WriteFile(filepath.Join(dir, "mode"), []byte(m), 0o644) },
		serving: func() string { return readTrim(t, filepath.Join(dir, "serving")) },
		observed: func() observation {
			f := strings.Fields(readTrim(t, filepath.Join(dir, "observed")))
			if len(f) < 3 {
				return observation{}
			}
			return observation{Env: f[0], Subject: f[1], Partial: f[2] != "100"}
		},
	}, dir
}

var execHarness = contractHarness{
	name:     "exec",
	failText: "boom: cluster refused the manifest",
	setup: func(t *testing.T, timeout time.Duration) contractWorld {
		w, _ := newExecWorld(t, timeout, nil, nil)
		return w
	},
}

func TestExecEnvironmentIsExactlyWhatIsListed(t *testing.T) {
	t.Setenv("SERVER_SECRET", "do-not-leak")
	t.Setenv("DEPLOY_TOKEN_SRC", "from-server-env")
	w, dir := newExecWorld(t, time.Minute, map[string]string{"KUBE_CONTEXT": "prod", "TOKEN": "${DEPLOY_TOKEN_SRC}", "ALT": "$DEPLOY_TOKEN_SRC"}, nil)
	tg := w.target
	tg.Kind, tg.Percent, tg.Step = "model", 50, 1
	tg.Spec = EncodeSpec(&ModelRef{Registry: "main", Name: "fraud", Version: "14"})
	readEnv := func() map[string]string {
		env := map[string]string{}
		for _, l := range strings.Split(readTrim(t, filepath.Join(dir, "env")), "\n") {
			if k, v, ok := strings.Cut(l, "="); ok {
				env[k] = v
			}
		}
		return env
	}
	dbtTg := tg
	dbtTg.Kind, dbtTg.Spec = "dbt", EncodeSpec(&DBTRef{Select: []string{"orders", "customers"}})
	if _, err := w.driver.Deploy(context.Background(), dbtTg, nil); err != nil {
		t.Fatal(err)
	}
	if env := readEnv(); env["CONVEYOR_DBT_SELECT"] != "orders customers" || env["CONVEYOR_MODEL_NAME"] != "" {
		t.Errorf("dbt target: DBT_SELECT = %q, MODEL_NAME = %q", env["CONVEYOR_DBT_SELECT"], env["CONVEYOR_MODEL_NAME"])
	}
	res, err := w.driver.Deploy(context.Background(), tg, nil)
	if err != nil {
		t.Fatal(err)
	}
	env := readEnv()
	want := map[string]string{
		"CONVEYOR_ENVIRONMENT": "production", "CONVEYOR_SHA": shaNew, "CONVEYOR_REF": "feature",
		"CONVEYOR_REPOSITORY": "acme/shop", "CONVEYOR_PR": "12", "CONVEYOR_ARTIFACT": "web", "CONVEYOR_KIND": "model",
		"CONVEYOR_PERCENT": "50", "CONVEYOR_STEP": "1", "CONVEYOR_ACTION": "deploy", "CONVEYOR_PREVIOUS": shaOld,
		"CONVEYOR_MODEL_NAME": "fraud", "CONVEYOR_MODEL_VERSION": "14", "CONVEYOR_MODEL_REGISTRY": "main",
		"CONVEYOR_SPEC": `{"registry":"main","name":"fraud","version":"14"}`, "CONVEYOR_DEPLOYMENT_ID": "42",
		"KUBE_CONTEXT": "prod", "TOKEN": "from-server-env", "ALT": "from-server-env", "PATH": os.Getenv("PATH"),
	}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("%s = %q, want %q", k, env[k], v)
		}
	}
	if _, ok := env["SERVER_SECRET"]; ok {
		t.Error("the server's SERVER_SECRET leaked into the deploy script")
	}
	if _, ok := env["DEPLOY_TOKEN_SRC"]; ok {
		t.Error("DEPLOY_TOKEN_SRC leaked under its own name")
	}
	if res.URL != "https://web.production.example" {
		t.Errorf("Result.URL = %q, want the CONVEYOR_URL= line", res.URL)
	}
	if res.Serving != "14" {
		t.Errorf("Serving = %q, want the model version", res.Serving)
	}
}

func TestExecFailureCarriesExitCodeAndOutput(t *testing.T) {
	w, _ := newExecWorld(t, time.Minute, nil, nil)
	w.setMode("fail")
	res, err := w.driver.Deploy(context.Background(), w.target, nil)
	if err == nil {
		t.Fatal("want an error")
	}
	for _, part := range []string{`driver "web-argo" (exec)`, "exited with code 3", "starting deploy of web", "boom"} {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("error %q lacks %q", err, part)
		}
	}
	if !strings.Contains(res.Output, "boom") {
		t.Errorf("Output %q lacks the failure line", res.Output)
	}
}

func TestExecTimeoutKillsTheProcessGroup(t *testing.T) {
	w, dir := newExecWorld(t, 300*time.Millisecond, nil, nil)
	w.setMode("hang")
	if _, err := w.driver.Deploy(context.Background(), w.target, nil); err == nil {
		t.Fatal("want a timeout error")
	}
	pid, err := strconv.Atoi(readTrim(t, filepath.Join(dir, "child")))
	if err != nil {
		t.Fatalf("the script did not record its child: %v", err)
	}
	// The kill is sent before Deploy returns; give the kernel a moment to
	// finish the process off (this waits for a state, it asserts no time).
	for i := 0; i < 100 && alive(pid); i++ {
		time.Sleep(20 * time.Millisecond)
	}
	if alive(pid) {
		t.Errorf("the script's child %d survived the timeout", pid)
	}
}

// alive reports whether pid runs (a zombie counts as dead).
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	return len(f) > 0 && f[0] != "Z" && f[0] != "X"
}

func TestExecMissingCommandSaysWhatToWrite(t *testing.T) {
	_, err := New("web", serverconfig.Driver{Type: "exec"}, Deps{})
	if err == nil || !strings.Contains(err.Error(), "drivers.web.command") {
		t.Fatalf("err = %v; want it to name drivers.web.command", err)
	}
	d, err := New("web", serverconfig.Driver{Type: "exec", Command: []string{"/nonexistent/deploy.sh"}}, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = d.Deploy(context.Background(), appTarget(), nil)
	if err == nil || !strings.Contains(err.Error(), "could not run /nonexistent/deploy.sh") {
		t.Fatalf("err = %v; want it to say the command could not run", err)
	}
}

func TestNewRejectsUnknownType(t *testing.T) {
	_, err := New("x", serverconfig.Driver{Type: "teleport"}, Deps{})
	if err == nil || !strings.Contains(err.Error(), "exec") {
		t.Fatalf("err = %v; want the list of driver types", err)
	}
}

// PR-controlled text (the head branch, the dbt selection) reaches an exec
// driver's program only through CONVEYOR_* variables, never as argv: the
// program gets exactly the configured command line.
func TestExecPRTextReachesOnlyTheEnvironment(t *testing.T) {
	w, dir := newExecWorld(t, time.Minute, nil, nil)
	tg := w.target
	tg.Ref = "--upload-pack=touch /tmp/pwned"
	tg.Kind, tg.Spec = "dbt", EncodeSpec(&DBTRef{Select: []string{"orders", "dim_customers.v2"}})
	if _, err := w.driver.Deploy(context.Background(), tg, nil); err != nil {
		t.Fatal(err)
	}
	if args := readTrim(t, filepath.Join(dir, "args")); args != "0" {
		t.Errorf("the program got arguments %q; want none (the configured command has none)", args)
	}
	env := readTrim(t, filepath.Join(dir, "env"))
	if !strings.Contains(env, "CONVEYOR_REF=--upload-pack=touch /tmp/pwned\n") {
		t.Errorf("CONVEYOR_REF not passed as is; env:\n%s", env)
	}
	if !strings.Contains(env, "CONVEYOR_DBT_SELECT=orders dim_customers.v2\n") {
		t.Errorf("CONVEYOR_DBT_SELECT not passed; env:\n%s", env)
	}
}

// A dbt selection a script could splice into its own command line is
// refused before the script runs, as the dbt driver refuses it.
func TestExecRefusesAnOptionShapedDBTSelection(t *testing.T) {
	w, dir := newExecWorld(t, time.Minute, nil, nil)
	tg := w.target
	tg.Kind, tg.Spec = "dbt", EncodeSpec(&DBTRef{Select: []string{"--profiles-dir=evil"}})
	_, err := w.driver.Deploy(context.Background(), tg, nil)
	if err == nil || !strings.Contains(err.Error(), `dbt node "--profiles-dir=evil" cannot be selected`) {
		t.Fatalf("err = %v; want the selection refused", err)
	}
	if _, serr := os.Stat(filepath.Join(dir, "env")); serr == nil {
		t.Error("the script ran with an option-shaped selection")
	}
}

// TestExecReportsWhatServedBefore: a deploy script prints {"serving": ...}
// when CONVEYOR_PREVIOUS is empty; that becomes the baseline. Malformed or
// oversize lines are ignored.
func TestExecReportsWhatServedBefore(t *testing.T) {
	dir := t.TempDir()
	script := writeScript(t, dir, "deploy.sh", `#!/bin/sh
echo '{"serving": 7}'
echo '{"serving": "x", "other": 1}'
[ -z "$CONVEYOR_PREVIOUS" ] && echo '{"serving": "`+shaOld+`"}'
echo '{"serving": "`+strings.Repeat("z", 300)+`"}'
echo deployed
`)
	d, err := New("web-exec", serverconfig.Driver{Type: "exec", Command: []string{script}}, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	tg := appTarget()
	tg.Previous = ""
	res, err := d.Deploy(context.Background(), tg, nil)
	if err != nil || res.Previous != shaOld {
		t.Fatalf("first deploy: Previous = %q, %v; want %s", res.Previous, err, shaOld)
	}
	tg.Previous = "known"
	if res, err = d.Deploy(context.Background(), tg, nil); err != nil || res.Previous != "known" {
		t.Fatalf("later deploy: Previous = %q, %v", res.Previous, err)
	}
}
