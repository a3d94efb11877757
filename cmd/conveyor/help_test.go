package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/conveyor-dev/conveyor/internal/docgolden"
)

// walk calls fn for cmd and every subcommand that a user can run.
func walk(cmd *cobra.Command, fn func(*cobra.Command)) {
	fn(cmd)
	for _, c := range cmd.Commands() {
		if c.Name() == "help" || c.Name() == "completion" {
			continue
		}
		walk(c, fn)
	}
}

// TestHelpPrintsBooleanFlagsPlainly: help shows `--keep`, not
// `--keep[=true|false]`, for every command.
func TestHelpPrintsBooleanFlagsPlainly(t *testing.T) {
	walk(newRoot(), func(c *cobra.Command) {
		var out bytes.Buffer
		c.SetOut(&out)
		c.SetErr(&out)
		if err := c.Help(); err != nil {
			t.Fatalf("%s: %v", c.CommandPath(), err)
		}
		if strings.Contains(out.String(), "[=true|false]") {
			t.Errorf("%s --help prints a bool flag with [=true|false]:\n%s", c.CommandPath(), out.String())
		}
		if !strings.Contains(out.String(), "-h, --help") {
			t.Errorf("%s --help lists no -h, --help:\n%s", c.CommandPath(), out.String())
		}
	})
	var out bytes.Buffer
	root := newRoot()
	demo, _, _ := root.Find([]string{"demo"})
	demo.SetOut(&out)
	demo.Help()
	if !strings.Contains(out.String(), "      --keep ") {
		t.Errorf("demo --help does not list --keep plainly:\n%s", out.String())
	}
}

// TestBooleanFlagsStillParse: the plain form sets, =false clears.
func TestBooleanFlagsStillParse(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want bool
	}{{nil, false}, {[]string{"--keep"}, true}, {[]string{"--keep=false"}, false}, {[]string{"--keep=true"}, true}} {
		root := newRoot()
		demo, _, _ := root.Find([]string{"demo"})
		if err := demo.ParseFlags(tc.args); err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
		got, err := demo.Flags().GetBool("keep")
		if err != nil || got != tc.want {
			t.Errorf("demo %v: keep = %v (%v), want %v", tc.args, got, err, tc.want)
		}
	}
	root := newRoot()
	demo, _, _ := root.Find([]string{"demo"})
	if err := demo.ParseFlags([]string{"--keep=maybe"}); err == nil {
		t.Error("--keep=maybe parsed without error")
	}
}

// TestEveryCommandHasAnExample: each runnable command's help shows one.
func TestEveryCommandHasAnExample(t *testing.T) {
	walk(newRoot(), func(c *cobra.Command) {
		if c.Parent() == nil {
			return
		}
		if c.Example == "" {
			t.Errorf("%s has no example (add it to usageExamples in help.go)", c.CommandPath())
		}
	})
	for path := range usageExamples {
		root := newRoot()
		if c, _, err := root.Find(strings.Fields(path)[1:]); err != nil || c.CommandPath() != path {
			t.Errorf("usageExamples names %q, which is not a command", path)
		}
	}
}

// TestReadmeListsServeFlags: the README's flag list of serve is what the
// binary's help prints.
func TestReadmeListsServeFlags(t *testing.T) {
	serve, _, err := newRoot().Find([]string{"serve"})
	if err != nil {
		t.Fatal(err)
	}
	docgolden.Check(t, filepath.Join(docgolden.Root(), "README.md"), "serve-flags", "text", serve.LocalFlags().FlagUsages())
}
