package web

import (
	"errors"
	"net/http"

	"github.com/conveyor-dev/conveyor/deploy"
	"github.com/conveyor-dev/conveyor/internal/store"
)

type artifactPage struct {
	chrome
	Repo     string
	Artifact string
	Kind     string
	Envs     []envHistory
}

// envHistory is the artifact's deployments to one environment and what
// /rollback would return it to there.
type envHistory struct {
	Name     string
	Serving  string
	Rollback string // what /rollback <env> would do, in words
	NoReturn string // why /rollback <env> has nothing to return to
	Rows     []historyRow
}

type historyRow struct {
	store.ArtifactHistory
	Rollback bool // a /rollback, or a failed deployment rolled back
}

func (s *Server) artifact(w http.ResponseWriter, r *http.Request, v viewer) {
	repo, ok := s.repoOf(w, r)
	if !ok {
		return
	}
	name := r.PathValue("name")
	hist, err := store.ArtifactDeployments(r.Context(), s.o.Store.DB, repo, name, 1000)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if len(hist) == 0 {
		s.notFound(w, r)
		return
	}
	p := &artifactPage{Repo: repo, Artifact: name, Kind: hist[0].Kind}
	byEnv := map[string]*envHistory{}
	succeeded := map[string][]store.ArtifactHistory{}
	envs := map[string]bool{}
	for _, h := range hist { // newest first
		e := byEnv[h.Environment]
		if e == nil {
			e = &envHistory{Name: h.Environment}
			byEnv[h.Environment] = e
			envs[h.Environment] = true
		}
		e.Rows = append(e.Rows, historyRow{ArtifactHistory: h, Rollback: h.Mode == "rollback" || h.DeploymentState == deploy.StateRolledBack})
		if h.DeploymentState == deploy.StateSucceeded && h.State == deploy.StateSucceeded {
			if e.Serving == "" {
				e.Serving = h.Serving
			}
			succeeded[h.Environment] = append(succeeded[h.Environment], h)
		}
	}
	for _, env := range sortedEnvs(envs) {
		e := byEnv[env]
		// The engine's own answer: the same function /rollback acts on.
		_, _, summary, err := deploy.RollbackTarget(name, env, succeeded[env])
		var none *deploy.NothingToReturnToError
		switch {
		case errors.As(err, &none):
			e.NoReturn = none.Reason
		case err != nil:
			e.NoReturn = err.Error()
		default:
			e.Rollback = summary
		}
		p.Envs = append(p.Envs, *e)
	}
	p.chrome = s.chrome(r, v, name+" in "+repo, "")
	s.render(w, r, "artifact", p)
}
