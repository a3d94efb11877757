package checks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/conveyor-dev/conveyor/checks/kind"
	"github.com/conveyor-dev/conveyor/internal/store"
	"github.com/conveyor-dev/conveyor/policies"
)

// storedCard is the card column of an artifact's stored check result.
type storedCard struct {
	kind.Card
	Cost policies.Cost `json:"cost"`
}

// ArtifactCard is one artifact as the last evaluation of a SHA recorded it
// for the approval card: its check's state and title, the kind's lines in
// its persona's words, what it would serve against what each environment
// serves, and its cost.
type ArtifactCard struct {
	Name, Kind string
	// Status and Conclusion are the artifact check's, as GitHub spells them.
	Status, Conclusion string
	Title              string
	kind.Card
	Cost policies.Cost
}

// Cards reads what the last evaluation of sha recorded for the approval
// card: the gate's state (as GateConclusion says it) and each evaluated
// artifact's card, by name. An artifact evaluated before cards were
// recorded has its check's title for a line.
func (s *Suite) Cards(ctx context.Context, repo, sha string) (gate string, cards map[string]ArtifactCard, err error) {
	if s.o.Store == nil {
		return "", nil, errors.New("cards: the check suite has no store")
	}
	rs, err := store.CheckResults(ctx, s.o.Store.DB, repo, sha)
	if err != nil {
		return "", nil, err
	}
	if g, ok := rs[GateName]; ok {
		gate = g.Status
		if g.Status == StatusCompleted {
			gate = g.Conclusion
		}
	}
	cards = map[string]ArtifactCard{}
	for _, r := range rs {
		if r.Artifact == "" {
			continue
		}
		c := ArtifactCard{Name: r.Artifact, Kind: r.Kind, Status: r.Status, Conclusion: r.Conclusion, Title: r.Title}
		if r.Card != "" {
			var sc storedCard
			if err := json.Unmarshal([]byte(r.Card), &sc); err != nil {
				return "", nil, fmt.Errorf("card of %s on %s@%s: %w", r.Artifact, repo, sha, err)
			}
			c.Card, c.Cost = sc.Card, sc.Cost
		}
		if len(c.Lines) == 0 && r.Title != "" {
			c.Lines = []string{r.Title}
		}
		cards[r.Artifact] = c
	}
	return gate, cards, nil
}
