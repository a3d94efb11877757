package commands

import (
	"strings"
	"testing"
)

func FuzzParseComment(f *testing.F) {
	f.Add("/deploy staging web")
	f.Add("```\n/deploy production\n```\n/lock production 'freeze'")
	f.Add("    /deploy staging\n\nPlease:\n    /deploy staging")
	f.Add("<!-- /status -->\n<!--\n/deploy production\n-->")
	f.Add("note <!--\n/status\n--> done\n`x\n/deploy staging` y")
	f.Add("> quoted\n/deploy production\n\n- /deploy staging\n# /help")
	f.Add("<div>\n/deploy staging\n</div>\n\n<details>\n\n/plan staging\n\n</details>")
	f.Add("/deploy staging" + strings.Repeat(" n1", 40) + "\n/lock prod " + strings.Repeat("x", 600))
	f.Add(strings.Repeat("/deplo staging\n", 30))
	f.Fuzz(func(t *testing.T, body string) {
		cmds, errs := ParseComment(body)
		if len(cmds) > MaxCommandsPerComment {
			t.Fatalf("%d commands, more than the limit", len(cmds))
		}
		if len(cmds)+len(errs) > MaxCommandLines+1 {
			t.Fatalf("%d commands and %d errors, more than %d lines are read", len(cmds), len(errs), MaxCommandLines)
		}
		lines := strings.Split(body, "\n")
		for _, c := range cmds {
			if c.Line < 1 || c.Line > len(lines) {
				t.Fatalf("command %+v has line %d outside 1..%d", c, c.Line, len(lines))
			}
			if got := strings.TrimSpace(strings.TrimSuffix(lines[c.Line-1], "\r")); got != c.Raw || !strings.HasPrefix(got, "/") {
				t.Fatalf("command %+v: Raw is not its line %q", c, got)
			}
			if _, ok := lookup(c.Name); !ok || c.Name != strings.ToLower(c.Name) {
				t.Fatalf("command has unknown name %q", c.Name)
			}
			if len(c.Artifacts) > MaxArguments || len(c.Reason) > MaxReasonBytes {
				t.Fatalf("command %+v is over the argument bounds", c)
			}
			for _, a := range c.Artifacts {
				if !validName(a, false) || len(a) > MaxNameBytes {
					t.Fatalf("artifact %q is not a valid name", a)
				}
			}
			if c.Env != "" && (!validName(c.Env, true) || len(c.Env) > MaxNameBytes) {
				t.Fatalf("env %q is not a valid name", c.Env)
			}
		}
		for _, e := range errs {
			if e.Line < 1 || e.Line > len(lines) || e.Message == "" {
				t.Fatalf("bad error %+v", e)
			}
			if len(e.Raw) > ExcerptBytes+len("…") || len(e.Message) > 400 {
				t.Fatalf("error %+v quotes more than an excerpt", e)
			}
		}
	})
}
