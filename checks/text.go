package checks

import (
	"strings"

	"github.com/conveyor-dev/conveyor/checks/kind"
)

// plural and short are the kinds' own wording helpers.
var (
	plural = kind.Plural
	short  = kind.Short
)

func joinNames(names []string) string { return strings.Join(names, ", ") }
