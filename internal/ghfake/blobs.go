package ghfake

import (
	"encoding/base64"
	"net/http"
	"regexp"
	"strings"
)

// maxTreeEntries is where GitHub truncates a recursive tree listing ("the
// limit for the tree array is 100,000 entries with a maximum size of 7 MB
// when using the recursive parameter", REST reference for Get a tree).
const maxTreeEntries = 100000

// WithTreeLimit lowers the entries a recursive tree listing holds before it
// is truncated (GitHub: 100,000), so tests can reach the truncated answer.
func WithTreeLimit(n int) Option { return func(s *Server) { s.treeLimit = n } }

var blobSHAPattern = regexp.MustCompile(`^[0-9a-f]{40}$`)

// handleBlob is GET git/blobs/{sha}: a file of any commit by its git blob
// SHA, base64-encoded in lines of 60 characters as GitHub sends it. A SHA
// that is not 40 hex digits is 422, an unknown one 404.
func (s *Server) handleBlob(w http.ResponseWriter, r *http.Request, rs *repoState) {
	sha := r.PathValue("sha")
	if !blobSHAPattern.MatchString(sha) {
		writeValidation(w, "The sha parameter must be exactly 40 characters and contain only [0-9a-f].")
		return
	}
	for _, c := range rs.commits {
		for _, content := range c.files {
			if blobSHA(content) != sha {
				continue
			}
			enc := base64.StdEncoding.EncodeToString([]byte(content))
			var b strings.Builder
			for len(enc) > 60 {
				b.WriteString(enc[:60] + "\n")
				enc = enc[60:]
			}
			b.WriteString(enc + "\n")
			writeJSON(w, http.StatusOK, map[string]any{"sha": sha, "node_id": "B_" + sha[:12], "size": len(content),
				"url": s.apiURL(r, "/repos/"+rs.fullName+"/git/blobs/"+sha), "content": b.String(), "encoding": "base64"})
			return
		}
	}
	writeError(w, http.StatusNotFound, "Not Found")
}
