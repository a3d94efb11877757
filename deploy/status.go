package deploy

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/conveyor-dev/conveyor/internal/store"
	"github.com/conveyor-dev/conveyor/policies"
)

// StatusReport is what runs where in a repository (/status).
type StatusReport struct {
	Repository       string
	Environments     []EnvironmentStatus // sorted by name
	Locks            []Lock
	PendingApprovals []*Deployment // awaiting approval, newest first
	Running          []*Deployment // queued or in progress, newest first
}

// EnvironmentStatus is every artifact ever deployed to one environment.
type EnvironmentStatus struct {
	Name      string
	Artifacts []ArtifactStatus // sorted by name
}

// ArtifactStatus is one artifact in one environment: what serves (from the
// last successful deployment) and the latest deployment's state, who, when.
type ArtifactStatus struct {
	Name         string
	Kind         string
	Serving      string // version or SHA serving now, "" if none succeeded yet
	SHA          string // commit of what serves
	State        string // state of the latest deployment
	DeploymentID int64  // the latest deployment
	PR           int
	By           string
	At           time.Time
}

// Lock is a held environment.
type Lock struct {
	Environment  string
	PR           int
	Login        string
	Reason       string
	Manual       bool  // a /lock
	DeploymentID int64 // the deployment holding it, if any
	Since        time.Time
}

// Status reports repo's environments, locks and pending deployments.
func (e *Engine) Status(ctx context.Context, repo string) (*StatusReport, error) {
	db := e.o.Store.DB
	hist, err := store.ListArtifactHistory(ctx, db, store.HistoryFilter{Repository: repo, Limit: 5000})
	if err != nil {
		return nil, err
	}
	envs := map[string]map[string]*ArtifactStatus{}
	for _, h := range hist { // newest first
		if envs[h.Environment] == nil {
			envs[h.Environment] = map[string]*ArtifactStatus{}
		}
		st := envs[h.Environment][h.Name]
		if st == nil {
			st = &ArtifactStatus{Name: h.Name, Kind: h.Kind, State: h.DeploymentState, DeploymentID: h.DeploymentID, PR: h.PR, By: h.Requester, At: h.At}
			envs[h.Environment][h.Name] = st
		}
		if st.Serving == "" && h.DeploymentState == StateSucceeded && h.State == StateSucceeded {
			st.Serving, st.SHA = h.Serving, h.SHA
		}
	}
	rep := &StatusReport{Repository: repo}
	for name, arts := range envs {
		es := EnvironmentStatus{Name: name}
		for _, a := range arts {
			es.Artifacts = append(es.Artifacts, *a)
		}
		sort.Slice(es.Artifacts, func(i, j int) bool { return es.Artifacts[i].Name < es.Artifacts[j].Name })
		rep.Environments = append(rep.Environments, es)
	}
	sort.Slice(rep.Environments, func(i, j int) bool { return rep.Environments[i].Name < rep.Environments[j].Name })
	locks, err := store.ListLocks(ctx, db, repo)
	if err != nil {
		return nil, err
	}
	for _, l := range locks {
		rep.Locks = append(rep.Locks, Lock{Environment: l.Environment, PR: l.PR, Login: l.Login, Reason: l.Reason, Manual: l.Manual, DeploymentID: l.DeploymentID, Since: l.Since})
	}
	rows, err := store.ListDeployments(ctx, db, store.DeploymentFilter{Repository: repo, States: activeStates})
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		if r.State == StateAwaitingApproval {
			rep.PendingApprovals = append(rep.PendingApprovals, fromRow(r))
		} else {
			rep.Running = append(rep.Running, fromRow(r))
		}
	}
	return rep, nil
}

// Markdown renders the report for a PR comment.
func (r *StatusReport) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "### Conveyor status for %s\n\n", r.Repository)
	if len(r.Environments) == 0 {
		b.WriteString("Nothing has been deployed yet.\n")
	} else {
		b.WriteString("| environment | artifact | serving | last deployment | by | when |\n|---|---|---|---|---|---|\n")
		for _, e := range r.Environments {
			for _, a := range e.Artifacts {
				fmt.Fprintf(&b, "| %s | %s | %s | %s (#%d, PR #%d) | @%s | %s |\n", e.Name, a.Name, orDash(short(a.Serving)),
					strings.ReplaceAll(a.State, "_", " "), a.DeploymentID, a.PR, a.By, a.At.UTC().Format(time.RFC3339))
			}
		}
	}
	if len(r.Locks) > 0 {
		b.WriteString("\n**Locks**\n")
		for _, l := range r.Locks {
			how := fmt.Sprintf("deployment %d is running", l.DeploymentID)
			if l.Manual {
				how = "/lock: " + orDash(l.Reason)
			}
			fmt.Fprintf(&b, "- %s: PR #%d by @%s since %s (%s)\n", l.Environment, l.PR, l.Login, l.Since.UTC().Format(time.RFC3339), how)
		}
	}
	if len(r.PendingApprovals) > 0 {
		b.WriteString("\n**Awaiting approval**\n")
		for _, d := range r.PendingApprovals {
			fmt.Fprintf(&b, "- deployment %d: %s to %s (PR #%d), %d/%d approvals\n", d.ID, short(d.SHA), d.Environment, d.PR,
				min(d.Quorum.Counted(d.Approvals), d.Quorum.Needed()), d.Quorum.Needed())
		}
	}
	if len(r.Running) > 0 {
		b.WriteString("\n**Running**\n")
		for _, d := range r.Running {
			fmt.Fprintf(&b, "- deployment %d: %s to %s (PR #%d), %s\n", d.ID, short(d.SHA), d.Environment, d.PR, stateLine(d))
		}
	}
	return b.String()
}

// LastSucceeded returns, for each artifact of repo in env, the SHA of its
// last successful deployment.
func (e *Engine) LastSucceeded(ctx context.Context, repo, env string) (map[string]string, error) {
	hist, err := store.ListArtifactHistory(ctx, e.o.Store.DB, store.HistoryFilter{Repository: repo, Environment: env, SucceededOnly: true})
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, h := range hist {
		if _, ok := out[h.Name]; !ok {
			out[h.Name] = h.SHA
		}
	}
	return out, nil
}

// RunningElsewhere is what serves in env from every repository but repo, as
// the policy's artifacts with the owners and resources their deployments
// recorded: a team's quota holds across all the repositories it deploys
// from. Deployments made before owners and resources were recorded are
// left out (they count again once redeployed).
func (e *Engine) RunningElsewhere(ctx context.Context, repo, env string) ([]policies.Artifact, error) {
	serving, err := store.ServingIn(ctx, e.o.Store.DB, env)
	if err != nil {
		return nil, err
	}
	var out []policies.Artifact
	for _, s := range serving {
		if s.Repository == repo || s.Resources == "" {
			continue
		}
		var res policies.Resources
		if err := json.Unmarshal([]byte(s.Resources), &res); err != nil {
			return nil, fmt.Errorf("resources of %s %s in %s: %w", s.Repository, s.Artifact, env, err)
		}
		out = append(out, policies.Artifact{Name: s.Repository + "/" + s.Artifact, Owners: s.Owners, Resources: res})
	}
	return out, nil
}

var _ policies.Fleet = (*Engine)(nil)
