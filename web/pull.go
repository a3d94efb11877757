package web

import (
	"encoding/json"
	"errors"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/conveyor-dev/conveyor/deploy"
	"github.com/conveyor-dev/conveyor/deploy/slackapproval"
	"github.com/conveyor-dev/conveyor/internal/store"
)

type pullPage struct {
	chrome
	Repo      string
	PR        int
	SHA       string // the head the checks last saw
	Author    string
	Gate      *checkView
	Artifacts []checkView
	Deploys   []deploymentView
	Audit     []store.AuditEvent
	Flash     string // what the last action came to
	CanAct    bool
}

// checkView is one check run's last output.
type checkView struct {
	Artifact   string
	Kind       string
	Status     string
	Conclusion string
	Title      string
	Stages     []stageView
	Policy     *stageView // the Policy stage: the decision and its reasons
	Summary    template.HTML
	Body       template.HTML
	Updated    time.Time
}

// stageView is one of the four stages.
type stageView struct {
	Name    string
	Result  string
	Summary template.HTML
	Details []template.HTML
}

// deploymentView is one deployment of the pull request.
type deploymentView struct {
	ID          int64
	Environment string
	Mode        string
	State       string
	SHA         string
	By          string
	Created     time.Time
	Updated     time.Time
	Steps       []stepView
	Artifacts   []store.ArtifactRow
	Decision    string
	Error       string
	Got, Needed int
	Groups      []string
	Approvals   []store.ApprovalRow
	Missing     string // which approvals are still needed, in words
	Expires     time.Time
	Awaiting    bool
	Percent     int
}

// stepView is one rollout step with when each artifact finished it.
type stepView struct {
	N       int // 1-based
	Percent int
	Done    []store.StepRow
	Current bool
}

// stage is a check stage as the check suite stores it (checks.Stage).
type stage struct {
	Name    string   `json:"name"`
	Result  string   `json:"result"`
	Summary string   `json:"summary"`
	Details []string `json:"details"`
}

func (s *Server) pull(w http.ResponseWriter, r *http.Request, v viewer) {
	repo, n, ok := s.pullOf(w, r)
	if !ok {
		return
	}
	p, err := s.pullData(r, repo, n)
	if errors.Is(err, store.ErrNotFound) {
		s.notFound(w, r)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p.chrome = s.chrome(r, v, repo+" #"+strconv.Itoa(n), "")
	p.Live = r.URL.Path + "/events"
	p.Flash = takeFlash(w, r)
	s.render(w, r, "pull", p)
}

func (s *Server) pullData(r *http.Request, repo string, n int) (*pullPage, error) {
	ctx := r.Context()
	db := s.o.Store.DB
	p := &pullPage{Repo: repo, PR: n, CanAct: s.o.Approvals != nil}
	head, err := store.GetCheckHead(ctx, db, repo, n)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	if head != nil {
		p.SHA, p.Author = head.SHA, head.Author
		outs, err := store.CheckOutputs(ctx, db, repo, n, head.SHA)
		if err != nil {
			return nil, err
		}
		for _, o := range outs {
			cv := checkViewOf(o)
			if o.Artifact == "" {
				p.Gate = &cv
			} else {
				p.Artifacts = append(p.Artifacts, cv)
			}
		}
	}
	rows, err := store.ListDeployments(ctx, db, store.DeploymentFilter{Repository: repo, PR: n, Limit: 200})
	if err != nil {
		return nil, err
	}
	for _, d := range rows {
		dv, err := s.deploymentViewOf(r, d)
		if err != nil {
			return nil, err
		}
		p.Deploys = append(p.Deploys, dv)
	}
	if head == nil && len(rows) == 0 {
		return nil, store.ErrNotFound
	}
	p.Audit, err = store.SearchAudit(ctx, db, store.AuditSearch{Repos: []string{repo}, Repository: repo, PR: n, Limit: 500})
	if err != nil {
		return nil, err
	}
	return p, nil
}

func checkViewOf(o store.CheckOutput) checkView {
	cv := checkView{Artifact: o.Artifact, Kind: o.Kind, Status: o.Status, Conclusion: o.Conclusion, Title: o.Title,
		Summary: renderMarkdown(o.Summary), Body: renderMarkdown(o.Body), Updated: o.UpdatedAt}
	var stages []stage
	_ = json.Unmarshal([]byte(o.Stages), &stages)
	for _, st := range stages {
		sv := stageView{Name: st.Name, Result: st.Result, Summary: renderInline(st.Summary)}
		for _, d := range st.Details {
			sv.Details = append(sv.Details, renderInline(d))
		}
		cv.Stages = append(cv.Stages, sv)
		if st.Name == "Policy" {
			pv := sv
			cv.Policy = &pv
		}
	}
	return cv
}

func (s *Server) deploymentViewOf(r *http.Request, d *store.DeploymentRow) (deploymentView, error) {
	q, as := quorumOf(d)
	dv := deploymentView{ID: d.ID, Environment: d.Environment, Mode: d.Mode, State: d.State, SHA: d.SHA, By: d.Requester,
		Created: d.CreatedAt, Updated: d.UpdatedAt, Artifacts: d.Artifacts, Decision: d.Decision, Error: d.Error,
		Got: min(q.Counted(as), q.Needed()), Needed: q.Needed(), Approvals: d.Approvals,
		Awaiting: d.State == deploy.StateAwaitingApproval}
	dv.Missing = q.Missing(as)
	if dv.Awaiting {
		dv.Expires = d.Expiry(s.o.ApprovalTTL)
	}
	for _, g := range q.Groups {
		from := "anyone the policy lets approve"
		if len(g.From) > 0 {
			from = approvers(g.From)
		}
		dv.Groups = append(dv.Groups, itoa(g.Count)+" from "+from)
	}
	done, err := store.DeploymentSteps(r.Context(), s.o.Store.DB, d.ID)
	if err != nil {
		return dv, err
	}
	for i, pct := range d.Steps {
		sv := stepView{N: i + 1, Percent: pct, Current: d.State == deploy.StateInProgress && i == d.Step}
		for _, st := range done {
			if st.Step == i {
				sv.Done = append(sv.Done, st)
			}
		}
		if len(sv.Done) > 0 {
			dv.Percent = pct
		}
		dv.Steps = append(dv.Steps, sv)
	}
	return dv, nil
}

// approve is the Approve / Reject form of a deployment awaiting approval.
// The CSRF token is checked before anything is read; then the form goes
// through the same path as Slack's buttons, and the page says what it came
// to.
func (s *Server) approve(w http.ResponseWriter, r *http.Request, v viewer) {
	if err := s.o.Auth.CheckCSRF(r); err != nil {
		http.Error(w, "This form has expired or did not come from the dashboard; reload the page and try again.", http.StatusForbidden)
		return
	}
	repo, n, ok := s.pullOf(w, r)
	if !ok {
		return
	}
	if s.o.Approvals == nil {
		http.Error(w, "Approvals from the dashboard are not wired on this server; use Slack or /approve.", http.StatusServiceUnavailable)
		return
	}
	id, err := strconv.ParseInt(r.PostFormValue("deployment"), 10, 64)
	if err != nil || id <= 0 {
		http.Error(w, "The form names no deployment; reload the page and try again.", http.StatusBadRequest)
		return
	}
	// The deployment must belong to this pull request of this repository:
	// a form cannot reach another repository's deployment.
	d, err := store.LoadDeployment(r.Context(), s.o.Store.DB, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && (d.Repository != repo || d.PR != n)) {
		s.notFound(w, r)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	act := slackapproval.Act{DeploymentID: id, Login: v.Login, Via: "web", SHA: r.PostFormValue("sha"),
		Reject: r.PostFormValue("action") == "reject", Reason: strings.TrimSpace(r.PostFormValue("reason"))}
	if act.SHA == "" {
		http.Error(w, "The form names no commit; reload the page and approve what it shows.", http.StatusBadRequest)
		return
	}
	out, err := s.o.Approvals.Act(r.Context(), act)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.o.Log.Info("dashboard approval", "deployment", id, "login", v.Login, "reject", act.Reject, "done", out.Done)
	setFlash(w, out.Text)
	http.Redirect(w, r, links.Pull(repo, n, "")+"#deployment-"+strconv.FormatInt(id, 10), http.StatusSeeOther)
}
