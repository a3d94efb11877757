package commands

import (
	"strings"

	"github.com/conveyor-dev/conveyor/checks/repoconfig"
)

// didYouMean is "did you mean NAME? " when word looks like a misspelling
// of exactly one of names (an edit distance of at most 2 that keeps part of
// the word, or an unambiguous prefix of three letters or more: "prod" for
// "production"), and "" otherwise, so a reply suggests only what is likely.
func didYouMean(word string, names []string) string {
	w := strings.ToLower(word)
	best, bestDist, prefixes := "", 3, []string{}
	for _, n := range names {
		if d := levenshtein(w, strings.ToLower(n)); d < bestDist && d < len(w) {
			best, bestDist = n, d
		}
		if len(w) >= 3 && strings.HasPrefix(strings.ToLower(n), w) {
			prefixes = append(prefixes, n)
		}
	}
	if best == "" && len(prefixes) == 1 {
		best = prefixes[0]
	}
	if best == "" || best == word {
		return ""
	}
	return "did you mean " + best + "? "
}

func environmentList(c *repoconfig.Config) []string {
	var n []string
	for _, e := range c.Environments {
		n = append(n, e.Name)
	}
	return n
}

func artifactList(c *repoconfig.Config) []string {
	var n []string
	for _, a := range c.Artifacts {
		n = append(n, a.Name)
	}
	return n
}
