package store

import (
	"bytes"
	"compress/gzip"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
)

// MaxDBTManifestBytes bounds a stored dbt manifest, uncompressed: what the
// dbt check reads of a CI manifest (a 1,200-model project's manifest is
// about 30 MiB; gzip makes it a tenth of that).
const MaxDBTManifestBytes = 256 << 20

// keptDBTManifests is how many manifests are kept per repository, artifact
// and environment: the one serving and a few before it, for a rollback.
const keptDBTManifests = 3

// ErrTooLarge says a value is over the size the store keeps.
var ErrTooLarge = errors.New("too large to store")

// SaveDBTManifest keeps the manifest.json a dbt deploy of sha wrote in env,
// gzip-compressed, replacing one kept for the same SHA, and forgets all but
// the newest few of the artifact in env. A manifest over
// MaxDBTManifestBytes is refused with ErrTooLarge.
func SaveDBTManifest(ctx context.Context, q Querier, repo, artifact, env, sha string, manifest []byte) error {
	if repo == "" || artifact == "" || env == "" || sha == "" || len(manifest) == 0 {
		return fmt.Errorf("save dbt manifest: repository, artifact, environment, SHA and the manifest are required (got %q %q %q %q, %d bytes)",
			repo, artifact, env, sha, len(manifest))
	}
	if len(manifest) > MaxDBTManifestBytes {
		return fmt.Errorf("save dbt manifest of %s %s at %s: %d bytes, over %d: %w", repo, artifact, sha, len(manifest), MaxDBTManifestBytes, ErrTooLarge)
	}
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	if err != nil {
		return err
	}
	if _, err := zw.Write(manifest); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	at := now()
	if _, err := q.ExecContext(ctx, `INSERT INTO dbt_manifests (repository, artifact, environment, sha, manifest, size, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (repository, artifact, environment, sha) DO UPDATE SET manifest = excluded.manifest, size = excluded.size, created_at = excluded.created_at`,
		repo, artifact, env, sha, buf.Bytes(), len(manifest), at); err != nil {
		return fmt.Errorf("save dbt manifest of %s %s at %s: %w", repo, artifact, sha, err)
	}
	if _, err := q.ExecContext(ctx, `DELETE FROM dbt_manifests WHERE repository = $1 AND artifact = $2 AND environment = $3
		AND sha NOT IN (SELECT sha FROM dbt_manifests WHERE repository = $1 AND artifact = $2 AND environment = $3
			ORDER BY created_at DESC, sha LIMIT $4)`, repo, artifact, env, keptDBTManifests); err != nil {
		return fmt.Errorf("prune dbt manifests of %s %s in %s: %w", repo, artifact, env, err)
	}
	return nil
}

// DBTManifest returns the manifest kept for a deploy of sha in env,
// uncompressed; ErrNotFound when none is kept.
func DBTManifest(ctx context.Context, q Querier, repo, artifact, env, sha string) ([]byte, error) {
	var z []byte
	var size int64
	err := q.QueryRowContext(ctx, `SELECT manifest, size FROM dbt_manifests WHERE repository = $1 AND artifact = $2 AND environment = $3 AND sha = $4`,
		repo, artifact, env, sha).Scan(&z, &size)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("dbt manifest of %s %s at %s: %w", repo, artifact, sha, err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(z))
	if err != nil {
		return nil, fmt.Errorf("dbt manifest of %s %s at %s: %w", repo, artifact, sha, err)
	}
	// The row says its size; reading one byte past the bound catches a row
	// that lies about it.
	out := make([]byte, 0, min(size, MaxDBTManifestBytes))
	w := bytes.NewBuffer(out)
	n, err := io.Copy(w, io.LimitReader(zr, MaxDBTManifestBytes+1))
	if err != nil {
		return nil, fmt.Errorf("dbt manifest of %s %s at %s: %w", repo, artifact, sha, err)
	}
	if n > MaxDBTManifestBytes {
		return nil, fmt.Errorf("dbt manifest of %s %s at %s: %w", repo, artifact, sha, ErrTooLarge)
	}
	return w.Bytes(), nil
}
