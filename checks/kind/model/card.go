package model

import (
	"github.com/conveyor-dev/conveyor/checks/kind"
	"github.com/conveyor-dev/conveyor/internal/mlflow"
)

// card is the ML engineer's view on the approval card: the candidate
// version against what each environment's alias serves (so the card can
// say which alias moves, "production: v13 -> v14") and the gate in the
// Quality stage's own words (the gated metric, its thresholds and its
// delta against production).
func card(ptr *Pointer, serving map[string]*mlflow.ModelVersion, quality kind.Stage) kind.Card {
	c := kind.Card{Candidate: "v" + ptr.Version, Serving: map[string]string{}}
	for env, v := range serving {
		if v != nil {
			c.Serving[env] = "v" + v.Version
		}
	}
	c.Lines = []string{ptr.Model + " v" + ptr.Version + ": " + quality.Summary}
	return c
}
