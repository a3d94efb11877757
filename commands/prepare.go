package commands

import (
	"context"
	"fmt"
	"strings"

	"github.com/conveyor-dev/conveyor/checks"
	"github.com/conveyor-dev/conveyor/checks/kind"
	"github.com/conveyor-dev/conveyor/checks/prfacts"
	"github.com/conveyor-dev/conveyor/checks/repoconfig"
	"github.com/conveyor-dev/conveyor/deploy"
	"github.com/conveyor-dev/conveyor/policies"
)

// deployPlan is everything /deploy, /plan and /rollback work out before
// acting: what would deploy where, the preconditions still unmet and the
// policy's decision.
type deployPlan struct {
	pr       *prInfo
	head     headChoice
	gov      *governance
	env      *repoconfig.Environment
	arts     []*repoconfig.Artifact
	payloads map[string]kind.Payload // what each artifact's kind gives the driver (deploys only)
	unmet    []string                // preconditions not met, each saying what to do
	decided  bool
	decision policies.Decision
}

// prepare works out a deployment of c for action ("deploy" or "rollback").
// With stopEarly it stops at the first unmet precondition (as /deploy does);
// without it, it checks everything and still asks the policy (as /plan does).
func (s *session) prepare(ctx context.Context, c Command, action string, stopEarly bool) (*deployPlan, error) {
	g, err := s.governance(ctx)
	if err != nil {
		return nil, err
	}
	hc, _ := s.head(ctx)
	p := &deployPlan{pr: s.prInfo, head: hc, gov: g, env: g.Base.Environment(c.Env), payloads: map[string]kind.Payload{}}
	stop := func() bool { return stopEarly && len(p.unmet) > 0 }

	p.arts, p.unmet = s.selectArtifacts(g, c, action)
	if stop() {
		return p, nil
	}
	gate, err := s.gateStatus(ctx, hc.SHA)
	if err != nil {
		return nil, err
	}
	if action == "deploy" {
		for _, a := range p.arts {
			kd := a.KindOf()
			if kd == nil {
				continue
			}
			pl, msg := kd.Plan(ctx, planEnv{s: s, sha: hc.SHA, gate: gate, artifact: a.Name}, a.View(nil))
			if msg != "" {
				p.unmet = append(p.unmet, msg)
				continue
			}
			p.payloads[a.Name] = pl
		}
	}
	if stop() {
		return p, nil
	}
	if action == "deploy" {
		if msg := s.gateUnmet(gate, hc.SHA); msg != "" {
			p.unmet = append(p.unmet, msg)
		}
		if stop() {
			return p, nil
		}
		if isProduction(p.env) {
			behind, err := g.facts.BehindBy(ctx)
			if err != nil {
				return nil, err
			}
			if behind > 0 {
				p.unmet = append(p.unmet, fmt.Sprintf("the branch is %d commit(s) behind %s, and %s deploys only code that contains the base branch head; update the branch (merge or rebase %s) and comment again",
					behind, p.pr.BaseRef, p.env.Name, p.pr.BaseRef))
			}
		}
		if stop() {
			return p, nil
		}
	}
	actor, err := s.loadActor(ctx, p.env, p.arts)
	if err != nil {
		return nil, err
	}
	in := s.input(action, actor, p.pr, hc.SHA, p.env, p.arts, g.Base)
	in.Requester = s.actor
	for i, a := range in.Artifacts {
		if ev, ok := gate.Evidence[a.Name]; ok {
			if ev.CI == nil {
				ev.CI = map[string]string{}
			}
			in.Artifacts[i].Evidence = ev
		}
	}
	if in.Deployments, err = s.deploymentFacts(ctx, g.Base, p.arts, hc.SHA); err != nil {
		return nil, err
	}
	if in.Usage, err = s.usageFacts(ctx, g.Base, p.env, p.arts); err != nil {
		return nil, err
	}
	p.decision, p.decided = s.decide(ctx, in), true
	return p, nil
}

// selectArtifacts picks the named artifacts or, by default, every touched
// one, and says what is wrong with the choice.
func (s *session) selectArtifacts(g *governance, c Command, action string) (arts []*repoconfig.Artifact, unmet []string) {
	touched := map[string]bool{}
	for _, n := range g.Touched {
		touched[n] = true
	}
	names := c.Artifacts
	if len(names) == 0 {
		names = g.Touched
		if len(names) == 0 {
			return nil, []string{fmt.Sprintf("this PR touches no artifact defined in .github/conveyor.yml, so there is nothing to %s; name artifacts explicitly only if the PR changes them", action)}
		}
	}
	for _, n := range names {
		a := g.Defs.Artifact(n)
		switch {
		case a == nil:
			unmet = append(unmet, fmt.Sprintf("artifact %q is not defined in .github/conveyor.yml; use one of: %s", n, artifactNames(g.Defs)))
		case action == "deploy" && !touched[n]:
			unmet = append(unmet, fmt.Sprintf("artifact %s is not touched by this PR, so this PR has nothing of it to deploy; leave it out (this PR touches: %s)", n, listOrNone(g.Touched)))
		case repoconfig.IsNew(g.Base, n):
			unmet = append(unmet, fmt.Sprintf("artifact %s is new in this PR: it is checked, but it can be deployed only after the %s that defines it is merged (governance is read from the base branch)", n, repoconfig.Path))
		case a.Deploy.Driver == "":
			unmet = append(unmet, fmt.Sprintf("artifact %s has no deploy.driver in .github/conveyor.yml, so it is checked but never deployed; add deploy: {driver: <a server driver>}", n))
		default:
			arts = append(arts, a)
		}
	}
	return arts, unmet
}

func listOrNone(xs []string) string {
	if len(xs) == 0 {
		return "none"
	}
	out := xs[0]
	for _, x := range xs[1:] {
		out += ", " + x
	}
	return out
}

// planEnv is what a kind reads while planning a deploy of one artifact.
type planEnv struct {
	s        *session
	sha      string
	gate     checks.GateStatus
	artifact string
}

func (e planEnv) SHA() string { return e.sha }

func (e planEnv) ReadFile(ctx context.Context, path string) ([]byte, error) {
	// The shared PR-facts reader of the command's head (e.sha): a pointer
	// the check already read is not read again.
	return e.s.gov.facts.ReadFile(ctx, prfacts.Head, path)
}

// Selection is what the check suite recorded; nil when it did not evaluate
// the artifact (a dbt deploy then builds everything).
func (e planEnv) Selection() []string { return e.gate.Selections[e.artifact] }

// gateStatus is what the check suite recorded on sha, read once for the
// command; nothing when there is no gate or no SHA.
func (s *session) gateStatus(ctx context.Context, sha string) (checks.GateStatus, error) {
	if s.h.o.Gate == nil || sha == "" {
		return checks.GateStatus{}, nil
	}
	st, err := s.h.o.Gate.GateStatus(ctx, s.repo, sha)
	if err != nil {
		return checks.GateStatus{}, fmt.Errorf("read the conveyor check on %s: %w", short(sha), err)
	}
	return st, nil
}

// gateUnmet says what is missing when the conveyor check is not green on
// sha. A gate that failed only on quality-gate findings (overridable) is
// left to the policy, which sees the findings as evidence.
func (s *session) gateUnmet(st checks.GateStatus, sha string) string {
	if s.h.o.Gate == nil {
		return ""
	}
	switch st.Conclusion {
	case "success":
		return ""
	case "failure":
		if st.Overridable {
			return ""
		}
	case "":
		return fmt.Sprintf("the conveyor check has not finished on %s; wait until it is green and comment again", short(sha))
	}
	if st.Conclusion == "in_progress" || st.Conclusion == "queued" {
		return fmt.Sprintf("the conveyor check is still running on %s; wait until it is green and comment again", short(sha))
	}
	return fmt.Sprintf("the conveyor check %s on %s; fix what it reports, push, and comment again once it is green", gateVerb(st.Conclusion), short(sha))
}

// gateVerb says what happened to a completed gate that is not green.
func gateVerb(conclusion string) string {
	switch conclusion {
	case "failure":
		return "failed"
	case "cancelled":
		return "was cancelled"
	case "timed_out":
		return "timed out"
	case "action_required":
		return "needs action"
	}
	return "ended " + strings.ReplaceAll(conclusion, "_", " ")
}

// usageFacts is what runs in env now, per owning team, for the quota rules:
// every artifact of the base config that last deployed successfully there,
// except the candidates, and what serves there from the other repositories
// (policies.Fleet).
func (s *session) usageFacts(ctx context.Context, base *repoconfig.Config, env *repoconfig.Environment, arts []*repoconfig.Artifact) (map[string]map[string]policies.Usage, error) {
	if s.h.o.Deployer == nil || base == nil || env == nil || env.Name == "" {
		return map[string]map[string]policies.Usage{}, nil
	}
	last, err := s.h.o.Deployer.LastSucceeded(ctx, s.repo, env.Name)
	if err != nil {
		return nil, fmt.Errorf("read deployments to %s: %w", env.Name, err)
	}
	candidate := map[string]bool{}
	for _, a := range arts {
		candidate[a.Name] = true
	}
	var running []policies.Artifact
	for _, b := range base.Artifacts {
		if !candidate[b.Name] && last[b.Name] != "" {
			running = append(running, policies.Artifact{Name: b.Name, Owners: b.Owners, Resources: b.PolicyResources()})
		}
	}
	fleet, _ := s.h.o.Deployer.(policies.Fleet)
	return policies.FleetUsage(ctx, fleet, s.repo, env.Name, running)
}

// deploymentFacts tells the policy what each environment last ran
// successfully of these artifacts: the head SHA when every artifact ran it,
// otherwise an older SHA.
func (s *session) deploymentFacts(ctx context.Context, base *repoconfig.Config, arts []*repoconfig.Artifact, head string) (map[string]policies.DeploymentFact, error) {
	out := map[string]policies.DeploymentFact{}
	if s.h.o.Deployer == nil {
		return out, nil
	}
	for _, e := range base.Environments {
		last, err := s.h.o.Deployer.LastSucceeded(ctx, s.repo, e.Name)
		if err != nil {
			return nil, fmt.Errorf("read deployments to %s: %w", e.Name, err)
		}
		sha, all := "", len(arts) > 0
		for _, a := range arts {
			got := last[a.Name]
			if got != head {
				all = false
			}
			if got != "" && (sha == "" || got != head) {
				sha = got
			}
		}
		switch {
		case all:
			out[e.Name] = policies.DeploymentFact{SHA: head, State: "succeeded"}
		case sha != "":
			out[e.Name] = policies.DeploymentFact{SHA: sha, State: "succeeded"}
		}
	}
	return out, nil
}

// request turns a plan into the engine's request.
func (s *session) request(p *deployPlan, sourceKey string) deploy.Request {
	r := deploy.Request{
		Repository: s.repo, InstallationID: s.installation, PR: p.pr.Number, PRTitle: p.pr.Title, PRURL: p.pr.URL,
		HeadSHA: p.head.SHA, HeadRef: p.pr.HeadRef, BaseRef: p.pr.BaseRef,
		Environment: p.env.Name, Production: isProduction(p.env), Requester: s.actor, SourceKey: sourceKey,
		Steps: p.env.Rollout.Steps, Pause: p.env.Rollout.Pause,
		Quorum:   quorum(p.decision.ApprovalsRequired),
		Decision: decisionText(p.decision),
	}
	for _, a := range p.arts {
		pl := p.payloads[a.Name]
		spec, err := pl.Encode()
		if err != nil {
			// Kinds define plain payloads; one that cannot be encoded ships
			// nothing rather than a half payload.
			spec = nil
		}
		summary := pl.Summary
		if summary == "" {
			summary = fmt.Sprintf("%s at %s", a.Name, short(p.head.SHA))
		}
		r.Artifacts = append(r.Artifacts, deploy.ArtifactPlan{Name: a.Name, Kind: a.Kind, Driver: a.Deploy.Driver, Summary: summary, Spec: spec,
			Owners: a.Owners, Resources: a.PolicyResources()})
	}
	return r
}

func quorum(ar policies.ApprovalsRequired) deploy.Quorum {
	var q deploy.Quorum
	for _, g := range ar.Groups {
		q.Groups = append(q.Groups, deploy.Group{Count: g.Count, From: g.From})
	}
	if len(q.Groups) == 0 && ar.Count > 0 {
		q.Groups = []deploy.Group{{Count: ar.Count, From: ar.From}}
	}
	return q
}

func decisionText(d policies.Decision) string {
	t := "allow"
	if !d.Allow {
		t = "deny"
	}
	for _, w := range d.Warn {
		t += "; warn: " + w
	}
	return t
}
