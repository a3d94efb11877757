package dbt

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"time"

	dbtengine "github.com/conveyor-dev/conveyor/checks/dbt"
	"github.com/conveyor-dev/conveyor/checks/kind"
)

// MaxCIManifestBytes bounds what is read of a CI manifest: the artifact's
// zip archive and the manifest.json inside it (a 1,200-model project's
// manifest is about 30 MiB).
const MaxCIManifestBytes = 256 << 20

// ciManifests is what the project's CI wrote for both sides of the change:
// dbt Cloud's Slim CI comparison (the PR's manifest against the manifest of
// the base, or of what an environment runs), read from the artifacts of
// the workflow's runs.
type ciManifests struct {
	head, base []byte // both set: compare them
	// headRun and against say which runs they came from, for the check.
	headRun, against string
	wait             string // a run is still going: the check waits, saying this
	retry            bool   // GitHub could not be read: evaluate again later
	fallback         string // why the manifests are not used: the project is parsed, with this warning
}

// readCIManifests reads the head's manifest and the one it is compared
// with. Nothing here fails the check: a run that failed, is absent or
// whose artifact expired is a warning and the project is parsed instead.
func readCIManifests(ctx context.Context, env kind.Env, c *CIManifest, artifact string) ciManifests {
	var out ciManifests
	acts, err := env.Actions()
	if err != nil {
		out.fallback = fmt.Sprintf("ci_manifest: %v; the project is parsed here", err)
		return out
	}
	var note string
	out.head, note, out.wait, out.retry, out.fallback = fetchCIManifest(ctx, acts, c, env.HeadSHA(), env.HeadAge())
	if out.head == nil {
		return out
	}
	out.headRun = note
	sha, what, deployed := env.BaseSHA(), "the base", false
	if c.Compare != "base" {
		if !slices.Contains(env.Environments(), c.Compare) {
			out.fallback = fmt.Sprintf("ci_manifest.compare %q is neither base nor an environment of the base config; the project is parsed", c.Compare)
			return out
		}
		serving, err := env.Serving(ctx, c.Compare)
		if err != nil {
			out.retry, out.wait = true, fmt.Sprintf("what %s runs could not be read (%v)", c.Compare, err)
			return out
		}
		if s := serving[artifact]; s != "" {
			sha, what, deployed = s, "what "+c.Compare+" runs", true
		} else {
			what = "the base (nothing deployed to " + c.Compare + " yet)"
		}
	}
	if sha == "" {
		out.fallback = "ci_manifest: the base commit is not known here; the project is parsed"
		return out
	}
	if deployed {
		// What the deploy kept outlives the CI artifact (GitHub keeps those
		// 90 days by default); a store that cannot be read falls back to CI.
		if kept, err := env.DeployedManifest(ctx, c.Compare, artifact, sha); err == nil && len(kept) > 0 {
			out.base, out.against = kept, fmt.Sprintf("%s, the manifest kept when it deployed %s", what, kind.Short(sha))
			return out
		}
	}
	var wait, fallback string
	// The run on the base (or on what an environment runs) is long
	// created if it ever will be: no wait for it to start.
	out.base, note, wait, out.retry, fallback = fetchCIManifest(ctx, acts, c, sha, -1)
	if out.base == nil {
		out.head = nil
		out.wait = wait
		if fallback != "" {
			out.fallback = fallback + " (the manifest " + what + " is compared with)"
		}
		return out
	}
	out.against = what + ", " + note
	return out
}

// fetchCIManifest reads the manifest of the newest run of the workflow on
// sha. It returns the manifest and which run it came from, or why not:
// wait (the run is going, or has not started while age, how long the
// commit has been known, is under c.StartWait), retry (GitHub failed) or
// fallback (there will be no manifest: no run, a failed run, no artifact,
// an expired one). age < 0 does not wait for a run to start.
//
// GitHub creates a push or pull_request workflow run asynchronously, some
// seconds after the event ("Events that trigger workflows": the run is
// queued once the event is processed), so an evaluation within seconds of
// the push finds no run yet.
func fetchCIManifest(ctx context.Context, acts kind.Actions, c *CIManifest, sha string, age time.Duration) (data []byte, run, wait string, retry bool, fallback string) {
	short := kind.Short(sha)
	r, err := acts.LatestRun(ctx, c.Workflow, sha)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, "", "", false, fmt.Sprintf("ci_manifest: %v; the project is parsed instead", err)
	case err != nil:
		return nil, "", fmt.Sprintf("GitHub Actions could not be read (%v)", err), true, ""
	case r == nil && age >= 0 && age < c.StartWait:
		return nil, "", fmt.Sprintf("waiting for workflow %s to start on %s (up to %s after the push, then the project is parsed)", c.Workflow, short, shortDuration(c.StartWait)), true, ""
	case r == nil:
		after, hint := "", ""
		if age >= 0 {
			after = " " + shortDuration(c.StartWait) + " after the push"
			hint = "check the workflow's triggers (on: push or pull_request) or raise ci_manifest.wait_for_start, and "
		}
		return nil, "", "", false, fmt.Sprintf("%s has no run on %s%s, so dbt's manifest for it is not known: the project is parsed instead (lineage may differ from dbt's); %sre-run this check once the workflow has run", c.Workflow, short, after, hint)
	case r.Status != "completed":
		return nil, "", fmt.Sprintf("waiting for %s run #%d on %s (%s) to upload %s", c.Workflow, r.Number, short, r.Status, c.Artifact), true, ""
	case r.Conclusion != "success":
		return nil, "", "", false, fmt.Sprintf("%s run #%d on %s concluded %s, so its manifest is not trusted: the project is parsed instead; fix the run and re-run this check (%s)", c.Workflow, r.Number, short, r.Conclusion, r.URL)
	}
	data, err = acts.ArtifactFile(ctx, r.ID, c.Artifact, c.Path, MaxCIManifestBytes)
	if tl, ok := kind.IsTooLarge(err); ok {
		return nil, "", "", false, fmt.Sprintf("the manifest of %s run #%d is too large (%v, the limit is %s): the project is parsed instead", c.Workflow, r.Number, tl, kind.Size(MaxCIManifestBytes))
	}
	switch {
	case errors.Is(err, kind.ErrArtifactExpired):
		return nil, "", "", false, fmt.Sprintf("artifact %s of %s run #%d on %s has expired: the project is parsed instead; re-run the workflow to upload it again", c.Artifact, c.Workflow, r.Number, short)
	case errors.Is(err, fs.ErrNotExist):
		return nil, "", "", false, fmt.Sprintf("%s run #%d on %s uploaded no %s: %v; upload target/manifest.json with actions/upload-artifact (name: %s) or fix ci_manifest; the project is parsed instead", c.Workflow, r.Number, short, c.Path, err, c.Artifact)
	case err != nil:
		return nil, "", fmt.Sprintf("artifact %s could not be read (%v)", c.Artifact, err), true, ""
	}
	return data, fmt.Sprintf("%s run #%d on %s", c.Workflow, r.Number, short), "", false, ""
}

// load reads the project with a CI manifest; nil, after a fallback
// warning, when the manifest is not a readable dbt manifest.
func (c *ciManifests) load(fsys fs.FS, dir string, opts dbtengine.LoadOptions, manifest []byte, from string) *dbtengine.Project {
	opts.Manifest, opts.ManifestName = manifest, "manifest.json"
	p, probs := dbtengine.Load(fsys, dir, opts)
	if p.FromManifest {
		return p
	}
	why := "it is not a dbt manifest"
	if len(probs) > 0 {
		why = probs[0].Message
	}
	if c.fallback == "" {
		c.fallback = fmt.Sprintf("the manifest from %s cannot be used (%s): the project is parsed instead", from, why)
	}
	c.head, c.base, c.headRun, c.against = nil, nil, "", ""
	return nil
}

// shortDuration writes d as a config would: 10m, 1h30m, 45s.
func shortDuration(d time.Duration) string {
	out := d.String()
	if strings.HasSuffix(out, "m0s") {
		out = strings.TrimSuffix(out, "0s")
	}
	if strings.HasSuffix(out, "h0m") {
		out = strings.TrimSuffix(out, "0m")
	}
	return out
}
