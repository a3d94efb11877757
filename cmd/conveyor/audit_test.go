package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/conveyor-dev/conveyor/internal/docgolden"
	"github.com/conveyor-dev/conveyor/internal/store"
	"github.com/conveyor-dev/conveyor/internal/store/storetest"
)

// seedAudit writes one event of each kind, at fixed times.
func seedAudit(t *testing.T, st *store.Store) {
	t.Helper()
	ctx := context.Background()
	at := time.Date(2026, 6, 11, 10, 0, 0, 0, time.UTC)
	for i, e := range []store.AuditEvent{
		{Kind: "decision", Repository: "acme/shop", PR: 7, Environment: "production", Artifacts: []string{"fraud-model", "web"},
			Actor: "sam", Action: "deploy", Outcome: "allow", Digest: "6a9b2c7513ea0f", Detail: json.RawMessage(`{"allow":true}`)},
		{Kind: "deployment", Repository: "acme/shop", PR: 7, Environment: "production", Artifacts: []string{"fraud-model", "web"},
			Actor: "sam", Subject: "deployment 3", Action: "created", Outcome: "awaiting_approval"},
		{Kind: "approval", Repository: "acme/shop", PR: 7, Environment: "production", Artifacts: []string{"fraud-model", "web"},
			Actor: "sre-alice", Subject: "deployment 3", Action: "approve", Outcome: "awaiting_approval"},
		{Kind: "deployment", Repository: "acme/shop", PR: 7, Environment: "production", Artifacts: []string{"fraud-model", "web"},
			Actor: "conveyor", Subject: "deployment 3", Action: "rolled_back", Outcome: "rolled_back"},
		{Kind: "lock", Repository: "acme/shop", Environment: "production", Actor: "sre-alice", Subject: "production",
			Action: "lock", Outcome: "lock", Detail: json.RawMessage(`{"reason":"incident 42"}`)},
	} {
		e.At = at.Add(time.Duration(i) * 90 * time.Second)
		if err := store.AppendAudit(ctx, st.DB, e); err != nil {
			t.Fatal(err)
		}
	}
}

// TestAuditNeverCreatesADatabase: without DATABASE_URL, or with one naming a
// missing file or an empty database, audit fails with exit 2, says what to
// set, and leaves no database behind.
func TestAuditNeverCreatesADatabase(t *testing.T) {
	dir := t.TempDir()
	wd, _ := os.Getwd()
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	defer os.Chdir(wd)

	t.Setenv("DATABASE_URL", "")
	_, err := runCLI(t, "audit")
	code := exitCode(err)
	if code != 2 || err == nil || !strings.Contains(err.Error(), "DATABASE_URL is not set") {
		t.Errorf("audit without DATABASE_URL: exit %d, %v; want exit 2 naming DATABASE_URL", code, err)
	}
	if _, err := os.Stat(filepath.Join(dir, store.DefaultSQLitePath)); !os.IsNotExist(err) {
		t.Errorf("audit created %s (stat err %v)", store.DefaultSQLitePath, err)
	}

	missing := filepath.Join(dir, "nope.db")
	t.Setenv("DATABASE_URL", "sqlite:"+missing)
	_, err = runCLI(t, "audit")
	code = exitCode(err)
	if code != 2 || err == nil || !strings.Contains(err.Error(), "no Conveyor database") {
		t.Errorf("audit on a missing file: exit %d, %v", code, err)
	}
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Errorf("audit created %s", missing)
	}

	t.Setenv("DATABASE_URL", storetest.URL(t, store.Postgres)) // a schema with no tables
	_, err = runCLI(t, "audit")
	code = exitCode(err)
	if code != 2 || err == nil || !strings.Contains(err.Error(), "has no Conveyor tables") {
		t.Errorf("audit on an empty PostgreSQL schema: exit %d, %v", code, err)
	}
}

// TestAuditRefusesUnknownKinds: a typo is an error listing the kinds.
func TestAuditRefusesUnknownKinds(t *testing.T) {
	t.Setenv("DATABASE_URL", storetest.URL(t, store.SQLite))
	_, err := runCLI(t, "audit", "--kind", "locks")
	code := exitCode(err)
	if code != 2 || err == nil || !strings.Contains(err.Error(), "decision, deployment, approval, lock") {
		t.Errorf("audit --kind locks: exit %d, %v; want exit 2 listing the kinds", code, err)
	}
}

// TestAuditListsWhatEachEventIsAbout, on both stores: aligned columns naming
// repository, PR, environment and artifacts; --json carries the same; the
// table is the example in docs/commands.md.
func TestAuditListsWhatEachEventIsAbout(t *testing.T) {
	for _, d := range storetest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			url := storetest.URL(t, d)
			seedAudit(t, storetest.OpenURL(t, url))
			t.Setenv("DATABASE_URL", url)

			out, err := runCLI(t, "audit", "--repo", "acme/shop")
			code := exitCode(err)
			if code != 0 {
				t.Fatalf("audit: exit %d, %v\n%s", code, err, out)
			}
			lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
			if len(lines) != 6 {
				t.Fatalf("want a header and 5 rows, got:\n%s", out)
			}
			// Aligned: every column starts at the same offset on every line.
			header := lines[0]
			for _, col := range []string{"KIND", "ACTION", "OUTCOME", "REPOSITORY", "PR", "ENVIRONMENT", "ARTIFACTS", "ACTOR", "DIGEST"} {
				at := strings.Index(header, col)
				for _, l := range lines[1:] {
					if at >= len(l) || l[at] == ' ' || l[at-1] != ' ' {
						t.Errorf("column %s is not aligned at %d in %q", col, at, l)
					}
				}
			}
			if !strings.Contains(lines[1], "lock") || !strings.Contains(lines[5], "#7") || !strings.Contains(lines[5], "fraud-model,web") {
				t.Errorf("rows do not name what they are about:\n%s", out)
			}
			if d == store.SQLite {
				docgolden.Check(t, docgolden.Path("commands.md"), "audit", "console", "$ conveyor audit --repo acme/shop\n"+out)
			}

			out, err = runCLI(t, "audit", "--repo", "acme/shop", "--pr", "7", "--kind", "deployment", "--json")
			code = exitCode(err)
			if code != 0 {
				t.Fatalf("audit --json: exit %d", code)
			}
			lines = strings.Split(strings.TrimRight(out, "\n"), "\n")
			if len(lines) != 2 {
				t.Fatalf("--pr 7 --kind deployment: want 2 lines, got:\n%s", out)
			}
			var e map[string]any
			if err := json.Unmarshal([]byte(lines[0]), &e); err != nil {
				t.Fatal(err)
			}
			if e["repository"] != "acme/shop" || e["pr"] != float64(7) || e["environment"] != "production" || e["action"] != "rolled_back" {
				t.Errorf("JSON event = %v", e)
			}
			if arts, _ := e["artifacts"].([]any); len(arts) != 2 || arts[0] != "fraud-model" {
				t.Errorf("JSON artifacts = %v", e["artifacts"])
			}
		})
	}
}
