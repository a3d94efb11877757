package ghfake

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// fileChange is one path that differs between two tree snapshots.
type fileChange struct {
	path     string
	status   string // added, removed, modified
	old, new string
}

// diffTrees compares two snapshots, sorted by path.
func diffTrees(a, b map[string]string) []fileChange {
	var out []fileChange
	keys := map[string]bool{}
	for k := range a {
		keys[k] = true
	}
	for k := range b {
		keys[k] = true
	}
	for _, p := range slices.Sorted(maps.Keys(keys)) {
		oldC, inA := a[p]
		newC, inB := b[p]
		switch {
		case inA && !inB:
			out = append(out, fileChange{path: p, status: "removed", old: oldC})
		case !inA && inB:
			out = append(out, fileChange{path: p, status: "added", new: newC})
		case oldC != newC:
			out = append(out, fileChange{path: p, status: "modified", old: oldC, new: newC})
		}
	}
	return out
}

// fileJSON is the "file" object of pulls/{n}/files, compare and commit responses; callers hold s.mu.
func (s *Server) fileJSON(rs *repoState, headSHA string, fc fileChange) map[string]any {
	patch, adds, dels := unifiedPatch(fc.old, fc.new)
	sha := blobSHA(fc.new)
	if fc.status == "removed" {
		sha = "0000000000000000000000000000000000000000"
	}
	return map[string]any{
		"sha": sha, "filename": fc.path, "status": fc.status,
		"additions": adds, "deletions": dels, "changes": adds + dels, "patch": patch,
		"blob_url":     fmt.Sprintf("https://github.com/%s/blob/%s/%s", rs.fullName, headSHA, fc.path),
		"raw_url":      fmt.Sprintf("https://github.com/%s/raw/%s/%s", rs.fullName, headSHA, fc.path),
		"contents_url": fmt.Sprintf("%s/repos/%s/contents/%s?ref=%s", s.ts.URL, rs.fullName, fc.path, headSHA),
	}
}

func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

// unifiedPatch produces a single-hunk unified diff using a longest-common-subsequence
// line match (a full rewrite for very large files) and counts added and deleted lines.
func unifiedPatch(oldS, newS string) (patch string, adds, dels int) {
	a, b := splitLines(oldS), splitLines(newS)
	var ops []string
	if len(a)*len(b) > 4_000_000 {
		for _, l := range a {
			ops = append(ops, "-"+l)
		}
		for _, l := range b {
			ops = append(ops, "+"+l)
		}
	} else {
		ops = lcsOps(a, b)
	}
	for _, op := range ops {
		switch op[0] {
		case '+':
			adds++
		case '-':
			dels++
		}
	}
	if adds+dels == 0 {
		return "", 0, 0
	}
	oldStart, newStart := 1, 1
	if len(a) == 0 {
		oldStart = 0
	}
	if len(b) == 0 {
		newStart = 0
	}
	header := fmt.Sprintf("@@ -%d,%d +%d,%d @@", oldStart, len(a), newStart, len(b))
	return header + "\n" + strings.Join(ops, "\n"), adds, dels
}

func lcsOps(a, b []string) []string {
	n, m := len(a), len(b)
	dp := make([][]int, n+1)
	for i := range dp {
		dp[i] = make([]int, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if a[i] == b[j] {
				dp[i][j] = dp[i+1][j+1] + 1
			} else {
				dp[i][j] = max(dp[i+1][j], dp[i][j+1])
			}
		}
	}
	var ops []string
	i, j := 0, 0
	for i < n && j < m {
		switch {
		case a[i] == b[j]:
			ops = append(ops, " "+a[i])
			i++
			j++
		case dp[i+1][j] >= dp[i][j+1]:
			ops = append(ops, "-"+a[i])
			i++
		default:
			ops = append(ops, "+"+b[j])
			j++
		}
	}
	for ; i < n; i++ {
		ops = append(ops, "-"+a[i])
	}
	for ; j < m; j++ {
		ops = append(ops, "+"+b[j])
	}
	return ops
}
