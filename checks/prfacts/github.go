package prfacts

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"path"
	"sort"
	"strings"
	"testing/fstest"

	"github.com/google/go-github/v66/github"

	"github.com/conveyor-dev/conveyor/checks/kind"
)

// MaxPRFiles is where GitHub stops listing a pull request's files
// ("Responses include a maximum of 3000 files", REST reference for
// GET /repos/{owner}/{repo}/pulls/{pull_number}/files).
const MaxPRFiles = 3000

// MaxCompareFiles is where the compare API stops listing files ("includes up
// to 300 changed files for the entire comparison", REST reference for
// GET /repos/{owner}/{repo}/compare/{basehead}): a list that reaches it may
// be cut, one below it is complete.
const MaxCompareFiles = 300

// ChangedFiles lists the paths the change adds, modifies, deletes or renames
// (both names of a rename), cached by base and head SHA.
//
// There is one listing path, and it uses a list only where GitHub says it is
// complete: a comparison this reader already holds (a production command
// asks for one to see how far behind the branch is) when it lists fewer than
// 300 files; else the pull request's own list, for its current head and
// below 3,000 files; else the trees of the merge base and the head, compared
// in full.
func (r *Reader) ChangedFiles(ctx context.Context) ([]string, error) {
	r.filesOnce.Do(func() {
		key := r.rangeKey()
		if f, ok := r.s.files.Get(key); ok && r.cacheable() {
			r.files = f
			return
		}
		r.files, r.filesErr = r.listFiles(ctx)
		if r.filesErr == nil && r.cacheable() {
			r.s.files.Add(key, r.files)
		}
	})
	return r.files, r.filesErr
}

func (r *Reader) listFiles(ctx context.Context) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	add := func(f interface {
		GetFilename() string
		GetPreviousFilename() string
	}) {
		for _, p := range []string{f.GetFilename(), f.GetPreviousFilename()} {
			if p != "" && !seen[p] {
				seen[p] = true
				out = append(out, p)
			}
		}
	}
	if cmp := r.compared(); cmp != nil && len(cmp.Files) < MaxCompareFiles {
		for _, f := range cmp.Files {
			add(f)
		}
		return out, nil
	}
	if r.pr.Number > 0 && r.pr.Current {
		n := 0
		opt := &github.ListOptions{PerPage: 100}
		for {
			page, resp, err := r.gh.PullRequests.ListFiles(ctx, r.owner, r.name, r.pr.Number, opt)
			if err != nil {
				return nil, fmt.Errorf("list files of #%d: %w", r.pr.Number, err)
			}
			for _, f := range page {
				add(f)
			}
			n += len(page)
			if resp.NextPage == 0 {
				break
			}
			opt.Page = resp.NextPage
		}
		if n < MaxPRFiles {
			return out, nil
		}
	}
	cmp, err := r.compare(ctx)
	if err != nil {
		return nil, err
	}
	mb := cmp.GetMergeBaseCommit().GetSHA()
	if mb == "" {
		return nil, fmt.Errorf("compare %s...%s: no merge base", short(r.sha(Base)), short(r.pr.HeadSHA))
	}
	from, err := r.treeAt(ctx, mb)
	if err != nil {
		return nil, err
	}
	to, err := r.Tree(ctx, Head)
	if err != nil {
		return nil, err
	}
	return diffTrees(from, to)
}

// diffTrees lists the paths whose content differs between two trees, sorted.
func diffTrees(from, to fs.FS) ([]string, error) {
	read := func(fsys fs.FS) (map[string][]byte, error) {
		out := map[string][]byte{}
		err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := fs.ReadFile(fsys, p)
			out[p] = b
			return err
		})
		return out, err
	}
	a, err := read(from)
	if err != nil {
		return nil, err
	}
	b, err := read(to)
	if err != nil {
		return nil, err
	}
	var out []string
	for p, c := range b {
		if old, ok := a[p]; !ok || !bytes.Equal(old, c) {
			out = append(out, p)
		}
	}
	for p := range a {
		if _, ok := b[p]; !ok {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out, nil
}

// ReadFile reads one file at side, cached by SHA; a missing file is
// fs.ErrNotExist.
func (r *Reader) ReadFile(ctx context.Context, side Side, p string) ([]byte, error) {
	sha := r.sha(side)
	key := r.pr.Repository + "@" + sha + ":" + p
	cache := side == Head || r.cacheable()
	if b, ok := r.s.blobs.Get(key); ok && cache {
		if b == nil {
			return nil, fmt.Errorf("%s at %s: %w", p, short(sha), fs.ErrNotExist)
		}
		return b, nil
	}
	fc, _, resp, err := r.gh.Repositories.GetContents(ctx, r.owner, r.name, p, &github.RepositoryContentGetOptions{Ref: sha})
	if resp != nil && resp.StatusCode == http.StatusNotFound {
		if cache {
			r.s.blobs.Add(key, nil)
		}
		return nil, fmt.Errorf("%s at %s: %w", p, short(sha), fs.ErrNotExist)
	}
	if tooLarge(err) {
		return nil, fmt.Errorf("read %s at %s: %w", p, short(sha), &kind.TooLargeError{Path: p, Size: r.sizeOf(ctx, sha, p)})
	}
	if err != nil {
		return nil, fmt.Errorf("read %s at %s: %w", p, short(sha), err)
	}
	if fc == nil {
		return nil, fmt.Errorf("%s at %s is a directory, not a file", p, short(sha))
	}
	if int64(fc.GetSize()) > kind.MaxFileBytes {
		return nil, fmt.Errorf("read %s at %s: %w", p, short(sha), &kind.TooLargeError{Path: p, Size: int64(fc.GetSize())})
	}
	s, err := fc.GetContent()
	if err != nil {
		return nil, fmt.Errorf("read %s at %s: %w", p, short(sha), err)
	}
	b := []byte(s)
	if cache {
		r.s.blobs.Add(key, b)
	}
	return b, nil
}

func isNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }

// sizeOf asks the listing of p's folder for p's size, so a file the contents
// API refuses can be reported with its size; 0 when that fails too.
func (r *Reader) sizeOf(ctx context.Context, sha, p string) int64 {
	dir := path.Dir(p)
	if dir == "." {
		dir = ""
	}
	_, entries, _, err := r.gh.Repositories.GetContents(ctx, r.owner, r.name, dir, &github.RepositoryContentGetOptions{Ref: sha})
	if err != nil {
		return 0
	}
	for _, e := range entries {
		if e.GetPath() == p {
			return int64(e.GetSize())
		}
	}
	return 0
}

// tooLarge recognises GitHub's answer for a file the contents API will not
// serve: 403 with a too_large error on the Blob.
func tooLarge(err error) bool {
	var ge *github.ErrorResponse
	if !errors.As(err, &ge) || ge.Response == nil || ge.Response.StatusCode != http.StatusForbidden {
		return false
	}
	for _, e := range ge.Errors {
		if e.Code == "too_large" {
			return true
		}
	}
	return false
}

// Tree is the whole repository at side (one tarball download, cached by SHA).
func (r *Reader) Tree(ctx context.Context, side Side) (fs.FS, error) {
	r.treeOnce[side].Do(func() {
		r.tree[side], r.treeErr[side] = r.treeAt(ctx, r.sha(side))
	})
	return r.tree[side], r.treeErr[side]
}

func (r *Reader) treeAt(ctx context.Context, sha string) (fs.FS, error) {
	key := r.pr.Repository + "@" + sha
	if t, ok := r.s.trees.Get(key); ok {
		return t, nil
	}
	t, err := r.tarballUnder(ctx, sha, func(string) bool { return true })
	if err != nil {
		return nil, err
	}
	r.s.trees.Add(key, t)
	return t, nil
}

// tarballUnder downloads the repository at sha (one call; GitHub redirects
// to codeload, which the HTTP client follows) and keeps in memory the files
// keep accepts.
func (r *Reader) tarballUnder(ctx context.Context, sha string, keep func(string) bool) (fs.FS, error) {
	req, err := r.gh.NewRequest(http.MethodGet, fmt.Sprintf("repos/%s/%s/tarball/%s", r.owner, r.name, sha), nil)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if _, err := r.gh.Do(ctx, req, &buf); err != nil {
		return nil, fmt.Errorf("tarball of %s: %w", short(sha), err)
	}
	zr, err := gzip.NewReader(&buf)
	if err != nil {
		return nil, fmt.Errorf("tarball of %s: %w", short(sha), err)
	}
	files := map[string]string{}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("tarball of %s: %w", short(sha), err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		// Entries sit under one top folder, owner-repo-sha/.
		_, rel, ok := strings.Cut(h.Name, "/")
		if !ok || rel == "" || !keep(rel) {
			continue
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			return nil, fmt.Errorf("tarball of %s: %s: %w", short(sha), rel, err)
		}
		files[rel] = string(b)
	}
	return MapFS(files), nil
}

// MapFS turns path -> content into a read-only fs.FS safe for concurrent
// reads.
func MapFS(files map[string]string) fs.FS {
	out := make(fstest.MapFS, len(files))
	for p, c := range files {
		out[p] = &fstest.MapFile{Data: []byte(c), Mode: 0o644}
	}
	return out
}
