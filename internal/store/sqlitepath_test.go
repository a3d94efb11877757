package store_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/conveyor-dev/conveyor/internal/store"
)

// A SQLite path with "#" or "%" (a subtest named "#00" has one in its
// temporary directory) names that file, not the path cut at the "#".
func TestSQLitePathWithURICharacters(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a#b%20c")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "conveyor.db")
	s, err := store.Open(context.Background(), "sqlite:"+p)
	if err != nil {
		t.Fatal(err)
	}
	defer s.DB.Close()
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("the database is not at %s: %v", p, err)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(dir), "a")); err == nil {
		t.Fatal("a file was created at the path cut at #")
	}
}
