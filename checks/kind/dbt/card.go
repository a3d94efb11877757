package dbt

import (
	"fmt"

	"github.com/conveyor-dev/conveyor/checks/kind"
	"github.com/conveyor-dev/conveyor/policies"
)

// cardNames is how many model names a card line lists before "and N more".
const cardNames = 5

// card is the analytics engineer's view on the approval card: the models
// the change modifies, how many are downstream of them, and the contract
// breaks and untested models that the Quality stage judged.
func card(ev *policies.DBTEvidence) kind.Card {
	var lines []string
	if len(ev.Modified) == 0 {
		lines = append(lines, "no models modified")
	} else {
		lines = append(lines, fmt.Sprintf("%s modified: %s", kind.Plural(len(ev.Modified), "model"), kind.CardList(ev.Modified, cardNames)))
	}
	lines = append(lines, fmt.Sprintf("%s downstream", kind.Plural(len(ev.Downstream), "model")))
	if len(ev.ContractBreaks) == 0 {
		lines = append(lines, "no contract breaks")
	} else {
		lines = append(lines, fmt.Sprintf("%s: %s", kind.Plural(len(ev.ContractBreaks), "contract break"), kind.CardList(ev.ContractBreaks, 3)))
	}
	if len(ev.Untested) > 0 {
		lines = append(lines, "untested: "+kind.CardList(ev.Untested, cardNames))
	}
	return kind.Card{Lines: lines}
}
