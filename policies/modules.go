package policies

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
)

// bundleFS holds the default bundle shipped with the binary.
//
//go:embed bundle/*.rego
var bundleFS embed.FS

// source is one Rego file: its name as shown in errors, and its text.
type source struct {
	name string
	text string
}

// defaultSources returns the embedded bundle, named "bundle/<file>".
func defaultSources(withTests bool) ([]source, error) {
	entries, err := fs.ReadDir(bundleFS, "bundle")
	if err != nil {
		return nil, fmt.Errorf("read embedded policy bundle: %w", err)
	}
	var out []source
	for _, e := range entries {
		if !withTests && strings.HasSuffix(e.Name(), "_test.rego") {
			continue
		}
		b, err := bundleFS.ReadFile("bundle/" + e.Name())
		if err != nil {
			return nil, fmt.Errorf("read embedded policy %s: %w", e.Name(), err)
		}
		out = append(out, source{name: "bundle/" + e.Name(), text: string(b)})
	}
	return out, nil
}

// dirSources reads every .rego file under dir (recursively), sorted by path.
func dirSources(dir string, withTests bool) ([]source, error) {
	if dir == "" {
		return nil, nil
	}
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("policy directory: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("policy directory %s is a file; give the directory that holds the .rego files", dir)
	}
	var out []source
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !strings.HasSuffix(path, ".rego") {
			return nil
		}
		if !withTests && strings.HasSuffix(path, "_test.rego") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		out = append(out, source{name: path, text: string(b)})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read policy directory %s: %w", dir, err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out, nil
}

// parseSources parses Rego v1 modules, reporting every problem as file:line.
func parseSources(srcs []source) (map[string]*ast.Module, error) {
	mods := make(map[string]*ast.Module, len(srcs))
	var errs []string
	for _, s := range srcs {
		m, err := ast.ParseModuleWithOpts(s.name, s.text, ast.ParserOptions{RegoVersion: ast.RegoV1})
		if err != nil {
			errs = append(errs, formatRegoError(err, s.name)...)
			continue
		}
		mods[s.name] = m
	}
	if len(errs) > 0 {
		return nil, errors.New(strings.Join(errs, "\n"))
	}
	return mods, nil
}

// compileModules compiles the parsed modules once for the evaluator.
func compileModules(mods map[string]*ast.Module) (*ast.Compiler, error) {
	c := ast.NewCompiler().WithEnablePrintStatements(false)
	c.Compile(mods)
	if c.Failed() {
		return nil, errors.New(strings.Join(formatRegoError(c.Errors, ""), "\n"))
	}
	return c, nil
}

// formatRegoError renders OPA errors as "file:line: message" lines.
func formatRegoError(err error, file string) []string {
	var list ast.Errors
	if !errors.As(err, &list) {
		return []string{fmt.Sprintf("%s: %v", file, err)}
	}
	out := make([]string, 0, len(list))
	for _, e := range list {
		f, line := file, 0
		if e.Location != nil {
			if e.Location.File != "" {
				f = e.Location.File
			}
			line = e.Location.Row
		}
		out = append(out, fmt.Sprintf("%s:%d: %s", f, line, e.Message))
	}
	return out
}

// revision hashes the names and texts of all sources, so a decision can be
// traced to the exact policy that made it.
func revision(srcs []source) string {
	sorted := append([]source(nil), srcs...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].name < sorted[j].name })
	h := sha256.New()
	for _, s := range sorted {
		fmt.Fprintf(h, "%s\x00%d\x00%s", s.name, len(s.text), s.text)
	}
	return hex.EncodeToString(h.Sum(nil))
}
