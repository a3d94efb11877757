package web

import (
	"encoding/json"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/conveyor-dev/conveyor/deploy"
	"github.com/conveyor-dev/conveyor/internal/store"
)

// overviewFilter is the overview's query: every field narrows it.
type overviewFilter struct {
	Repo, Kind, Team, Env string
}

type overviewPage struct {
	chrome
	Filter overviewFilter
	// What the filters can choose from (within what the viewer may read).
	Repos, Kinds, Teams, AllEnvs []string
	Envs                         []string // the table's columns
	Rows                         []artifactRow
	Rollouts                     []rolloutView
	Pending                      []pendingView
	Locks                        []lockView
	CanAct                       bool
	Readable                     int // how many repositories the viewer may read
}

// artifactRow is one artifact of one repository across the environments.
type artifactRow struct {
	Repo, Artifact, Kind string
	Owners               []string
	Cells                []cellView // one per column of Envs
}

// cellView is one artifact in one environment, formatted in Go: the
// overview has a thousand of them, and template function calls are what
// its rendering costs.
type cellView struct {
	Known       bool // ever deployed here
	Serving     string
	SHA         string
	By          string
	PR          int
	PRURL       string
	SinceISO    string
	SinceText   string
	Latest      string // the latest deployment's state in words, "" when it succeeded
	LatestClass string
	LatestID    int64
}

// rolloutView is a deployment queued or rolling out.
type rolloutView struct {
	ID          int64
	Repo        string
	PR          int
	SHA         string
	Environment string
	Mode        string
	State       string
	Step        int // 1-based
	Steps       int
	Percent     int
	Artifacts   []string
	By          string
	Since       time.Time
}

// pendingView is a deployment awaiting approvals.
type pendingView struct {
	ID          int64
	Repo        string
	PR          int
	SHA         string
	Environment string
	Artifacts   []string
	By          string
	Age         string
	Expires     time.Time
	Got, Needed int
	From        []string // who may approve, per group ("2 of @acme/sre")
	Approvers   []string
	Missing     string // which approvals are still needed, in words
}

// lockView is a held environment.
type lockView struct {
	Repo, Environment string
	Holder            string
	PR                int
	Reason            string
	Manual            bool
	DeploymentID      int64
	Since             time.Time
}

func (s *Server) overview(w http.ResponseWriter, r *http.Request, v viewer) {
	q := r.URL.Query()
	f := overviewFilter{Repo: q.Get("repo"), Kind: q.Get("kind"), Team: strings.TrimPrefix(q.Get("team"), "@"), Env: q.Get("env")}
	p, err := s.overviewData(r, f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p.chrome = s.chrome(r, v, "What runs where", "overview")
	p.Live = "/events"
	s.render(w, r, "overview", p)
}

// overviewData reads the overview for the viewer of r.
func (s *Server) overviewData(r *http.Request, f overviewFilter) (*overviewPage, error) {
	ctx := r.Context()
	db := s.o.Store.DB
	readable, err := s.readable(r)
	if err != nil {
		return nil, err
	}
	p := &overviewPage{Filter: f, Repos: readable, Readable: len(readable), CanAct: s.o.Approvals != nil}
	repos := readable
	if f.Repo != "" {
		repos = nil
		if slices.Contains(readable, f.Repo) {
			repos = []string{f.Repo}
		}
	}
	known, err := store.ArtifactOwners(ctx, db, store.ServingFilter{Repos: repos})
	if err != nil {
		return nil, err
	}
	kinds, teams := map[string]bool{}, map[string]bool{}
	for _, a := range known {
		kinds[a.Kind] = true
		for _, o := range a.Owners {
			teams[o] = true
		}
	}
	cells, err := s.servingCells(ctx, store.ServingFilter{Repos: repos, Environment: f.Env, Kind: f.Kind, Team: f.Team})
	if err != nil {
		return nil, err
	}
	envs := map[string]bool{}
	rows := map[[2]string]*artifactRow{}
	var order [][2]string
	row := func(repo, name, kind string, owners []string) *artifactRow {
		k := [2]string{repo, name}
		if rows[k] == nil {
			rows[k] = &artifactRow{Repo: repo, Artifact: name, Kind: kind, Owners: owners}
			order = append(order, k)
		}
		return rows[k]
	}
	byCell := map[[3]string]store.ServingCell{}
	for _, c := range cells {
		kinds[c.Kind] = true
		envs[c.Environment] = true
		row(c.Repository, c.Artifact, c.Kind, c.Owners)
		byCell[[3]string{c.Repository, c.Artifact, c.Environment}] = c
	}
	// Artifacts the checks know but nothing deployed yet get a row too.
	if f.Env == "" {
		for _, a := range known {
			if (f.Kind == "" || a.Kind == f.Kind) && (f.Team == "" || slices.Contains(a.Owners, f.Team)) {
				row(a.Repository, a.Artifact, a.Kind, a.Owners)
			}
		}
	}
	p.Envs = sortedEnvs(envs)
	sort.Slice(order, func(i, j int) bool {
		if order[i][0] != order[j][0] {
			return order[i][0] < order[j][0]
		}
		return order[i][1] < order[j][1]
	})
	for _, k := range order {
		ar := rows[k]
		for _, env := range p.Envs {
			c, ok := byCell[[3]string{k[0], k[1], env}]
			if !ok {
				ar.Cells = append(ar.Cells, cellView{})
				continue
			}
			cv := cellView{Known: true, Serving: short(c.Serving), SHA: c.SHA, PR: c.ServedPR, By: c.ServedBy, LatestID: c.LatestID}
			if c.ServedPR > 0 {
				cv.PRURL = links.Pull(c.Repository, c.ServedPR, c.Artifact)
			}
			if !c.ServedSince.IsZero() {
				cv.SinceISO, cv.SinceText = c.ServedSince.UTC().Format(time.RFC3339), when(c.ServedSince)
			}
			if c.LatestState != deploy.StateSucceeded {
				cv.Latest, cv.LatestClass = words(c.LatestState), stateClass(c.LatestState)
			}
			ar.Cells = append(ar.Cells, cv)
		}
		p.Rows = append(p.Rows, *ar)
	}
	p.Kinds, p.Teams = keys(kinds), keys(teams)
	allEnvs, err := s.environments(ctx, repos)
	if err != nil {
		return nil, err
	}
	p.AllEnvs = sortedEnvs(toSet(allEnvs))

	active, err := store.ActiveDeployments(ctx, db, repos, []string{deploy.StateAwaitingApproval, deploy.StateQueued, deploy.StateInProgress})
	if err != nil {
		return nil, err
	}
	now := s.o.Now()
	for _, d := range active {
		if !matches(d, f) {
			continue
		}
		if d.State == deploy.StateAwaitingApproval {
			p.Pending = append(p.Pending, s.pendingOf(d, now))
		} else {
			p.Rollouts = append(p.Rollouts, rolloutOf(d))
		}
	}
	locks, err := store.HeldLocks(ctx, db, repos)
	if err != nil {
		return nil, err
	}
	for _, l := range locks {
		if f.Env != "" && l.Environment != f.Env {
			continue
		}
		p.Locks = append(p.Locks, lockView{Repo: l.Repository, Environment: l.Environment, Holder: l.Login, PR: l.PR, Reason: l.Reason,
			Manual: l.Manual, DeploymentID: l.DeploymentID, Since: l.Since})
	}
	return p, nil
}

// matches reports whether deployment d passes the overview's filters.
func matches(d *store.DeploymentRow, f overviewFilter) bool {
	if f.Env != "" && d.Environment != f.Env {
		return false
	}
	if f.Kind == "" {
		return true
	}
	for _, a := range d.Artifacts {
		if a.Kind == f.Kind {
			return true
		}
	}
	return false
}

func rolloutOf(d *store.DeploymentRow) rolloutView {
	rv := rolloutView{ID: d.ID, Repo: d.Repository, PR: d.PR, SHA: d.SHA, Environment: d.Environment, Mode: d.Mode, State: d.State,
		Step: d.Step + 1, Steps: len(d.Steps), By: d.Requester, Since: d.CreatedAt, Artifacts: artifactNames(d)}
	if d.Step >= 0 && d.Step < len(d.Steps) {
		rv.Percent = d.Steps[d.Step]
	}
	return rv
}

// quorumOf reads the stored quorum and approvals the way the engine does.
func quorumOf(d *store.DeploymentRow) (deploy.Quorum, []deploy.Approval) {
	var q deploy.Quorum
	_ = json.Unmarshal([]byte(d.Quorum), &q)
	as := make([]deploy.Approval, 0, len(d.Approvals))
	for _, a := range d.Approvals {
		as = append(as, deploy.Approval{Login: a.Login, Via: a.Via, SHA: a.SHA, At: a.At, Teams: a.Teams})
	}
	return q, as
}

func (s *Server) pendingOf(d *store.DeploymentRow, now time.Time) pendingView {
	q, as := quorumOf(d)
	pv := pendingView{ID: d.ID, Repo: d.Repository, PR: d.PR, SHA: d.SHA, Environment: d.Environment, Artifacts: artifactNames(d),
		By: d.Requester, Age: age(now, d.CreatedAt), Expires: d.Expiry(s.o.ApprovalTTL),
		Got: min(q.Counted(as), q.Needed()), Needed: q.Needed(), Missing: q.Missing(as)}
	for _, g := range q.Groups {
		from := "anyone the policy lets approve"
		if len(g.From) > 0 {
			from = approvers(g.From)
		}
		pv.From = append(pv.From, itoa(g.Count)+" from "+from)
	}
	for _, a := range as {
		pv.Approvers = append(pv.Approvers, a.Login)
	}
	return pv
}

func artifactNames(d *store.DeploymentRow) []string {
	out := make([]string, 0, len(d.Artifacts))
	for _, a := range d.Artifacts {
		out = append(out, a.Name)
	}
	return out
}

// sortedEnvs orders environments as people think of them: staging before
// production, the rest by name between.
func sortedEnvs(set map[string]bool) []string {
	rank := func(e string) int {
		switch e {
		case "dev", "development":
			return 0
		case "staging":
			return 1
		case "production", "prod":
			return 3
		}
		return 2
	}
	out := keys(set)
	sort.SliceStable(out, func(i, j int) bool {
		if ri, rj := rank(out[i]), rank(out[j]); ri != rj {
			return ri < rj
		}
		return out[i] < out[j]
	})
	return out
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		if k != "" {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

func toSet(list []string) map[string]bool {
	m := make(map[string]bool, len(list))
	for _, s := range list {
		m[s] = true
	}
	return m
}

// approvers names who may approve as people read it: "@acme/sre or @bob".
func approvers(from []string) string {
	out := make([]string, len(from))
	for i, f := range from {
		out[i] = "@" + strings.TrimPrefix(f, "@")
	}
	return strings.Join(out, " or ")
}
