package ghfake

import (
	"net/http"
	"strings"
	"testing"
)

// A blob is served by its git SHA as base64 in 60-character lines; a SHA
// that is not 40 hex digits is 422 and an unknown one 404. A recursive
// tree over the limit says truncated.
func TestBlobsAndTreeTruncation(t *testing.T) {
	s, gh := fixture(t, WithTreeLimit(2))
	long := strings.Repeat("select 1;\n", 20)
	s.Commit("acme/web", "main", map[string]*string{"a/b.sql": str(long), "c.txt": str("c")}, "files")
	tree, _, err := gh.Git.GetTree(ctx, "acme", "web", "main", true)
	if err != nil || !tree.GetTruncated() || len(tree.Entries) != 2 {
		t.Fatalf("tree = %+v, %v; want 2 entries, truncated", tree, err)
	}
	sha := blobSHA(long)
	b, _, err := gh.Git.GetBlob(ctx, "acme", "web", sha)
	if err != nil || b.GetEncoding() != "base64" || b.GetSize() != len(long) || !strings.Contains(b.GetContent(), "\n") {
		t.Fatalf("blob = %+v, %v", b, err)
	}
	if _, resp, _ := gh.Git.GetBlob(ctx, "acme", "web", "nothex"); resp == nil || resp.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("bad sha: %v, want 422", resp)
	}
	if _, resp, _ := gh.Git.GetBlob(ctx, "acme", "web", strings.Repeat("0", 40)); resp == nil || resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown sha: %v, want 404", resp)
	}
}
