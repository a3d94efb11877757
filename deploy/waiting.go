package deploy

import (
	"context"
	"fmt"
	"strings"

	"github.com/conveyor-dev/conveyor/internal/store"
)

// seats matches approvals to the quorum's seats (one per approval needed):
// owner[s] is the index+1 of the approval holding seat s, 0 when it is free,
// and group[s] the group the seat belongs to.
func (q Quorum) seats(approvals []Approval) (owner, group []int) {
	for gi, g := range q.Groups {
		for range g.Count {
			group = append(group, gi)
		}
	}
	owner = make([]int, len(group))
	var try func(a int, seen []bool) bool
	try = func(a int, seen []bool) bool {
		for s, gi := range group {
			if seen[s] || !eligible(approvals[a], q.Groups[gi].From) {
				continue
			}
			seen[s] = true
			if owner[s] == 0 || try(owner[s]-1, seen) {
				owner[s] = a + 1
				return true
			}
		}
		return false
	}
	for a := range approvals {
		try(a, make([]bool, len(group)))
	}
	return owner, group
}

// Missing says in words which approvals are still needed: "1 more approval
// from @acme/ml" ("" when the quorum is met). Teams and logins are shown as
// GitHub mentions them.
func (q Quorum) Missing(approvals []Approval) string {
	owner, group := q.seats(approvals)
	free := make([]int, len(q.Groups))
	for s, gi := range group {
		if owner[s] == 0 {
			free[gi]++
		}
	}
	var parts []string
	for gi, n := range free {
		if n == 0 {
			continue
		}
		word := "approval"
		if n > 1 {
			word = "approvals"
		}
		part := fmt.Sprintf("%d more %s", n, word)
		if from := q.Groups[gi].From; len(from) > 0 {
			var who []string
			for _, f := range from {
				who = append(who, "@"+strings.TrimPrefix(f, "@"))
			}
			part += " from " + strings.Join(who, " or ")
		}
		parts = append(parts, part)
	}
	return strings.Join(parts, " and ")
}

// Waiting says in words what keeps pull request pr of repo from deploying
// sha to env now, as far as the engine knows: approvals a deployment of sha
// there still waits for ("1 more approval from @acme/ml for deployment
// 12"), and a lock or another deployment holding env ("the lock of @alice
// for PR #5 to be released (release freeze)"). Each is "" when nothing
// stands in the way. The check suite's Readiness stage shows them after
// "needs".
func (e *Engine) Waiting(ctx context.Context, repo string, pr int, sha, env string) (approvals, held string, err error) {
	db := e.o.Store.DB
	rows, err := store.ListDeployments(ctx, db, store.DeploymentFilter{Repository: repo, PR: pr, Environment: env,
		States: []string{StateAwaitingApproval}, Limit: 10})
	if err != nil {
		return "", "", err
	}
	for _, r := range rows {
		if r.SHA != sha {
			continue
		}
		d := fromRow(r)
		if m := d.Quorum.Missing(d.Approvals); m != "" {
			approvals = fmt.Sprintf("%s for deployment %d", m, d.ID)
		}
		break
	}
	locks, err := store.ListLocks(ctx, db, repo)
	if err != nil {
		return "", "", err
	}
	for _, l := range locks {
		if l.Environment != env {
			continue
		}
		switch {
		case l.DeploymentID != 0 && l.PR == pr && l.HolderState == StateAwaitingApproval:
			// Its own deployment waiting for approvals: said above.
		case l.DeploymentID != 0 && l.PR == pr:
			held = fmt.Sprintf("deployment %d of this pull request to finish (%s)", l.DeploymentID, strings.ReplaceAll(l.HolderState, "_", " "))
		case l.DeploymentID != 0:
			held = fmt.Sprintf("deployment %d of PR #%d to finish (%s, by @%s)", l.DeploymentID, l.PR, strings.ReplaceAll(l.HolderState, "_", " "), l.Login)
		case l.Manual && l.PR != pr:
			held = fmt.Sprintf("the lock of @%s for PR #%d to be released (%s)", l.Login, l.PR, orText(l.Reason, "no reason given"))
		}
	}
	return approvals, held, nil
}

func orText(s, fallback string) string {
	if s == "" {
		return fallback
	}
	return s
}
