package dbt

import "sort"

// Graph is the lineage of a project's nodes (models, seeds, snapshots): an
// edge runs from a node to each node it refs, directly or inside a macro it
// calls. Refs into packages and unresolved refs are not edges.
type Graph struct {
	parents  map[string][]string
	children map[string][]string
	keys     []string
}

// Graph builds the lineage. Build it once per project and reuse it.
func (p *Project) Graph() *Graph {
	g := &Graph{parents: map[string][]string{}, children: map[string][]string{}}
	if p == nil {
		return g
	}
	g.keys = p.ModelKeys()
	res := newResolver(p)
	for _, key := range g.keys {
		seen := map[string]bool{}
		for _, r := range p.Models[key].Refs {
			parent, st := res.resolve(r)
			if st != refRoot || seen[parent] {
				continue
			}
			seen[parent] = true
			g.parents[key] = append(g.parents[key], parent)
			g.children[parent] = append(g.children[parent], key)
		}
	}
	for _, m := range []map[string][]string{g.parents, g.children} {
		for _, list := range m {
			sort.Strings(list)
		}
	}
	return g
}

// Parents returns the models that model refs directly, sorted.
func (g *Graph) Parents(model string) []string { return append([]string(nil), g.parents[model]...) }

// Children returns the models that ref model directly, sorted.
func (g *Graph) Children(model string) []string { return append([]string(nil), g.children[model]...) }

// Downstream returns every model that depends on any of models, directly or
// transitively, sorted; the given models themselves are left out.
func (g *Graph) Downstream(models ...string) []string {
	start := make(map[string]bool, len(models))
	for _, m := range models {
		start[m] = true
	}
	seen := map[string]bool{}
	queue := append([]string(nil), models...)
	for len(queue) > 0 {
		cur := queue[len(queue)-1]
		queue = queue[:len(queue)-1]
		for _, c := range g.children[cur] {
			if !seen[c] {
				seen[c] = true
				queue = append(queue, c)
			}
		}
	}
	out := make([]string, 0, len(seen))
	for m := range seen {
		if !start[m] {
			out = append(out, m)
		}
	}
	sort.Strings(out)
	return out
}

// Cycles returns each set of models that ref each other in a loop (a
// strongly connected component of more than one model, or a model that
// refs itself), each sorted, in sorted order.
func (g *Graph) Cycles() [][]string {
	// Tarjan's algorithm, iterative so that deep lineages cannot overflow.
	index := map[string]int{}
	low := map[string]int{}
	onStack := map[string]bool{}
	var stack []string
	var out [][]string
	next := 0
	type frame struct {
		node string
		edge int
	}
	for _, root := range g.keys {
		if _, done := index[root]; done {
			continue
		}
		call := []frame{{root, 0}}
		index[root], low[root] = next, next
		next++
		stack = append(stack, root)
		onStack[root] = true
		for len(call) > 0 {
			f := &call[len(call)-1]
			edges := g.parents[f.node]
			if f.edge < len(edges) {
				w := edges[f.edge]
				f.edge++
				if _, seen := index[w]; !seen {
					index[w], low[w] = next, next
					next++
					stack = append(stack, w)
					onStack[w] = true
					call = append(call, frame{w, 0})
				} else if onStack[w] && index[w] < low[f.node] {
					low[f.node] = index[w]
				}
				continue
			}
			v := f.node
			call = call[:len(call)-1]
			if len(call) > 0 {
				if u := call[len(call)-1].node; low[v] < low[u] {
					low[u] = low[v]
				}
			}
			if low[v] != index[v] {
				continue
			}
			var comp []string
			for {
				w := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				onStack[w] = false
				comp = append(comp, w)
				if w == v {
					break
				}
			}
			if len(comp) > 1 || g.selfLoop(v) {
				sort.Strings(comp)
				out = append(out, comp)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0] < out[j][0] })
	return out
}

func (g *Graph) selfLoop(v string) bool {
	for _, p := range g.parents[v] {
		if p == v {
			return true
		}
	}
	return false
}
