package checks

import (
	"fmt"
	"io/fs"
	"sort"
	"strings"
)

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func short(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}

func joinNames(names []string) string { return strings.Join(names, ", ") }

// icon is the symbol shown for a stage result.
func icon(result string) string {
	switch result {
	case Pass:
		return "✅"
	case Warn:
		return "⚠️"
	case Info:
		return "ℹ️"
	case Wait:
		return "⏳"
	case Fail:
		return "❌"
	case Error:
		return "⛔"
	}
	return ""
}

// writeList writes up to limit items as a markdown list.
func writeList(b *strings.Builder, items []string, limit int) {
	if len(items) == 0 {
		b.WriteString("(none)\n")
		return
	}
	for i, it := range items {
		if i == limit {
			fmt.Fprintf(b, "- … and %d more\n", len(items)-limit)
			break
		}
		fmt.Fprintf(b, "- `%s`\n", it)
	}
}

// fsRepo adapts an fs.FS to repoconfig.Repo.
type fsRepo struct{ fsys fs.FS }

func (r fsRepo) Files() []string {
	var out []string
	_ = fs.WalkDir(r.fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			out = append(out, p)
		}
		return nil
	})
	sort.Strings(out)
	return out
}

func (r fsRepo) ReadFile(p string) ([]byte, error) { return fs.ReadFile(r.fsys, p) }
