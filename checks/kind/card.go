package kind

import (
	"fmt"
	"strings"
)

// Card is what an approver reads about one artifact beside the Approve
// button (the Slack approval card), in its persona's words: a kind fills
// it in Evaluate (Outcome.Card) from what it read anyway. Lines are plain
// text, not markdown; keep them few and short (an approval card shows at
// most a handful per artifact, the rest is on the pull request page).
type Card struct {
	Lines []string `json:"lines,omitempty"`
	// Candidate is what a deploy of the artifact would serve, in the
	// kind's words ("v14"); "" means the head SHA.
	Candidate string `json:"candidate,omitempty"`
	// Serving is what each environment serves now, in the same words
	// ("production": "v13"), as far as the kind knows; an environment it
	// does not know is absent.
	Serving map[string]string `json:"serving,omitempty"`
}

// CardList names up to limit items and says how many more there are:
// "orders, customers and 3 more".
func CardList(items []string, limit int) string {
	if len(items) <= limit {
		return strings.Join(items, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(items[:limit], ", "), len(items)-limit)
}
