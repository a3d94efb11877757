package commands

import (
	"fmt"
	"strings"
	"testing"
)

// TestParseCommentReadsOnlyParagraphs: a command runs only from a line GitHub
// renders as a line of a top-level paragraph (CommonMark 0.31.2).
func TestParseCommentReadsOnlyParagraphs(t *testing.T) {
	ignored := map[string]string{
		"indented code block":          "    /deploy staging",
		"indented code after a blank":  "Run this:\n\n    /deploy staging",
		"tab-indented code block":      "\t/deploy staging",
		"html comment":                 "<!-- /status -->",
		"html comment over lines":      "<!--\n/deploy staging\n-->",
		"html comment in a paragraph":  "note <!--\n/deploy staging\n--> done",
		"html block":                   "<div>\n/deploy staging\n</div>",
		"code span over lines":         "see `x\n/deploy staging` here",
		"lazy quote continuation":      "> quoted\n/deploy production",
		"quote in a list":              "- > /deploy production",
		"list item":                    "- /deploy staging",
		"ordered list item":            "1. /deploy staging",
		"atx heading":                  "# /deploy staging",
		"setext heading":               "/deploy staging\n---",
		"link text over lines":         "[a\n/deploy staging](https://example.com)",
		"emphasis over lines":          "*a\n/deploy staging*",
		"escaped slash":                "\\/deploy staging",
		"fence interrupting paragraph": "Please:\n```\n/deploy staging\n```",
	}
	for name, body := range ignored {
		t.Run(name, func(t *testing.T) {
			cmds, errs := ParseComment(body)
			if len(cmds) != 0 || len(errs) != 0 {
				t.Errorf("ParseComment(%q) = %+v, %v; want nothing", body, cmds, errs)
			}
		})
	}
	read := map[string]struct {
		body string
		line int
	}{
		"three spaces are not code":       {"   /deploy staging", 1},
		"indent cannot interrupt a para":  {"Please:\n    /deploy staging", 2},
		"after a hard line break":         {"Please:\\\n/deploy staging", 2},
		"after trailing spaces":           {"Please:  \n/deploy staging", 2},
		"after a closed quote":            {"> quoted\n\n/deploy staging", 3},
		"after a closed html comment":     {"<!-- note -->\n\n/deploy staging", 3},
		"after a code span on the line":   {"`x` is ready\n/deploy staging", 2},
		"paragraph inside details":        {"<details>\n\n/deploy staging\n\n</details>", 3},
		"after a closed fence":            {"```\nx\n```\n/deploy staging", 4},
		"after a one-line inline comment": {"a <!-- b --> c\n/deploy staging", 2},
		"crlf line ends":                  {"hi\r\n/deploy staging\r\n", 2},
	}
	for name, tc := range read {
		t.Run(name, func(t *testing.T) {
			cmds, errs := ParseComment(tc.body)
			if len(errs) != 0 || len(cmds) != 1 || cmds[0].Line != tc.line || cmds[0].Env != "staging" || cmds[0].Raw != "/deploy staging" {
				t.Errorf("ParseComment(%q) = %+v, %v; want /deploy staging on line %d", tc.body, cmds, errs, tc.line)
			}
		})
	}
}

func TestParseCommentReadsOnlyTheFirst64KiB(t *testing.T) {
	pad := strings.Repeat("filler text\n", MaxBodyBytes/12)
	cmds, _ := ParseComment("/status\n" + pad + "/help\n")
	if len(cmds) != 1 || cmds[0].Name != "status" {
		t.Fatalf("commands = %+v, want only /status (the /help is past %d bytes)", cmds, MaxBodyBytes)
	}
	// A line cut by the limit is not read either: it might be a longer
	// command than the one written.
	body := strings.Repeat("x", MaxBodyBytes-10) + "\n/deploy staging web\n"
	if cmds, errs := ParseComment(body); len(cmds) != 0 || len(errs) != 0 {
		t.Fatalf("a command crossing the limit was read: %+v %v", cmds, errs)
	}
}

func TestParseCommentBoundsArguments(t *testing.T) {
	var names []string
	for i := range 10000 {
		names = append(names, fmt.Sprintf("n%d", i))
	}
	line := "/deploy staging " + strings.Join(names, " ") // under 64 KiB, as GitHub allows
	cmds, errs := ParseComment(line)
	if len(cmds) != 0 || len(errs) != 1 {
		t.Fatalf("got %d commands, %d errors; want one error", len(cmds), len(errs))
	}
	e := errs[0]
	if !strings.Contains(e.Message, "at most 20 artifacts") {
		t.Errorf("message = %q", e.Message)
	}
	if len(e.Raw) > ExcerptBytes+len("…") || !strings.HasSuffix(e.Raw, "…") || !strings.HasPrefix(e.Raw, "/deploy staging n0 n1 ") {
		t.Errorf("Raw = %q (%d bytes), want a short excerpt ending in …", e.Raw, len(e.Raw))
	}
	if n := len(renderParseErrors(errs)); n > 1024 {
		t.Errorf("the reply is %d bytes, want it bounded", n)
	}

	for _, tc := range []struct{ line, want string }{
		{"/deploy " + strings.Repeat("a", MaxNameBytes+1), "an environment name is at most 100 bytes"},
		{"/deploy staging " + strings.Repeat("a", MaxNameBytes+1), "an artifact name is at most 100 bytes"},
		{"/lock production " + strings.Repeat("why ", MaxReasonBytes), "keep it under 500"},
		{"/reject " + strings.Repeat("no ", MaxReasonBytes), "keep it under 500"},
	} {
		_, errs := ParseComment(tc.line)
		if len(errs) != 1 || !strings.Contains(errs[0].Message, tc.want) || len(errs[0].Error()) > 400 {
			t.Errorf("ParseComment(%.40q...) errors = %v, want one short error with %q", tc.line, errs, tc.want)
		}
	}
}

func TestParseCommentBoundsCommandLines(t *testing.T) {
	body := strings.Repeat("/deplo staging\n", 5000)
	cmds, errs := ParseComment(body)
	if len(cmds) != 0 || len(errs) != MaxCommandLines+1 {
		t.Fatalf("got %d commands, %d errors; want %d errors", len(cmds), len(errs), MaxCommandLines+1)
	}
	last := errs[len(errs)-1]
	if last.Line != MaxCommandLines+1 || !strings.Contains(last.Message, "at most 20 command lines") {
		t.Fatalf("last error = %v, want the line limit on line %d", last, MaxCommandLines+1)
	}
}

func TestExcerpt(t *testing.T) {
	tests := []struct {
		s    string
		max  int
		want string
	}{
		{"short", 10, "short"},
		{"exactly ten", 11, "exactly ten"},
		{"deploy staging web api", 16, "deploy staging…"},
		{"averyveryverylongword and more", 8, "averyver…"},
		{"café crème brûlée", 4, "caf…"}, {"café crème brûlée", 5, "café…"},
	}
	for _, tt := range tests {
		if got := Excerpt(tt.s, tt.max); got != tt.want {
			t.Errorf("Excerpt(%q, %d) = %q, want %q", tt.s, tt.max, got, tt.want)
		}
	}
}
