package store_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/conveyor-dev/conveyor/internal/store"
	"github.com/conveyor-dev/conveyor/internal/store/storetest"
)

// A dbt deploy's manifest is kept compressed per repository, artifact,
// environment and SHA; saving one for the same key replaces it, only the
// newest three per artifact and environment are kept, and bad input is
// refused.
func TestDBTManifests(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		manifest := func(sha string) []byte {
			return []byte(`{"metadata": {"project_name": "shop"}, "nodes": {}, "sha": "` + sha + `"` + strings.Repeat(" ", 100_000) + "}")
		}
		if _, err := store.DBTManifest(ctx, s.DB, "acme/shop", "analytics", "production", "aaa"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("nothing kept: %v, want ErrNotFound", err)
		}
		for _, sha := range []string{"aaa", "bbb", "ccc", "ddd"} {
			if err := store.SaveDBTManifest(ctx, s.DB, "acme/shop", "analytics", "production", sha, manifest(sha)); err != nil {
				t.Fatal(err)
			}
			time.Sleep(2 * time.Millisecond) // created_at has millisecond precision: keep the order
		}
		if err := store.SaveDBTManifest(ctx, s.DB, "acme/shop", "analytics", "staging", "aaa", manifest("staging")); err != nil {
			t.Fatal(err)
		}
		if _, err := store.DBTManifest(ctx, s.DB, "acme/shop", "analytics", "production", "aaa"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("the oldest of four in production is kept: %v", err)
		}
		for _, sha := range []string{"bbb", "ccc", "ddd"} {
			got, err := store.DBTManifest(ctx, s.DB, "acme/shop", "analytics", "production", sha)
			if err != nil || !bytes.Equal(got, manifest(sha)) {
				t.Errorf("%s: %d bytes, %v", sha, len(got), err)
			}
		}
		if got, err := store.DBTManifest(ctx, s.DB, "acme/shop", "analytics", "staging", "aaa"); err != nil || !bytes.Equal(got, manifest("staging")) {
			t.Errorf("staging's is its own: %d bytes, %v", len(got), err)
		}
		if err := store.SaveDBTManifest(ctx, s.DB, "acme/shop", "analytics", "production", "ddd", []byte(`{"again": true}`)); err != nil {
			t.Fatal(err)
		}
		if got, _ := store.DBTManifest(ctx, s.DB, "acme/shop", "analytics", "production", "ddd"); string(got) != `{"again": true}` {
			t.Errorf("a second save of one SHA replaces it: %q", got)
		}
		var stored int64
		if err := s.DB.QueryRowContext(ctx, `SELECT length(manifest) FROM dbt_manifests WHERE sha = 'ccc'`).Scan(&stored); err != nil || stored > 10_000 {
			t.Errorf("a 100 kB manifest of spaces is stored in %d bytes (%v): not compressed", stored, err)
		}
		if err := store.SaveDBTManifest(ctx, s.DB, "acme/shop", "analytics", "", "eee", manifest("eee")); err == nil {
			t.Error("a manifest without an environment was saved")
		}
		if err := store.SaveDBTManifest(ctx, s.DB, "acme/shop", "analytics", "production", "eee", nil); err == nil {
			t.Error("an empty manifest was saved")
		}
		if err := store.SaveDBTManifest(ctx, s.DB, "acme/shop", "analytics", "production", "fff", make([]byte, store.MaxDBTManifestBytes+1)); !errors.Is(err, store.ErrTooLarge) {
			t.Errorf("an oversized manifest: %v, want ErrTooLarge", err)
		}
	})
}
