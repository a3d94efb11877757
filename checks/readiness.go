package checks

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/conveyor-dev/conveyor/checks/repoconfig"
	"github.com/conveyor-dev/conveyor/internal/freezewindow"
)

// readiness says, for each environment of the base config, whether the
// artifact may go there now or what it still needs. It agrees with the
// Policy stage of the same evaluation (policy): an environment the policy
// denies is never "may deploy now", and when the policy could not be asked
// nothing is promised. first are needs every environment has before all
// else (the Validate or Quality stage to pass). It is evaluated again when a
// deployment, an approval or a lock changes what it says (Suite.Refresh).
func (r *run) readiness(ctx context.Context, a *repoconfig.Artifact, first []string, policy Stage, denied map[string][]string) Stage {
	st := Stage{Name: StageReadiness, Result: Info}
	if r.base == nil || len(r.base.Environments) == 0 {
		st.Summary = "no environments configured on the base branch"
		return st
	}
	if repoconfig.IsNew(r.base, a.Name) {
		st.Summary = "new in this pull request: not deployable until the " + configPath + " that defines it is merged"
		return st
	}
	if a.Deploy.Driver == "" {
		st.Summary = "not deployable: add deploy: {driver: ...} to it"
		return st
	}
	if policy.Result == Error {
		st.Summary = "not known while the policy cannot be evaluated (see the Policy stage)"
		return st
	}
	var now, serving, later []string
	for _, e := range r.base.Environments {
		here, err := r.servingIn(ctx, e.Name)
		if err == nil && here[a.Name] == r.ch.HeadSHA && r.ch.HeadSHA != "" {
			serving = append(serving, e.Name)
			st.Details = append(st.Details, e.Name+": serves "+short(r.ch.HeadSHA)+" (this head) now")
			continue
		}
		needs := append([]string(nil), first...)
		for _, reason := range denied[e.Name] {
			needs = append(needs, "the policy to allow it (deny: "+reason+")")
		}
		for _, req := range e.Requires {
			serving, err := r.servingIn(ctx, req)
			if err != nil {
				needs = append(needs, fmt.Sprintf("%s first (its deployments could not be read)", req))
				continue
			}
			if serving[a.Name] != r.ch.HeadSHA {
				needs = append(needs, fmt.Sprintf("%s first at %s", req, short(r.ch.HeadSHA)))
			}
		}
		waiting, held := r.waiting(ctx, e.Name)
		switch ap := e.Approvals; {
		case waiting != "":
			needs = append(needs, waiting)
		case ap.Count > 0:
			from := ""
			if len(ap.From) > 0 {
				from = " from " + strings.Join(ap.From, " or ")
			}
			needs = append(needs, plural(ap.Count, "approval")+from)
		}
		if held != "" {
			needs = append(needs, held)
		}
		for _, f := range e.Freeze {
			if w, err := freezewindow.Parse(f); err == nil && w.Contains(r.s.o.Now()) {
				needs = append(needs, "the end of the freeze "+f)
			}
		}
		if len(needs) == 0 {
			now = append(now, e.Name)
		} else {
			later = append(later, e.Name+" needs "+strings.Join(needs, ", "))
		}
		st.Details = append(st.Details, readinessLine(e.Name, needs))
	}
	var parts []string
	if len(serving) > 0 {
		parts = append(parts, "serving in "+strings.Join(serving, ", "))
	}
	if len(now) > 0 {
		parts = append(parts, "may go to "+strings.Join(now, ", ")+" now")
	}
	parts = append(parts, later...)
	st.Summary = strings.Join(parts, "; ")
	return st
}

// waiter is implemented by Deployments that know what holds an environment
// for a pull request besides the config (*deploy.Engine): approvals a
// deployment of the head waits for, and a lock or another deployment.
type waiter interface {
	Waiting(ctx context.Context, repo string, pr int, sha, env string) (approvals, held string, err error)
}

// waiting asks the promotion engine what holds env for this head, when it
// can tell ("" for each otherwise, as for a local checkout).
func (r *run) waiting(ctx context.Context, env string) (approvals, held string) {
	w, ok := r.s.o.Deployments.(waiter)
	if !ok || r.ch.Number == 0 {
		return "", ""
	}
	approvals, held, err := w.Waiting(ctx, r.ch.Repository, r.ch.Number, r.ch.HeadSHA, env)
	if err != nil {
		return "", "its deployments and locks to be readable (" + err.Error() + ")"
	}
	return approvals, held
}

// nextFreezeChange is the first moment a freeze window of the base
// config's environments begins or ends (zero when none is configured).
func (r *run) nextFreezeChange() time.Time {
	if r.base == nil {
		return time.Time{}
	}
	now := r.s.o.Now()
	var next time.Time
	for _, e := range r.base.Environments {
		for _, f := range e.Freeze {
			w, err := freezewindow.Parse(f)
			if err != nil {
				continue
			}
			if at := w.NextChange(now); !at.IsZero() && (next.IsZero() || at.Before(next)) {
				next = at
			}
		}
	}
	return next
}

func readinessLine(env string, needs []string) string {
	if len(needs) == 0 {
		return env + ": may deploy now"
	}
	return env + ": needs " + strings.Join(needs, ", ")
}
