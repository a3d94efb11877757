package repoconfig

import (
	"gopkg.in/yaml.v3"

	"github.com/conveyor-dev/conveyor/checks/kind"
)

// reader walks yaml.v3 nodes of one file and collects problems with
// positions; the node reading itself is kind.Doc, shared with the kinds.
type reader struct{ *kind.Doc }

func newReader(file string) *reader { return &reader{&kind.Doc{File: file}} }

// position is where a value was written.
type position = kind.Pos

func resolve(n *yaml.Node) *yaml.Node { return kind.Resolve(n) }

func isNull(n *yaml.Node) bool { return kind.IsNull(n) }

func describe(n *yaml.Node) string { return kind.Describe(n) }

func contains(list []string, s string) bool { return kind.Contains(list, s) }

func nearest(s string, known []string) string { return kind.Nearest(s, known) }

func sortProblems(ps []Problem) { kind.SortProblems(ps) }

func parseDocument(file string, data []byte) (*yaml.Node, *Problem) {
	return kind.ParseDocument(file, data)
}

func nodeAt(n *yaml.Node, i int) *yaml.Node { return kind.NodeAt(n, i) }

func hasKey(n *yaml.Node, key string) bool { return kind.Has(n, key) }
