package checks

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/go-github/v66/github"

	"github.com/conveyor-dev/conveyor/internal/store"
)

// annotationsPerCall is GitHub's limit on annotations in one request.
const annotationsPerCall = 50

// checkOutput is everything one check run shows.
type checkOutput struct {
	Name        string
	Artifact    string // "" for the gate
	Kind        string
	Stages      []Stage
	Status      string
	Conclusion  string
	Title       string
	Summary     string
	Text        string
	Annotations []Annotation
	Actions     []Action
}

func artifactOutput(a *ArtifactResult) checkOutput {
	return checkOutput{Name: CheckName(a.Name), Artifact: a.Name, Kind: a.Kind, Stages: a.Stages, Status: a.Status, Conclusion: a.Conclusion, Title: a.Title,
		Summary: a.summary(), Text: a.text(), Annotations: a.Annotations, Actions: a.Actions}
}

func gateOutput(g GateResult) checkOutput {
	return checkOutput{Name: GateName, Status: g.Status, Conclusion: g.Conclusion, Title: g.Title,
		Summary: g.summary(), Annotations: g.Annotations}
}

func digestOf(v any) string {
	b, _ := json.Marshal(v)
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:8])
}

// writeCheck creates or updates one check run so that it shows out, and
// returns the row to store. Unchanged output is not written again. GitHub
// appends annotations on every update, so output whose annotations changed
// (or a completed check going back to in progress) gets a new check run,
// which supersedes the old one of the same name.
// The check run's details_url is the pull request page of pr (the
// artifact's section of it), when the dashboard has a public address.
func (s *Suite) writeCheck(ctx context.Context, gh *github.Client, repo string, pr int, sha string, out checkOutput, prev store.CheckResult) (store.CheckResult, error) {
	annDigest := digestOf(out.Annotations)
	digest := digestOf(out) + ":" + annDigest
	row := prev
	row.Repository, row.SHA, row.Name = repo, sha, out.Name
	row.Status, row.Conclusion, row.Title, row.Digest = out.Status, out.Conclusion, out.Title, digest
	if prev.CheckRunID != 0 && prev.Digest == digest {
		return row, nil
	}
	owner, name, _ := strings.Cut(repo, "/")
	title, summary, text := out.Title, truncate(out.Summary), truncate(out.Text)
	output := func(anns []Annotation) *github.CheckRunOutput {
		o := &github.CheckRunOutput{Title: &title, Summary: &summary, Annotations: ghAnnotations(anns)}
		if text != "" {
			o.Text = &text
		}
		return o
	}
	var conclusion *string
	if out.Status == StatusCompleted {
		conclusion = github.String(out.Conclusion)
	}
	actions := ghActions(out.Actions)
	_, prevAnn, _ := strings.Cut(prev.Digest, ":")
	sendAnn := out.Annotations
	create := prev.CheckRunID == 0 ||
		(prevAnn != annDigest && prevAnn != digestOf([]Annotation(nil))) ||
		(prev.Status == StatusCompleted && out.Status != StatusCompleted)
	if !create && prevAnn == annDigest {
		sendAnn = nil // already on the check run
	}
	first, rest := split(sendAnn, annotationsPerCall)
	if create {
		opts := github.CreateCheckRunOptions{Name: out.Name, HeadSHA: sha, Status: github.String(out.Status),
			Conclusion: conclusion, Output: output(first), Actions: actions}
		if u := s.o.Pages.Pull(repo, pr, out.Artifact); u != "" {
			opts.DetailsURL = github.String(u)
		}
		cr, _, err := gh.Checks.CreateCheckRun(ctx, owner, name, opts)
		if err != nil {
			return prev, fmt.Errorf("create check run %q on %s: %w", out.Name, short(sha), err)
		}
		row.CheckRunID = cr.GetID()
	} else {
		opts := github.UpdateCheckRunOptions{Name: out.Name, Status: github.String(out.Status), Conclusion: conclusion,
			Output: output(first)}
		if u := s.o.Pages.Pull(repo, pr, out.Artifact); u != "" {
			opts.DetailsURL = github.String(u) // a run created before the dashboard had an address gets one
		}
		if err := updateCheckRun(ctx, gh, owner, name, prev.CheckRunID, opts, actions); err != nil {
			return prev, fmt.Errorf("update check run %q on %s: %w", out.Name, short(sha), err)
		}
	}
	if err := s.saveOutput(ctx, repo, pr, sha, out); err != nil {
		return row, err
	}
	for len(rest) > 0 {
		var batch []Annotation
		batch, rest = split(rest, annotationsPerCall)
		opts := github.UpdateCheckRunOptions{Name: out.Name, Output: output(batch)}
		if _, _, err := gh.Checks.UpdateCheckRun(ctx, owner, name, row.CheckRunID, opts); err != nil {
			// Retrying must create afresh: this check run holds a partial set.
			row.Digest = ""
			return row, fmt.Errorf("add annotations to check run %q on %s: %w", out.Name, short(sha), err)
		}
	}
	return row, nil
}

// updateCheckRun is UpdateCheckRun with the "actions" field always sent. GitHub
// keeps a run's buttons when the field is absent, and go-github's
// UpdateCheckRunOptions drops an empty list (omitempty), so a run that stopped
// being deployable would keep its "Deploy" button; an explicit [] clears it.
func updateCheckRun(ctx context.Context, gh *github.Client, owner, name string, id int64, opts github.UpdateCheckRunOptions, actions []*github.CheckRunAction) error {
	if actions == nil {
		actions = []*github.CheckRunAction{}
	}
	body := struct {
		github.UpdateCheckRunOptions
		Actions []*github.CheckRunAction `json:"actions"` // shadows the embedded omitempty field
	}{opts, actions}
	req, err := gh.NewRequest(http.MethodPatch, fmt.Sprintf("repos/%s/%s/check-runs/%d", owner, name, id), body)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/vnd.github+json")
	_, err = gh.Do(ctx, req, nil)
	return err
}

// saveOutput keeps what a check run shows for the dashboard's pull request
// page. It runs only when the output changed, after GitHub accepted it.
func (s *Suite) saveOutput(ctx context.Context, repo string, pr int, sha string, out checkOutput) error {
	if s.o.Store == nil || pr <= 0 {
		return nil
	}
	stages, err := json.Marshal(out.Stages)
	if err != nil {
		return fmt.Errorf("stages of %s: %w", out.Name, err)
	}
	return store.SaveCheckOutput(ctx, s.o.Store.DB, store.CheckOutput{Repository: repo, PR: pr, SHA: sha, Artifact: out.Artifact,
		Name: out.Name, Kind: out.Kind, Status: out.Status, Conclusion: out.Conclusion, Title: out.Title,
		Summary: out.Summary, Body: out.Text, Stages: string(stages), UpdatedAt: s.o.Now()})
}

func split[T any](xs []T, n int) (head, tail []T) {
	if len(xs) <= n {
		return xs, nil
	}
	return xs[:n], xs[n:]
}

func ghAnnotations(anns []Annotation) []*github.CheckRunAnnotation {
	out := make([]*github.CheckRunAnnotation, 0, len(anns))
	for _, a := range anns {
		out = append(out, &github.CheckRunAnnotation{Path: github.String(a.Path), StartLine: github.Int(a.Line),
			EndLine: github.Int(a.Line), AnnotationLevel: github.String(a.Level), Message: github.String(a.Message),
			Title: optString(a.Title)})
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func ghActions(as []Action) []*github.CheckRunAction {
	var out []*github.CheckRunAction
	for _, a := range as {
		out = append(out, &github.CheckRunAction{Label: a.Label, Description: a.Description, Identifier: a.Identifier})
	}
	return out
}

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// truncate keeps text within GitHub's 65,535-character output limit.
func truncate(s string) string {
	const limit = 65000
	if len(s) <= limit {
		return s
	}
	return s[:limit] + "\n\n… (truncated)"
}
