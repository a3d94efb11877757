package prfacts

import (
	"context"
	"encoding/base64"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"sort"
	"strings"
	"sync"

	"github.com/google/go-github/v66/github"
	"github.com/sourcegraph/conc/pool"
)

// MaxSubtreeBlobs is the most files Subtree fetches one by one through the
// git blobs API. A larger subtree, or a repository whose tree listing
// GitHub truncates, comes from the commit's tarball in one call instead,
// keeping only the subtree's files in memory.
const MaxSubtreeBlobs = 300

// subtreeFetchers bounds the blob requests in flight for one subtree.
const subtreeFetchers = 8

// Subtree is the files under dirs at side and nothing else: dbt reads one
// project folder and its local packages, not the repository. It lists the
// commit's tree (GET /repos/{owner}/{repo}/git/trees/{sha}?recursive=1,
// one call; "truncated" when over GitHub's limits) and fetches each file
// under dirs by its blob SHA (GET .../git/blobs/{file_sha}), cached by
// blob SHA: the base and the head share every file the change leaves
// alone, so the second side costs only the changed files. Dir "." is the
// whole repository.
func (r *Reader) Subtree(ctx context.Context, side Side, dirs []string) (fs.FS, error) {
	sha := r.sha(side)
	under := subtreeFilter(dirs)
	tree, _, err := r.gh.Git.GetTree(ctx, r.owner, r.name, sha, true)
	if err != nil {
		return nil, fmt.Errorf("tree of %s: %w", short(sha), err)
	}
	type blob struct{ path, sha string }
	var want []blob
	for _, e := range tree.Entries {
		if e.GetType() == "blob" && under(e.GetPath()) {
			want = append(want, blob{e.GetPath(), e.GetSHA()})
		}
	}
	if tree.GetTruncated() || len(want) > MaxSubtreeBlobs {
		return r.tarballUnder(ctx, sha, under)
	}
	files := make(map[string]string, len(want))
	var mu sync.Mutex
	p := pool.New().WithErrors().WithContext(ctx).WithMaxGoroutines(subtreeFetchers)
	for _, b := range want {
		p.Go(func(ctx context.Context) error {
			data, err := r.blob(ctx, b.sha)
			if err != nil {
				return fmt.Errorf("%s at %s: %w", b.path, short(sha), err)
			}
			mu.Lock()
			files[b.path] = string(data)
			mu.Unlock()
			return nil
		})
	}
	if err := p.Wait(); err != nil {
		return nil, err
	}
	return MapFS(files), nil
}

// subtreeFilter says whether a repository path is under one of dirs.
func subtreeFilter(dirs []string) func(string) bool {
	var prefixes []string
	for _, d := range dirs {
		d = path.Clean(strings.Trim(d, "/"))
		if d == "." || d == "" {
			return func(string) bool { return true }
		}
		prefixes = append(prefixes, d+"/")
	}
	sort.Strings(prefixes)
	return func(p string) bool {
		for _, pre := range prefixes {
			if strings.HasPrefix(p, pre) {
				return true
			}
		}
		return false
	}
}

// blob reads one file by its git blob SHA; a blob never changes, so it is
// cached for good.
func (r *Reader) blob(ctx context.Context, sha string) ([]byte, error) {
	key := strings.ToLower(r.pr.Repository) + "#blob:" + sha
	if b, ok := r.s.blobs.Get(key); ok && b != nil {
		return b, nil
	}
	req, err := r.gh.NewRequest(http.MethodGet, fmt.Sprintf("repos/%s/%s/git/blobs/%s", r.owner, r.name, sha), nil)
	if err != nil {
		return nil, err
	}
	var b github.Blob
	if _, err := r.gh.Do(ctx, req, &b); err != nil {
		return nil, err
	}
	if b.GetEncoding() != "base64" {
		return nil, fmt.Errorf("blob %s: encoding %q, want base64", sha, b.GetEncoding())
	}
	data, err := base64.StdEncoding.DecodeString(strings.ReplaceAll(b.GetContent(), "\n", ""))
	if err != nil {
		return nil, fmt.Errorf("blob %s: %w", sha, err)
	}
	r.s.blobs.Add(key, data)
	return data, nil
}
