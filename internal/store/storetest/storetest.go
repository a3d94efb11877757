// Package storetest opens fresh, migrated stores for tests: a SQLite file in
// a temporary folder, and a private schema in the real PostgreSQL server, so
// one suite can specify behaviour once and run it on both (river's style).
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/conveyor-dev/conveyor/internal/store"
)

// DefaultPostgresURL is the test server this project's machines start.
const DefaultPostgresURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// PostgresURL is the server tests use: $CONVEYOR_TEST_POSTGRES or the default.
func PostgresURL() string {
	if u := os.Getenv("CONVEYOR_TEST_POSTGRES"); u != "" {
		return u
	}
	return DefaultPostgresURL
}

// Dialects lists the dialects every store suite runs on.
var Dialects = []store.Dialect{store.SQLite, store.Postgres}

// URL returns a database URL for a new, empty database of dialect d that is
// dropped when t ends. For PostgreSQL that is a fresh schema selected through
// search_path, so two processes given the same URL share it.
func URL(t testing.TB, d store.Dialect) string {
	t.Helper()
	switch d {
	case store.SQLite:
		return "sqlite:" + filepath.Join(t.TempDir(), "conveyor.db")
	case store.Postgres:
		b := make([]byte, 6)
		rand.Read(b)
		schema := "t_" + hex.EncodeToString(b)
		base := PostgresURL()
		admin, err := sql.Open("pgx", base)
		if err != nil {
			t.Fatalf("postgres: %v", err)
		}
		defer admin.Close()
		if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
			t.Fatalf("postgres at %s is required for this test (`make test` starts a throwaway one when none answers; or set CONVEYOR_TEST_POSTGRES): %v", base, err)
		}
		t.Cleanup(func() {
			db, err := sql.Open("pgx", base)
			if err != nil {
				return
			}
			defer db.Close()
			db.Exec("DROP SCHEMA " + schema + " CASCADE")
		})
		sep := "?"
		if strings.Contains(base, "?") {
			sep = "&"
		}
		return base + sep + "search_path=" + schema
	}
	t.Fatalf("unknown dialect %q", d)
	return ""
}

// Open returns a migrated store of dialect d, closed when t ends.
func Open(t testing.TB, d store.Dialect) *store.Store {
	t.Helper()
	return OpenURL(t, URL(t, d))
}

// OpenURL opens and migrates the store at url, closed when t ends.
func OpenURL(t testing.TB, url string) *store.Store {
	t.Helper()
	ctx := context.Background()
	s, err := store.Open(ctx, url)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return s
}

// Each runs fn as a subtest once per dialect with a fresh store.
func Each(t *testing.T, fn func(t *testing.T, s *store.Store)) {
	for _, d := range Dialects {
		t.Run(string(d), func(t *testing.T) {
			fn(t, Open(t, d))
		})
	}
}
