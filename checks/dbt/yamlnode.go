package dbt

import (
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// maxCanonical bounds canonical text so that alias bombs stay cheap.
const maxCanonical = 1 << 20

var reYAMLLine = regexp.MustCompile(`line (\d+)`)

// parseYAMLDoc parses one YAML document and returns its top-level mapping
// (nil for an empty document). A syntax error is reported at its line.
func parseYAMLDoc(data []byte) (*yaml.Node, *lineError) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		line := 0
		if m := reYAMLLine.FindStringSubmatch(err.Error()); m != nil {
			line, _ = strconv.Atoi(m[1])
		}
		msg := strings.TrimPrefix(err.Error(), "yaml: ")
		return nil, &lineError{Line: line, Message: "malformed YAML: " + msg + "; fix the indentation or quoting there"}
	}
	if len(doc.Content) == 0 {
		return nil, nil
	}
	root := resolveAlias(doc.Content[0])
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return nil, nil
	}
	if root.Kind != yaml.MappingNode {
		return nil, &lineError{Line: root.Line, Message: "the file must be a YAML mapping (key: value pairs) at the top level, not a " + kindName(root)}
	}
	return root, nil
}

// resolveAlias follows a YAML alias to its anchor.
func resolveAlias(n *yaml.Node) *yaml.Node {
	for depth := 0; n != nil && n.Kind == yaml.AliasNode && depth < 16; depth++ {
		n = n.Alias
	}
	return n
}

// mapGet returns the value for key in a mapping node, or nil.
func mapGet(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for k := 0; k+1 < len(n.Content); k += 2 {
		if n.Content[k].Value == key {
			return resolveAlias(n.Content[k+1])
		}
	}
	return nil
}

// mapPairs calls fn for each key/value of a mapping node.
func mapPairs(n *yaml.Node, fn func(key, val *yaml.Node)) {
	if n == nil || n.Kind != yaml.MappingNode {
		return
	}
	for k := 0; k+1 < len(n.Content); k += 2 {
		fn(n.Content[k], resolveAlias(n.Content[k+1]))
	}
}

// items returns the elements of a sequence node (nil otherwise).
func items(n *yaml.Node) []*yaml.Node {
	if n == nil || n.Kind != yaml.SequenceNode {
		return nil
	}
	out := make([]*yaml.Node, len(n.Content))
	for k, c := range n.Content {
		out[k] = resolveAlias(c)
	}
	return out
}

// scalar returns a scalar's text ("" for anything else).
func scalar(n *yaml.Node) string {
	if n == nil || n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		return ""
	}
	return n.Value
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "list"
	case yaml.MappingNode:
		return "mapping"
	case yaml.ScalarNode:
		return "plain value"
	}
	return "value"
}

// configText renders a config value: scalars as their text (booleans
// lower-cased), lists and mappings in canonical form.
func configText(n *yaml.Node) string {
	if n != nil && n.Kind == yaml.ScalarNode {
		if n.Tag == "!!bool" {
			return strings.ToLower(n.Value)
		}
		return n.Value
	}
	return canonical(n)
}

// canonical renders a node so that formatting, comments and key order do
// not matter but every value does.
func canonical(n *yaml.Node) string {
	var b strings.Builder
	writeCanonical(&b, n, 0)
	return b.String()
}

func writeCanonical(b *strings.Builder, n *yaml.Node, depth int) {
	n = resolveAlias(n)
	if b.Len() > maxCanonical {
		return // aliases can multiply a small file; a cut digest still differs
	}
	if n == nil || depth > 64 {
		b.WriteString("null")
		return
	}
	switch n.Kind {
	case yaml.MappingNode:
		type pair struct {
			k string
			v *yaml.Node
		}
		pairs := make([]pair, 0, len(n.Content)/2)
		mapPairs(n, func(k, v *yaml.Node) { pairs = append(pairs, pair{k.Value, v}) })
		sort.SliceStable(pairs, func(i, j int) bool { return pairs[i].k < pairs[j].k })
		b.WriteByte('{')
		for i, p := range pairs {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.Quote(p.k))
			b.WriteByte(':')
			writeCanonical(b, p.v, depth+1)
		}
		b.WriteByte('}')
	case yaml.SequenceNode:
		b.WriteByte('[')
		for i, c := range n.Content {
			if i > 0 {
				b.WriteByte(',')
			}
			writeCanonical(b, c, depth+1)
		}
		b.WriteByte(']')
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!bool":
			b.WriteString(strings.ToLower(n.Value))
		case "!!int", "!!float":
			b.WriteString(n.Value)
		case "!!null":
			b.WriteString("null")
		default:
			b.WriteString(strconv.Quote(n.Value))
		}
	default:
		b.WriteString("null")
	}
}
