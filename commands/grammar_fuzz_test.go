package commands

import (
	"strings"
	"testing"
)

func FuzzParseComment(f *testing.F) {
	f.Add("/deploy staging web")
	f.Add("```\n/deploy production\n```\n/lock production 'freeze'")
	f.Fuzz(func(t *testing.T, body string) {
		cmds, errs := ParseComment(body)
		if len(cmds) > MaxCommandsPerComment {
			t.Fatalf("%d commands, more than the limit", len(cmds))
		}
		lines := strings.Count(body, "\n") + 1
		for _, c := range cmds {
			if c.Line < 1 || c.Line > lines {
				t.Fatalf("command %+v has line %d outside 1..%d", c, c.Line, lines)
			}
			if _, ok := lookup(c.Name); !ok || c.Name != strings.ToLower(c.Name) {
				t.Fatalf("command has unknown name %q", c.Name)
			}
			for _, a := range c.Artifacts {
				if !validName(a, false) {
					t.Fatalf("artifact %q is not a valid name", a)
				}
			}
			if c.Env != "" && !validName(c.Env, true) {
				t.Fatalf("env %q is not a valid name", c.Env)
			}
		}
		for _, e := range errs {
			if e.Line < 1 || e.Line > lines || e.Message == "" {
				t.Fatalf("bad error %+v", e)
			}
		}
	})
}
