package driver

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/google/go-github/v66/github"
)

// Limits on a downloaded repository archive. A checkout beyond them is
// refused rather than filling the server's disk.
const (
	maxCheckoutBytes = 1 << 30 // total uncompressed size
	maxCheckoutFiles = 200_000
)

// fetchCheckout downloads the tarball of sha of repo ("owner/name") through
// GitHub and extracts it into a new directory under workDir. The caller
// removes the returned directory.
func fetchCheckout(ctx context.Context, gh *github.Client, hc *http.Client, repo, sha, workDir string) (string, error) {
	owner, name, ok := strings.Cut(repo, "/")
	if !ok || owner == "" || name == "" {
		return "", fmt.Errorf("repository %q is not owner/name", repo)
	}
	if sha == "" {
		return "", errors.New("no commit SHA to check out")
	}
	link, _, err := gh.Repositories.GetArchiveLink(ctx, owner, name, github.Tarball, &github.RepositoryContentGetOptions{Ref: sha}, 3)
	if err != nil {
		return "", fmt.Errorf("ask GitHub for the tarball of %s at %s: %w", repo, shortSHA(sha), err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, link.String(), nil)
	if err != nil {
		return "", fmt.Errorf("tarball link of %s: %w", repo, err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		// The link carries a short-lived token in its query; keep it out of errors.
		return "", fmt.Errorf("download the tarball of %s at %s: %w", repo, shortSHA(sha), unwrapURLError(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("download the tarball of %s at %s: GitHub answered %s", repo, shortSHA(sha), resp.Status)
	}
	dir, err := os.MkdirTemp(workDir, "checkout-")
	if err != nil {
		return "", fmt.Errorf("create a checkout directory under %s: %w", workDir, err)
	}
	if err := extractTarball(resp.Body, dir, maxCheckoutBytes, maxCheckoutFiles); err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("extract the tarball of %s at %s: %w", repo, shortSHA(sha), err)
	}
	return dir, nil
}

// extractTarball writes a gzipped tarball into dir, dropping the archive's
// top-level folder (GitHub's "owner-repo-sha/"). It refuses entries that
// would land outside dir, symlinks pointing outside dir, hard links, and
// archives over maxBytes or maxFiles; device files and FIFOs are skipped.
func extractTarball(r io.Reader, dir string, maxBytes int64, maxFiles int) error {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return fmt.Errorf("not a gzip archive: %w", err)
	}
	defer zr.Close()
	tr := tar.NewReader(zr)
	var total int64
	files := 0
	var links []string
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return checkLinksResolveInside(dir, links)
		}
		if err != nil {
			return fmt.Errorf("read archive: %w", err)
		}
		if h.Typeflag == tar.TypeXGlobalHeader || h.Typeflag == tar.TypeXHeader {
			continue
		}
		rel, err := entryPath(h.Name)
		if err != nil {
			return err
		}
		if rel == "" {
			continue // the top-level folder itself
		}
		if files++; files > maxFiles {
			return fmt.Errorf("archive holds more than %d files", maxFiles)
		}
		dst := filepath.Join(dir, filepath.FromSlash(rel))
		if err := noSymlinkParents(dir, rel); err != nil {
			return err
		}
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(dst, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if total += h.Size; total > maxBytes {
				return fmt.Errorf("archive is larger than %d bytes uncompressed", maxBytes)
			}
			if err := writeFile(dst, tr, h); err != nil {
				return err
			}
		case tar.TypeSymlink:
			if err := checkLink(rel, h.Linkname); err != nil {
				return err
			}
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				return err
			}
			if err := os.Symlink(h.Linkname, dst); err != nil {
				return err
			}
			links = append(links, dst)
		case tar.TypeLink:
			return fmt.Errorf("entry %q is a hard link; repository archives must not contain hard links", h.Name)
		default:
			// Devices, FIFOs and the like have no place in a checkout.
		}
	}
}

// entryPath turns an archive name into a path relative to the checkout,
// without the top-level folder, or refuses it.
func entryPath(name string) (string, error) {
	if strings.HasPrefix(name, "/") || strings.Contains(name, "\\") {
		return "", fmt.Errorf("entry %q has an absolute or Windows path; refusing the archive", name)
	}
	for _, part := range strings.Split(name, "/") {
		if part == ".." {
			return "", fmt.Errorf("entry %q climbs out of the checkout with \"..\"; refusing the archive", name)
		}
	}
	_, rest, _ := strings.Cut(strings.TrimPrefix(path.Clean(name), "./"), "/")
	return rest, nil
}

// checkLink refuses a symlink at rel whose target leaves the checkout.
func checkLink(rel, target string) error {
	if path.IsAbs(target) {
		return fmt.Errorf("symlink %q points at the absolute path %q; refusing the archive", rel, target)
	}
	resolved := path.Join(path.Dir(rel), target)
	if resolved == ".." || strings.HasPrefix(resolved, "../") {
		return fmt.Errorf("symlink %q points outside the checkout (%q); refusing the archive", rel, target)
	}
	return nil
}

// noSymlinkParents refuses an entry whose parent folders include a symlink,
// since writing through it could land outside the checkout.
func noSymlinkParents(dir, rel string) error {
	parts := strings.Split(rel, "/")
	cur := dir
	for _, part := range parts[:len(parts)-1] {
		cur = filepath.Join(cur, part)
		fi, err := os.Lstat(cur)
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		if fi.Mode()&os.ModeSymlink != 0 {
			return fmt.Errorf("entry %q is inside the symlink %q; refusing the archive", rel, strings.TrimPrefix(cur, dir+string(filepath.Separator)))
		}
	}
	return nil
}

// checkLinksResolveInside follows every extracted symlink once all entries
// exist (a link may point through another) and refuses any that resolves
// outside dir.
func checkLinksResolveInside(dir string, links []string) error {
	root, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return err
	}
	for _, l := range links {
		got, err := filepath.EvalSymlinks(l)
		if err != nil {
			continue // dangling: its target was checked lexically
		}
		if r, err := filepath.Rel(root, got); err != nil || r == ".." || strings.HasPrefix(r, ".."+string(filepath.Separator)) {
			return fmt.Errorf("symlink %q resolves outside the checkout; refusing the archive", strings.TrimPrefix(l, dir+string(filepath.Separator)))
		}
	}
	return nil
}

func writeFile(dst string, r io.Reader, h *tar.Header) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	// O_EXCL: never write through a symlink planted by an earlier entry.
	f, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, os.FileMode(h.Mode&0o755)|0o600)
	if err != nil {
		return fmt.Errorf("write %s: %w", h.Name, err)
	}
	if _, err := io.CopyN(f, r, h.Size); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", h.Name, err)
	}
	return f.Close()
}

func shortSHA(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}
