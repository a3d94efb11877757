package ghfake

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"fmt"
	"maps"
	"net/http"
	"path"
	"slices"
	"strings"
)

// repoOf returns the repo named in the route; callers hold s.mu.
func (s *Server) repoOf(r *http.Request) *repoState {
	return s.repos[strings.ToLower(r.PathValue("owner")+"/"+r.PathValue("repo"))]
}

// withRepo runs h with s.mu held and the route's repository, or writes 404.
func (s *Server) withRepo(h func(w http.ResponseWriter, r *http.Request, rs *repoState)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		rs := s.repoOf(r)
		if rs == nil {
			writeError(w, http.StatusNotFound, "Not Found")
			return
		}
		h(w, r, rs)
	}
}

func (s *Server) handleGetRepo(w http.ResponseWriter, r *http.Request, rs *repoState) {
	writeJSON(w, http.StatusOK, s.repoJSON(rs))
}

// handleCommitsSubtree serves commits/{ref}, commits/{ref}/check-runs, commits/{ref}/status(es);
// one route because a ref may contain slashes.
func (s *Server) handleCommitsSubtree(w http.ResponseWriter, r *http.Request, rs *repoState) {
	rest := r.PathValue("rest")
	switch {
	case strings.HasSuffix(rest, "/check-runs"):
		s.listCheckRunsForRef(w, r, rs, strings.TrimSuffix(rest, "/check-runs"))
	case strings.HasSuffix(rest, "/status"):
		s.combinedStatus(w, r, rs, strings.TrimSuffix(rest, "/status"))
	case strings.HasSuffix(rest, "/statuses"):
		s.listStatuses(w, r, rs, strings.TrimSuffix(rest, "/statuses"))
	default:
		c := rs.resolve(rest)
		if c == nil {
			writeValidation(w, fmt.Sprintf("No commit found for SHA: %s", rest))
			return
		}
		out := s.commitJSON(rs, c)
		var parentFiles map[string]string
		if p := rs.commits[c.parent]; p != nil {
			parentFiles = p.files
		}
		files := []any{}
		adds, dels := 0, 0
		for _, fc := range diffTrees(parentFiles, c.files) {
			f := s.fileJSON(rs, c.sha, fc)
			adds += f["additions"].(int)
			dels += f["deletions"].(int)
			files = append(files, f)
		}
		out["files"] = files
		out["stats"] = map[string]any{"additions": adds, "deletions": dels, "total": adds + dels}
		writeJSON(w, http.StatusOK, out)
	}
}

// commitJSON is a GitHub "commit" object without files; callers hold s.mu.
func (s *Server) commitJSON(rs *repoState, c *commitState) map[string]any {
	sig := map[string]any{"name": c.author, "email": c.author + "@users.noreply.github.com", "date": ts(c.time)}
	parents := []any{}
	if c.parent != "" {
		parents = append(parents, map[string]any{"sha": c.parent, "url": s.ts.URL + "/repos/" + rs.fullName + "/commits/" + c.parent})
	}
	return map[string]any{
		"sha": c.sha, "node_id": nodeID("C", int64(len(c.sha))),
		"url":          s.ts.URL + "/repos/" + rs.fullName + "/commits/" + c.sha,
		"html_url":     "https://github.com/" + rs.fullName + "/commit/" + c.sha,
		"comments_url": s.ts.URL + "/repos/" + rs.fullName + "/commits/" + c.sha + "/comments",
		"commit": map[string]any{
			"message": c.message, "author": sig, "committer": sig, "comment_count": 0,
			"url":  s.ts.URL + "/repos/" + rs.fullName + "/git/commits/" + c.sha,
			"tree": map[string]any{"sha": c.tree, "url": s.ts.URL + "/repos/" + rs.fullName + "/git/trees/" + c.tree},
		},
		"author": s.userJSON(c.author), "committer": s.userJSON(c.author), "parents": parents,
	}
}

// maxCompareFiles is where GitHub stops listing the files of a comparison.
const maxCompareFiles = 300

// handleCompare is GET compare/{base}...{head}.
func (s *Server) handleCompare(w http.ResponseWriter, r *http.Request, rs *repoState) {
	baseRef, headRef, ok := strings.Cut(r.PathValue("basehead"), "...")
	if !ok {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	base, head := rs.resolve(baseRef), rs.resolve(headRef)
	if base == nil || head == nil {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	mb := rs.mergeBase(base, head)
	ahead := rs.commitsBetween(mb, head)
	behind := rs.commitsBetween(mb, base)
	status := "diverged"
	switch {
	case len(ahead) == 0 && len(behind) == 0:
		status = "identical"
	case len(behind) == 0:
		status = "ahead"
	case len(ahead) == 0:
		status = "behind"
	}
	commits := []any{}
	for _, c := range ahead {
		commits = append(commits, s.commitJSON(rs, c))
	}
	files := []any{}
	for _, fc := range diffTrees(mb.files, head.files) {
		// "includes up to 300 changed files for the entire comparison" (REST
		// reference, GET /repos/{owner}/{repo}/compare/{basehead}).
		if len(files) == maxCompareFiles {
			break
		}
		files = append(files, s.fileJSON(rs, head.sha, fc))
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"url":               s.ts.URL + "/repos/" + rs.fullName + "/compare/" + r.PathValue("basehead"),
		"html_url":          "https://github.com/" + rs.fullName + "/compare/" + r.PathValue("basehead"),
		"permalink_url":     "https://github.com/" + rs.fullName + "/compare/" + base.sha + "..." + head.sha,
		"diff_url":          "https://github.com/" + rs.fullName + "/compare/" + r.PathValue("basehead") + ".diff",
		"patch_url":         "https://github.com/" + rs.fullName + "/compare/" + r.PathValue("basehead") + ".patch",
		"base_commit":       s.commitJSON(rs, base),
		"merge_base_commit": s.commitJSON(rs, mb),
		"status":            status, "ahead_by": len(ahead), "behind_by": len(behind),
		"total_commits": len(ahead), "commits": commits, "files": files,
	})
}

// maxContentsBytes is the largest file the contents API returns.
const maxContentsBytes = 1 << 20

// handleContents is GET contents/{path}?ref=: a file, a directory listing, or 404.
func (s *Server) handleContents(w http.ResponseWriter, r *http.Request, rs *repoState) {
	ref := r.URL.Query().Get("ref")
	c := rs.resolve(ref)
	if c == nil {
		writeError(w, http.StatusNotFound, fmt.Sprintf("No commit found for the ref %s", ref))
		return
	}
	p := strings.Trim(r.PathValue("path"), "/")
	if content, ok := c.files[p]; ok {
		if len(content) > maxContentsBytes {
			// GitHub's contents API serves files up to 1 MB; larger ones are
			// 403 with a too_large error on the Blob (docs: "Get repository
			// content"; the answer as clients report it).
			writeJSON(w, http.StatusForbidden, map[string]any{
				"message":           "This API returns blobs up to 1 MB in size. The requested blob is too large to fetch via the API, but you can use the Git Data API to request blobs up to 100 MB in size.",
				"errors":            []any{map[string]any{"resource": "Blob", "field": "data", "code": "too_large"}},
				"documentation_url": "https://docs.github.com/rest/repos/contents#get-repository-content",
			})
			return
		}
		out := s.contentEntry(rs, c, p, "file", len(content), blobSHA(content))
		out["encoding"] = "base64"
		out["content"] = wrap60(base64.StdEncoding.EncodeToString([]byte(content)))
		writeJSON(w, http.StatusOK, out)
		return
	}
	entries := map[string]map[string]any{}
	prefix := p + "/"
	if p == "" {
		prefix = ""
	}
	for fp, content := range c.files {
		if !strings.HasPrefix(fp, prefix) {
			continue
		}
		name, rest, isDir := strings.Cut(strings.TrimPrefix(fp, prefix), "/")
		_ = rest
		child := prefix + name
		if isDir {
			entries[child] = s.contentEntry(rs, c, child, "dir", 0, c.tree)
		} else {
			entries[child] = s.contentEntry(rs, c, child, "file", len(content), blobSHA(content))
		}
	}
	if len(entries) == 0 {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	list := []any{}
	for _, k := range slices.Sorted(maps.Keys(entries)) {
		list = append(list, entries[k])
	}
	writeJSON(w, http.StatusOK, list)
}

func (s *Server) contentEntry(rs *repoState, c *commitState, p, typ string, size int, sha string) map[string]any {
	self := fmt.Sprintf("%s/repos/%s/contents/%s?ref=%s", s.ts.URL, rs.fullName, p, c.sha)
	html := fmt.Sprintf("https://github.com/%s/blob/%s/%s", rs.fullName, c.sha, p)
	out := map[string]any{
		"type": typ, "name": path.Base(p), "path": p, "sha": sha, "size": size,
		"url": self, "html_url": html, "git_url": s.ts.URL + "/repos/" + rs.fullName + "/git/blobs/" + sha,
		"_links":       map[string]any{"self": self, "html": html, "git": s.ts.URL + "/repos/" + rs.fullName + "/git/blobs/" + sha},
		"download_url": nil,
	}
	if typ == "file" {
		out["download_url"] = fmt.Sprintf("https://raw.githubusercontent.com/%s/%s/%s", rs.fullName, c.sha, p)
	}
	return out
}

// wrap60 breaks base64 into 60-column lines, as GitHub's contents API does.
func wrap60(s string) string {
	var b strings.Builder
	for len(s) > 60 {
		b.WriteString(s[:60] + "\n")
		s = s[60:]
	}
	b.WriteString(s + "\n")
	return b.String()
}

// handleTree is GET git/trees/{sha}?recursive=1; sha may be a tree, commit or branch.
func (s *Server) handleTree(w http.ResponseWriter, r *http.Request, rs *repoState) {
	c := rs.resolve(r.PathValue("sha"))
	if c == nil {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	recursive := r.URL.Query().Get("recursive") != "" && r.URL.Query().Get("recursive") != "0" &&
		r.URL.Query().Get("recursive") != "false"
	entries := map[string]map[string]any{}
	for fp, content := range c.files {
		parts := strings.Split(fp, "/")
		for i := 1; i < len(parts); i++ {
			dir := strings.Join(parts[:i], "/")
			if recursive || i == 1 {
				entries[dir] = map[string]any{"path": dir, "mode": "040000", "type": "tree", "sha": blobSHA("tree:" + dir)}
			}
		}
		if recursive || len(parts) == 1 {
			entries[fp] = map[string]any{"path": fp, "mode": "100644", "type": "blob", "sha": blobSHA(content),
				"size": len(content), "url": s.ts.URL + "/repos/" + rs.fullName + "/git/blobs/" + blobSHA(content)}
		}
	}
	list := []any{}
	limit := s.treeLimit
	if limit <= 0 {
		limit = maxTreeEntries
	}
	truncated := false
	for _, k := range slices.Sorted(maps.Keys(entries)) {
		if len(list) == limit {
			truncated = true
			break
		}
		list = append(list, entries[k])
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"sha": c.tree, "url": s.ts.URL + "/repos/" + rs.fullName + "/git/trees/" + c.tree,
		"tree": list, "truncated": truncated,
	})
}

// handleTarball is GET tarball/{ref}: like GitHub, a 302 to a short-lived
// download URL (GitHub's codeload host; here /_codeload on this server) that
// needs no Authorization header.
func (s *Server) handleTarball(w http.ResponseWriter, r *http.Request, rs *repoState) {
	c := rs.resolve(r.PathValue("ref"))
	if c == nil {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	token := newGUID()
	if s.codeload == nil {
		s.codeload = map[string]bool{}
	}
	s.codeload[token] = true
	w.Header().Set("Location", fmt.Sprintf("%s/_codeload/%s/%s/legacy.tar.gz/%s?token=%s", s.ts.URL, rs.owner, rs.name, c.sha, token))
	w.WriteHeader(http.StatusFound)
}

// handleCodeload serves the tarball behind a download URL handed out by handleTarball.
func (s *Server) handleCodeload(w http.ResponseWriter, r *http.Request, rs *repoState) {
	if !s.codeload[r.URL.Query().Get("token")] {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	c := rs.resolve(r.PathValue("sha"))
	if c == nil {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	top := fmt.Sprintf("%s-%s-%s", rs.owner, rs.name, c.sha[:7])
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	_ = tw.WriteHeader(&tar.Header{Name: top + "/", Typeflag: tar.TypeDir, Mode: 0o755, ModTime: c.time})
	dirs := map[string]bool{}
	for _, fp := range slices.Sorted(maps.Keys(c.files)) {
		parts := strings.Split(fp, "/")
		for i := 1; i < len(parts); i++ {
			d := strings.Join(parts[:i], "/")
			if !dirs[d] {
				dirs[d] = true
				_ = tw.WriteHeader(&tar.Header{Name: top + "/" + d + "/", Typeflag: tar.TypeDir, Mode: 0o755, ModTime: c.time})
			}
		}
		content := c.files[fp]
		_ = tw.WriteHeader(&tar.Header{Name: top + "/" + fp, Typeflag: tar.TypeReg, Mode: 0o644,
			Size: int64(len(content)), ModTime: c.time})
		_, _ = tw.Write([]byte(content))
	}
	_ = tw.Close()
	_ = gz.Close()
	w.Header().Set("Content-Type", "application/x-gzip")
	w.Header().Set("Content-Disposition", "attachment; filename="+top+".tar.gz")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
}
