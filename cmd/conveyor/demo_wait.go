package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/conveyor-dev/conveyor/deploy"
	"github.com/conveyor-dev/conveyor/internal/ghfake"
	"github.com/conveyor-dev/conveyor/internal/store"
)

// finalStates are the deployment states the demo waits for.
// (failed is passed through on the way to rolled_back, so it is not one.)
var finalStates = map[string]bool{
	deploy.StateSucceeded: true, deploy.StateRolledBack: true,
	deploy.StateCancelled: true, deploy.StateRejected: true, deploy.StateExpired: true,
}

// waitDeployment waits until the newest deployment of pr to env at the PR's
// head SHA reaches one of states, then returns its state and the PR status
// comment the engine keeps for it.
func (d *demo) waitDeployment(ctx context.Context, pr *ghfake.PR, env string, states map[string]bool) (string, string, error) {
	var row *store.DeploymentRow
	err := wait(ctx, fmt.Sprintf("the %s deployment of PR #%d", env, pr.Number), func() bool {
		rows, err := store.ListDeployments(ctx, d.srv.Store.DB, store.DeploymentFilter{Repository: demoRepo, PR: pr.Number, Environment: env, Limit: 1})
		if err != nil || len(rows) == 0 || rows[0].SHA != pr.HeadSHA {
			return false
		}
		row = rows[0]
		return states[row.State]
	})
	if err != nil {
		return "", "", err
	}
	dep, err := d.app.Engine.Get(ctx, row.ID)
	if err != nil {
		return "", "", err
	}
	// The status comment is edited after the state commits; wait for it to say so.
	var body string
	wait(ctx, "the status comment", func() bool {
		for _, c := range d.gh.Comments(demoRepo, pr.Number) {
			if c.ID == dep.CommentID {
				body = c.Body
			}
		}
		return body != "" && strings.Contains(strings.ToLower(body), stateWords[dep.State])
	})
	d.lastDeployment = dep
	return dep.State, body, nil
}

var stateWords = map[string]string{
	deploy.StateSucceeded: "succeeded", deploy.StateRolledBack: "rolled back", deploy.StateFailed: "failed",
	deploy.StateCancelled: "cancelled", deploy.StateRejected: "rejected", deploy.StateExpired: "expired",
}

func writeFile(path, content string) error { return os.WriteFile(path, []byte(content), 0o644) }
