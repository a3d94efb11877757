package driver

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestExtractTarballWritesTheTree(t *testing.T) {
	dir := t.TempDir()
	tb := makeTarball(t,
		tarEntry{Name: "acme-shop-abc/", Type: tar.TypeDir},
		tarEntry{Name: "acme-shop-abc/a/b.txt", Body: "hello"},
		tarEntry{Name: "acme-shop-abc/a/link", Type: tar.TypeSymlink, Link: "b.txt"},
		tarEntry{Name: "acme-shop-abc/fifo", Type: tar.TypeFifo},
	)
	if err := extractTarball(bytes.NewReader(tb), dir, 1<<20, 100); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "a", "link")); err != nil || string(b) != "hello" {
		t.Errorf("a/link reads %q, %v; want hello through the in-tree symlink", b, err)
	}
	if _, err := os.Lstat(filepath.Join(dir, "fifo")); !os.IsNotExist(err) {
		t.Errorf("a FIFO was extracted: %v", err)
	}
}

func TestExtractTarballRefusesEscapes(t *testing.T) {
	cases := map[string]struct {
		entries []tarEntry
		want    string
	}{
		"dot-dot":          {[]tarEntry{{Name: "top/../../evil", Body: "x"}}, `climbs out of the checkout`},
		"absolute":         {[]tarEntry{{Name: "/etc/evil", Body: "x"}}, "absolute"},
		"absolute symlink": {[]tarEntry{{Name: "top/l", Type: tar.TypeSymlink, Link: "/etc/passwd"}}, "absolute path"},
		"symlink out":      {[]tarEntry{{Name: "top/a/l", Type: tar.TypeSymlink, Link: "../../x"}}, "points outside"},
		"write through symlink": {[]tarEntry{
			{Name: "top/l", Type: tar.TypeSymlink, Link: "sub"},
			{Name: "top/sub/", Type: tar.TypeDir},
			{Name: "top/l/f", Body: "x"},
		}, `inside the symlink "l"`},
		"symlink chain out": {[]tarEntry{
			{Name: "top/a", Type: tar.TypeSymlink, Link: "sub/up/.."},
			{Name: "top/sub/up", Type: tar.TypeSymlink, Link: ".."},
		}, "resolves outside"},
		"hard link": {[]tarEntry{{Name: "top/h", Type: tar.TypeLink, Link: "top/x"}}, "hard link"},
		"too big":   {[]tarEntry{{Name: "top/big", Body: strings.Repeat("x", 2048)}}, "larger than 1024 bytes"},
		"too many":  {[]tarEntry{{Name: "top/1", Body: "x"}, {Name: "top/2", Body: "x"}, {Name: "top/3", Body: "x"}, {Name: "top/4", Body: "x"}}, "more than 3 files"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			parent := t.TempDir()
			dir := filepath.Join(parent, "checkout")
			os.Mkdir(dir, 0o755)
			err := extractTarball(bytes.NewReader(makeTarball(t, c.entries...)), dir, 1024, 3)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v; want it to mention %q", err, c.want)
			}
			if _, err := os.Stat(filepath.Join(parent, "evil")); err == nil {
				t.Error("a file was written outside the checkout")
			}
		})
	}
}

func TestExtractTarballRejectsNonGzip(t *testing.T) {
	err := extractTarball(strings.NewReader("<html>rate limited</html>"), t.TempDir(), 1024, 3)
	if err == nil || !strings.Contains(err.Error(), "not a gzip archive") {
		t.Fatalf("err = %v", err)
	}
}
