package checks

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"
)

// The dbt check reads the project folder at both commits and nothing else:
// no tarball of the repository, no blob or file outside analytics/ is
// fetched (ghfake records every call), and the unchanged files are fetched
// once for both sides.
func TestDBTCheckFetchesOnlyTheProjectSubtree(t *testing.T) {
	e := newGHEnv(t, 2, 20*time.Millisecond)
	pr := e.openPR("dbt-only", map[string]*string{
		"analytics/models/staging/stg_orders.sql": strp(e.base["analytics/models/staging/stg_orders.sql"] + "\n-- reviewed\n"),
	})
	e.gh.ResetCalls()
	e.send("pull_request", e.gh.PullRequestEvent("opened", pr))
	cr := e.waitSettled(pr.HeadSHA)[CheckName("analytics")]
	if !strings.Contains(cr.Summary+cr.Text, "stg_orders") {
		t.Fatalf("analytics check does not report the edit: %s\n%s", cr.Summary, cr.Text)
	}
	outside := map[string]string{} // blob SHA -> path, for every file outside the project
	inside := 0
	for p, content := range e.base {
		if strings.HasPrefix(p, "analytics/") {
			inside++
			continue
		}
		outside[gitBlobSHA(content)] = p
	}
	blobs := 0
	for _, c := range e.gh.Calls() {
		switch {
		case strings.Contains(c.Path, "/tarball"), strings.HasPrefix(c.Path, "/_codeload/"):
			t.Errorf("the repository tarball was fetched: %s %s", c.Method, c.Path)
		case strings.Contains(c.Path, "/git/blobs/"):
			blobs++
			sha := c.Path[strings.LastIndex(c.Path, "/")+1:]
			if p, ok := outside[sha]; ok {
				t.Errorf("a file outside the project was fetched: %s (%s)", p, c.Path)
			}
		case strings.Contains(c.Path, "/contents/"):
			p := c.Path[strings.Index(c.Path, "/contents/")+len("/contents/"):]
			if !strings.HasPrefix(p, "analytics/") && p != ".github/conveyor.yml" {
				t.Errorf("a file outside the project was read: %s", p)
			}
		}
	}
	// Both sides: every project file once (shared blobs are cached) and
	// the edited one twice.
	if blobs != inside+1 {
		t.Errorf("%d blob fetches for %d project files and 1 edit, want %d", blobs, inside, inside+1)
	}
}

func gitBlobSHA(content string) string {
	sum := sha1.Sum([]byte(fmt.Sprintf("blob %d\x00%s", len(content), content)))
	return hex.EncodeToString(sum[:])
}
