package driver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/conveyor-dev/conveyor/internal/serverconfig"
)

// killGrace is how long a command may take to exit after SIGTERM before it
// and its process group get SIGKILL.
const killGrace = 5 * time.Second

// urlPrefix marks an output line that tells Conveyor where the deployed
// thing lives (shown as the GitHub Deployment's environment URL).
const urlPrefix = "CONVEYOR_URL="

// execDriver runs a server-defined command (no shell) with CONVEYOR_*
// environment variables describing the deploy.
type execDriver struct {
	base
	cfg  serverconfig.Driver
	deps Deps
}

func (d *execDriver) Deploy(ctx context.Context, t Target, log Logger) (Result, error) {
	return d.run(ctx, t, log, true)
}

func (d *execDriver) Rollback(ctx context.Context, t Target, log Logger) (Result, error) {
	return d.run(ctx, t, log, false)
}

func (d *execDriver) run(ctx context.Context, t Target, log Logger, deploy bool) (Result, error) {
	ctx, cancel, p := d.start(ctx, log)
	defer cancel()
	if err := checkSelectionShape(t); err != nil {
		return Result{Previous: t.Previous}, d.fail(ctx, t, deploy, err, "rename the model's file so its name is a dbt model name, push and deploy again")
	}
	p.Printf("%s %s to %s: running %s", action(deploy), t.Artifact, t.Environment, d.cfg.Command[0])
	env := commandEnv(t, deploy, d.cfg.Env, d.deps.Env)
	res := Result{Previous: t.Previous}
	out, err := runCommandReport(ctx, d.cfg.Command, "", env, p)
	res.Output, res.URL = p.Output(), out.url
	if deploy && t.Previous == "" && out.serving != "" {
		// The baseline /rollback returns to after this first deployment.
		res.Previous = out.serving
	}
	if err != nil {
		return res, d.fail(ctx, t, deploy, err, fmt.Sprintf("read the output above, fix %s or what it deploys, then deploy again", d.cfg.Command[0]))
	}
	if deploy {
		res.Serving = servingAfterDeploy(t)
	} else {
		res.Serving = t.Previous
	}
	return res, nil
}

// checkSelectionShape refuses a dbt selection whose names are not dbt node
// names. A script may splice CONVEYOR_DBT_SELECT into its own command line,
// so it gets only names the dbt driver would pass too. The exec driver has
// no checkout to parse, so only the shape is checked here.
func checkSelectionShape(t Target) error {
	ref := t.DBTRef()
	if ref == nil {
		return nil
	}
	_, err := CheckDBTSelection(ref.Select, "", func(string) bool { return true })
	return err
}

// commandEnv builds a command's environment: PATH and HOME from the server,
// the driver's configured env, then the CONVEYOR_* variables. Nothing else
// of the server's environment is passed, so secrets reach a deploy script
// only when the server config lists them. A configured value written as
// "$NAME" or "${NAME}" is read from the server's environment variable NAME
// (secrets by reference); any other value is taken literally.
func commandEnv(t Target, deploy bool, extra map[string]string, getenv func(string) string) []string {
	var env []string
	for _, k := range []string{"PATH", "HOME"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	keys := make([]string, 0, len(extra))
	for k := range extra {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		env = append(env, k+"="+expandRef(extra[k], getenv))
	}
	set := func(k, v string) { env = append(env, "CONVEYOR_"+k+"="+v) }
	set("ACTION", action(deploy))
	set("DEPLOYMENT_ID", strconv.FormatInt(t.DeploymentID, 10))
	set("REPOSITORY", t.Repository)
	set("PR", strconv.Itoa(t.PR))
	set("SHA", t.SHA)
	set("REF", t.Ref)
	set("ENVIRONMENT", t.Environment)
	set("ARTIFACT", t.Artifact)
	set("KIND", t.Kind)
	set("PERCENT", strconv.Itoa(t.Percent))
	set("STEP", strconv.Itoa(t.Step))
	set("PREVIOUS", t.Previous)
	if len(t.Spec) > 0 {
		set("SPEC", string(t.Spec))
	}
	if m := t.ModelRef(); m != nil {
		set("MODEL_REGISTRY", m.Registry)
		set("MODEL_NAME", m.Name)
		set("MODEL_VERSION", m.Version)
	}
	if d := t.DBTRef(); d != nil {
		set("DBT_SELECT", strings.Join(d.Select, " "))
	}
	return env
}

// SecretValues returns the values of cfg that are secrets, for masking:
// the webhook signing secret (secret_env), the sagemaker driver's AWS keys
// (access_key_env, secret_key_env) and every env value read by
// reference ("$NAME", "${NAME}") from the server's environment, plus
// literal env values whose key names a credential (TOKEN, SECRET,
// PASSWORD, KEY, ...), since a deploy script may print any of them.
func SecretValues(cfg serverconfig.Driver, getenv func(string) string) []string {
	var out []string
	for _, name := range []string{cfg.SecretEnv, cfg.AccessKeyEnv, cfg.SecretKeyEnv} {
		if name != "" {
			out = append(out, getenv(name))
		}
	}
	for k, v := range cfg.Env {
		if ref := expandRef(v, getenv); ref != v || secretKey(k) {
			out = append(out, ref)
		}
	}
	return out
}

// secretKey reports whether an environment variable's name says it holds a
// credential.
func secretKey(k string) bool {
	k = strings.ToUpper(k)
	for _, s := range []string{"TOKEN", "SECRET", "PASSWORD", "PASSWD", "KEY", "CREDENTIAL", "AUTH"} {
		if strings.Contains(k, s) {
			return true
		}
	}
	return false
}

func expandRef(v string, getenv func(string) string) string {
	switch {
	case strings.HasPrefix(v, "${") && strings.HasSuffix(v, "}") && len(v) > 3:
		return getenv(v[2 : len(v)-1])
	case strings.HasPrefix(v, "$") && len(v) > 1 && !strings.ContainsAny(v[1:], "${}/ "):
		return getenv(v[1:])
	}
	return v
}

// runCommand runs argv in dir with env, streaming combined output into p.
// It runs the command in its own process group so that a timeout stops the
// command and everything it started. It returns the last CONVEYOR_URL=
// value the command printed.
func runCommand(ctx context.Context, argv []string, dir string, env []string, p *progress) (string, error) {
	out, err := runCommandReport(ctx, argv, dir, env, p)
	return out.url, err
}

// commandReport is what a command reported on its output: a CONVEYOR_URL=
// line and a {"serving": "..."} line.
type commandReport struct{ url, serving string }

// runCommandReport runs argv like runCommand and also returns the value of
// the last JSON line {"serving": "..."} the command printed: what served in
// the environment before it deployed, which a deploy script reports when
// Conveyor does not know it yet (CONVEYOR_PREVIOUS is empty).
func runCommandReport(ctx context.Context, argv []string, dir string, env []string, p *progress) (commandReport, error) {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = env
	urls := &urlWatcher{p: p}
	cmd.Stdout = urls
	cmd.Stderr = urls
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		// Ask the whole group to stop; Wait kills the leader after
		// WaitDelay, and the group is killed below.
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
	}
	cmd.WaitDelay = killGrace
	err := cmd.Run()
	if ctx.Err() != nil && cmd.Process != nil {
		// Whatever the command started and left behind goes too.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	p.Flush()
	// The URL is shown on GitHub; a token in it must not be.
	urls.url = p.mask.String(urls.url)
	rep := commandReport{url: urls.url, serving: p.mask.String(urls.serving)}
	if err == nil {
		return rep, nil
	}
	if ctx.Err() != nil {
		return rep, fmt.Errorf("%s was stopped: %w", argv[0], ctx.Err())
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		msg := fmt.Sprintf("%s exited with code %d", argv[0], exit.ExitCode())
		if exit.ExitCode() < 0 {
			msg = fmt.Sprintf("%s was killed (%v)", argv[0], exit.ProcessState)
		}
		if last := p.LastLines(10); last != "" {
			msg += "; last output:\n" + last
		}
		return rep, errors.New(msg)
	}
	return rep, fmt.Errorf("could not run %s: %w", argv[0], err)
}

// urlWatcher passes output to a progress and remembers CONVEYOR_URL= lines
// and {"serving": "..."} lines.
type urlWatcher struct {
	p       *progress
	pending []byte
	url     string
	serving string
}

func (w *urlWatcher) Write(b []byte) (int, error) {
	// Both stdout and stderr use this writer; os/exec serialises them when
	// they are the same value, so no lock is needed.
	w.pending = append(w.pending, b...)
	for {
		i := bytes.IndexByte(w.pending, '\n')
		if i < 0 {
			break
		}
		line := strings.TrimSpace(string(w.pending[:i]))
		if strings.HasPrefix(line, urlPrefix) {
			w.url = strings.TrimPrefix(line, urlPrefix)
		}
		if v, ok := servingLine(line); ok {
			w.serving = v
		}
		w.pending = w.pending[i+1:]
	}
	if len(w.pending) > maxLine {
		w.pending = w.pending[:0]
	}
	return w.p.Write(b)
}

// maxServing bounds a reported serving value (a SHA, a version, an image tag).
const maxServing = 200

// servingLine reads a line {"serving": "..."}: a JSON object whose only key
// is serving, a non-empty single-line string of at most maxServing bytes.
func servingLine(line string) (string, bool) {
	if !strings.HasPrefix(line, "{") || !strings.Contains(line, `"serving"`) {
		return "", false
	}
	var doc map[string]any
	if json.Unmarshal([]byte(line), &doc) != nil || len(doc) != 1 {
		return "", false
	}
	v, ok := doc["serving"].(string)
	v = strings.TrimSpace(v)
	if !ok || v == "" || len(v) > maxServing || strings.ContainsAny(v, "\r\n") {
		return "", false
	}
	return v, true
}
