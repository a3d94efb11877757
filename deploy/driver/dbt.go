package driver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"

	dbtproject "github.com/conveyor-dev/conveyor/checks/dbt"
	"github.com/conveyor-dev/conveyor/internal/serverconfig"
)

// dbtDriver runs the server's dbt command (default "dbt build") for the
// modified models and their downstream, against the environment's target,
// in a fresh checkout of the commit fetched from GitHub:
//
//	<command> "--select=m1+ m2+" --target=<env> [--profiles-dir=<dir>]
//
// The selected models come from the pull request's file names, so each is
// checked against the project parsed from the same checkout
// (CheckDBTSelection) and every value is passed in an option's "=" form:
// no text from the pull request becomes an argv word of its own, which dbt
// could read as an option.
//
// dbt has no undo: Rollback rebuilds the same selection from the previous
// SHA, which restores the models' definitions but not rows that were
// deleted in between. With no previous SHA there is nothing to rebuild, and
// Rollback only says so. Before Conveyor's first deploy of the project to
// the environment, Deploy reports the commit that served there from GitHub's
// Deployments (githubBaseline), which Rollback then rebuilds.
type dbtDriver struct {
	base
	cfg  serverconfig.Driver
	deps Deps
}

func (d *dbtDriver) Deploy(ctx context.Context, t Target, log Logger) (Result, error) {
	return d.run(ctx, t, log, true)
}

func (d *dbtDriver) Rollback(ctx context.Context, t Target, log Logger) (Result, error) {
	return d.run(ctx, t, log, false)
}

func (d *dbtDriver) run(ctx context.Context, t Target, log Logger, deploy bool) (Result, error) {
	ctx, cancel, p := d.start(ctx, log)
	defer cancel()
	res := Result{Previous: t.Previous}
	sha := t.SHA
	if !deploy {
		p.Printf("dbt has no undo: rebuilding %s from the previous commit", t.Artifact)
		if t.Previous == "" {
			p.Printf("nothing was deployed to %s before; the models this deploy built stay as they are (drop them by hand if they must go)", t.Environment)
			res.Output = p.Output()
			return res, nil
		}
		sha = t.Previous
	}
	project, err := projectDir(t)
	if err != nil {
		return res, d.fail(ctx, t, deploy, err, "set project: to the folder holding dbt_project.yml, relative to the repository root")
	}
	gh, err := d.deps.GitHub(t.InstallationID)
	if err != nil {
		return res, d.fail(ctx, t, deploy, fmt.Errorf("GitHub client for installation %d: %w", t.InstallationID, err), "check that the GitHub App is installed on the repository")
	}
	if deploy {
		// dbt keeps no record of the commit it built last: its artifacts'
		// metadata holds its version, the time, the invocation ID and
		// DBT_ENV_CUSTOM_ENV_* variables (dbt-core 1.11,
		// core/dbt/artifacts/schemas/base.py, BaseArtifactMetadata), and
		// target/ stays wherever it last ran. GitHub's Deployments may.
		reportBaseline(ctx, gh, t, p, &res)
	}
	p.Printf("fetching %s at %s", t.Repository, shortSHA(sha))
	checkout, err := fetchCheckout(ctx, gh, d.deps.HTTP, t.Repository, sha, d.deps.WorkDir)
	if err != nil {
		return res, d.fail(ctx, t, deploy, err, "check that the commit exists and the GitHub App may read the repository contents")
	}
	defer os.RemoveAll(checkout)
	dir := filepath.Join(checkout, filepath.FromSlash(project))
	if _, err := os.Stat(filepath.Join(dir, "dbt_project.yml")); err != nil {
		return res, d.fail(ctx, t, deploy, fmt.Errorf("no dbt_project.yml in %q at %s", project, shortSHA(sha)),
			"set project: to the folder holding dbt_project.yml")
	}
	sel, err := selection(checkout, project, t)
	if err != nil {
		return res, d.fail(ctx, t, deploy, err, "rename the model's file so its name is a dbt model name, push and deploy again")
	}
	argv := d.argv(t, sel)
	p.Printf("running %s in %s", displayArgv(argv), project)
	env := commandEnv(t, deploy, d.cfg.Env, d.deps.Env)
	res.URL, err = runCommand(ctx, argv, dir, env, p)
	res.Output = p.Output()
	if err != nil {
		return res, d.fail(ctx, t, deploy, err, "read dbt's output above, fix the failing models or tests, push and deploy again")
	}
	res.Serving = sha
	res.Manifest = readManifest(dir, env, p)
	return res, nil
}

// maxManifestBytes bounds the manifest a dbt run hands back (as the dbt
// check bounds a CI manifest).
const maxManifestBytes = 256 << 20

// readManifest reads the manifest.json dbt wrote in its target path: the
// DBT_TARGET_PATH variable, else target-path in dbt_project.yml, else
// target (dbt-core 1.11's resolution for the path without the
// --target-path flag, which the command line here never has). Nothing
// that goes wrong here fails the deploy: a missing, oversized or outside
// file is said in the progress and nil returned.
func readManifest(dir string, env []string, p *progress) []byte {
	target := "target"
	var proj struct {
		TargetPath string `yaml:"target-path"`
	}
	if b, err := os.ReadFile(filepath.Join(dir, "dbt_project.yml")); err == nil && yaml.Unmarshal(b, &proj) == nil && proj.TargetPath != "" {
		target = proj.TargetPath
	}
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "DBT_TARGET_PATH="); ok && v != "" {
			target = v
		}
	}
	if filepath.IsAbs(target) || !filepath.IsLocal(target) {
		p.Printf("dbt's target path %q is outside the project: its manifest.json is not kept", target)
		return nil
	}
	f, err := os.Open(filepath.Join(dir, target, "manifest.json"))
	if err != nil {
		p.Printf("dbt wrote no %s/manifest.json: pull requests compare with this deploy through CI's artifact only", target)
		return nil
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxManifestBytes+1))
	switch {
	case err != nil:
		p.Printf("%s/manifest.json could not be read (%v): it is not kept", target, err)
		return nil
	case len(b) > maxManifestBytes:
		p.Printf("%s/manifest.json is over %d MiB: it is not kept", target, maxManifestBytes>>20)
		return nil
	}
	return b
}

// selection returns the validated node keys t selects, read against the
// dbt project parsed from the checkout; nil selects everything.
func selection(checkout, project string, t Target) ([]string, error) {
	ref := t.DBTRef()
	if ref == nil || len(ref.Select) == 0 {
		return nil, nil
	}
	parsed, _ := dbtproject.Load(os.DirFS(checkout), project, dbtproject.LoadOptions{})
	return CheckDBTSelection(ref.Select, parsed.Name, func(key string) bool {
		_, ok := parsed.Models[key]
		return ok
	})
}

// argv is the dbt command line for t selecting sel (validated node keys).
func (d *dbtDriver) argv(t Target, sel []string) []string {
	argv := append([]string(nil), d.cfg.Command...)
	if len(sel) > 0 {
		argv = append(argv, dbtSelectArg(sel))
	}
	target := t.Environment
	if ref := t.DBTRef(); ref != nil && ref.Target != "" {
		target = ref.Target
	}
	argv = append(argv, "--target="+target)
	if d.cfg.ProfilesDir != "" {
		argv = append(argv, "--profiles-dir="+d.cfg.ProfilesDir)
	}
	return argv
}

// displayArgv writes argv for a progress line, quoting words with spaces
// so the word boundaries dbt sees are visible.
func displayArgv(argv []string) string {
	out := make([]string, len(argv))
	for i, a := range argv {
		if strings.ContainsAny(a, " \t'\"") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		out[i] = a
	}
	return strings.Join(out, " ")
}

// projectDir returns the dbt project folder of t, cleaned and confined to
// the checkout.
func projectDir(t Target) (string, error) {
	ref := t.DBTRef()
	if ref == nil {
		return "", errors.New("the target names no dbt project")
	}
	p := strings.Trim(ref.Project, "/")
	if p == "" {
		return ".", nil
	}
	c := path.Clean(p)
	if c == ".." || strings.HasPrefix(c, "../") || strings.Contains(p, "\\") {
		return "", fmt.Errorf("project %q leaves the repository", ref.Project)
	}
	return c, nil
}
