package commands

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseCommentGoodCommands(t *testing.T) {
	tests := []struct {
		line string
		want Command
	}{
		{"/deploy staging", Command{Name: "deploy", Env: "staging"}},
		{"/deploy production web fraud-model", Command{Name: "deploy", Env: "production", Artifacts: []string{"web", "fraud-model"}}},
		{"  /DEPLOY   staging\tweb  ", Command{Name: "deploy", Env: "staging", Artifacts: []string{"web"}}},
		{"/deploy eu_west-2", Command{Name: "deploy", Env: "eu_west-2"}},
		{"/plan production analytics", Command{Name: "plan", Env: "production", Artifacts: []string{"analytics"}}},
		{"/rollback staging", Command{Name: "rollback", Env: "staging"}},
		{"/rollback production web", Command{Name: "rollback", Env: "production", Artifacts: []string{"web"}}},
		{"/approve", Command{Name: "approve"}},
		{"/approve production", Command{Name: "approve", Env: "production"}},
		{"/reject", Command{Name: "reject"}},
		{"/reject production", Command{Name: "reject", Env: "production"}},
		{`/reject production "metrics look off"`, Command{Name: "reject", Env: "production", Reason: "metrics look off"}},
		{`/reject "metrics look off"`, Command{Name: "reject", Reason: "metrics look off"}},
		{`/reject 'drift too high'`, Command{Name: "reject", Reason: "drift too high"}},
		{"/reject staging it's not ready, see #12", Command{Name: "reject", Env: "staging", Reason: "it's not ready, see #12"}},
		{"/cancel", Command{Name: "cancel"}},
		{"/lock production", Command{Name: "lock", Env: "production"}},
		{"/lock production 'release freeze'", Command{Name: "lock", Env: "production", Reason: "release freeze"}},
		{`/lock production "release freeze"`, Command{Name: "lock", Env: "production", Reason: "release freeze"}},
		{"/lock production incident 42 in progress", Command{Name: "lock", Env: "production", Reason: "incident 42 in progress"}},
		{"/unlock production", Command{Name: "unlock", Env: "production"}},
		{"/status", Command{Name: "status"}},
		{"/Status  ", Command{Name: "status"}},
		{"/help", Command{Name: "help"}},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			cmds, errs := ParseComment(tt.line)
			if len(errs) != 0 {
				t.Fatalf("ParseComment(%q) errors: %v", tt.line, errs)
			}
			if len(cmds) != 1 {
				t.Fatalf("ParseComment(%q) = %d commands, want 1", tt.line, len(cmds))
			}
			want := tt.want
			want.Line, want.Raw = 1, strings.TrimSpace(tt.line)
			if !reflect.DeepEqual(cmds[0], want) {
				t.Errorf("ParseComment(%q)\n got %+v\nwant %+v", tt.line, cmds[0], want)
			}
		})
	}
}

func TestParseCommentBadCommands(t *testing.T) {
	tests := []struct {
		line      string
		wantMsg   string // substring of Message
		wantUsage string
	}{
		{"/deploy", "needs an environment, like /deploy staging", "/deploy <env> [artifact ...]"},
		{"/deploy Production", `must be lowercase; write "production"`, "/deploy <env> [artifact ...]"},
		{"/deploy -prod", `"-prod" is not a valid environment name`, "/deploy <env> [artifact ...]"},
		{"/deploy staging Web", `artifact name "Web" must be lowercase`, "/deploy <env> [artifact ...]"},
		{"/deploy staging web_api", `"web_api" is not a valid artifact name`, "/deploy <env> [artifact ...]"},
		{"/deploy staging web web", `artifact "web" is listed twice`, "/deploy <env> [artifact ...]"},
		{"/plan", "needs an environment, like /plan staging", "/plan <env> [artifact ...]"},
		{"/rollback", "needs an environment, like /rollback staging", "/rollback <env> [artifact ...]"},
		{"/rollback staging $web", `"$web" is not a valid artifact name`, "/rollback <env> [artifact ...]"},
		{"/approve production staging", "takes at most one environment", "/approve [env]"},
		{"/approve PROD", `must be lowercase; write "prod"`, "/approve [env]"},
		{`/reject production "metrics look off`, "never closes it", `/reject [env] ["reason"]`},
		{`/reject production "metrics" look off`, `text "look off" follows the quoted reason`, `/reject [env] ["reason"]`},
		{`/reject production ""`, "the quoted reason is empty", `/reject [env] ["reason"]`},
		{"/cancel now", "takes no arguments; write /cancel alone", "/cancel"},
		{"/status production", "takes no arguments; write /status alone", "/status"},
		{"/help deploy", "takes no arguments; write /help alone", "/help"},
		{"/lock", "needs an environment, like /lock production", `/lock <env> ["reason"]`},
		{`/lock "release freeze"`, "needs an environment before the reason", `/lock <env> ["reason"]`},
		{"/lock production 'release freeze", "never closes it", `/lock <env> ["reason"]`},
		{"/unlock", "needs an environment, like /unlock production", "/unlock <env>"},
		{"/unlock production now please", "takes only an environment", "/unlock <env>"},
		{"/deplyo staging", "unknown command /deplyo; did you mean /deploy?", "/deploy <env> [artifact ...]"},
		{"/rolback staging", "did you mean /rollback?", "/rollback <env> [artifact ...]"},
		{"/approv", "did you mean /approve?", "/approve [env]"},
		{"/stats", "did you mean /status?", "/status"},
		{"/lok production", "did you mean /lock?", `/lock <env> ["reason"]`},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			cmds, errs := ParseComment("please:\n" + tt.line)
			if len(cmds) != 0 {
				t.Errorf("ParseComment(%q) commands = %+v, want none", tt.line, cmds)
			}
			if len(errs) != 1 {
				t.Fatalf("ParseComment(%q) = %d errors (%v), want 1", tt.line, len(errs), errs)
			}
			e := errs[0]
			if !strings.Contains(e.Message, tt.wantMsg) {
				t.Errorf("Message = %q, want it to contain %q", e.Message, tt.wantMsg)
			}
			if e.Usage != tt.wantUsage {
				t.Errorf("Usage = %q, want %q", e.Usage, tt.wantUsage)
			}
			if e.Line != 2 || e.Raw != strings.TrimSpace(tt.line) {
				t.Errorf("Line, Raw = %d, %q; want 2, %q", e.Line, e.Raw, strings.TrimSpace(tt.line))
			}
			if !strings.HasPrefix(e.Error(), "line 2: ") || !strings.Contains(e.Error(), "(usage: "+tt.wantUsage+")") {
				t.Errorf("Error() = %q, want line number and usage", e.Error())
			}
		})
	}
}

func TestParseCommentIgnoresNonCommands(t *testing.T) {
	tests := map[string]string{
		"prose":                "LGTM, ship it\nthanks!",
		"paths":                "/usr/bin/env python\n/etc/hosts\n/tmp",
		"not at line start":    "please run /deploy staging",
		"quoted":               "> /deploy production\n  > /lock production",
		"nested quote":         ">> /deploy production",
		"fenced backticks":     "```\n/deploy production\n```",
		"fenced tildes":        "~~~sh\n/deploy production\n~~~",
		"fence with info":      "```console\n$ x\n/rollback staging\n```",
		"longer fence":         "````\n```\n/deploy production\n```\n/lock staging\n````",
		"unterminated fence":   "```\n/deploy production",
		"foreign bot commands": "/hold\n/retest\n/lgtm\n/assign @octocat\n/cc @hubot",
		"far from any command": "/shipit\n/foo bar\n/ok\n/x",
		"punctuation after":    "/deploy, please\n/help?",
		"lone slash":           "/\n/ staging",
		"empty":                "",
	}
	for name, body := range tests {
		t.Run(name, func(t *testing.T) {
			cmds, errs := ParseComment(body)
			if len(cmds) != 0 || len(errs) != 0 {
				t.Errorf("ParseComment(%q) = %+v, %v; want nothing", body, cmds, errs)
			}
		})
	}
}

func TestParseCommentSeveralCommands(t *testing.T) {
	// The blank line after the quote ends it: without it, the next line
	// would be a lazy continuation of the quote (see
	// TestParseCommentReadsOnlyParagraphs).
	body := "Looks good.\r\n\r\n/deploy staging web\r\n```\r\n/deploy production\r\n```\r\n> /cancel\r\n\r\n/plan production\r\n/deplo production\r\n/lock staging \"qa in progress\""
	cmds, errs := ParseComment(body)
	want := []Command{
		{Name: "deploy", Env: "staging", Artifacts: []string{"web"}, Line: 3, Raw: "/deploy staging web"},
		{Name: "plan", Env: "production", Line: 9, Raw: "/plan production"},
		{Name: "lock", Env: "staging", Reason: "qa in progress", Line: 11, Raw: `/lock staging "qa in progress"`},
	}
	if !reflect.DeepEqual(cmds, want) {
		t.Errorf("commands\n got %+v\nwant %+v", cmds, want)
	}
	if len(errs) != 1 || errs[0].Line != 10 || !strings.Contains(errs[0].Message, "did you mean /deploy?") {
		t.Errorf("errors = %v, want one typo error on line 10", errs)
	}
}

func TestParseCommentLimitsCommands(t *testing.T) {
	var lines []string
	for range MaxCommandsPerComment + 2 {
		lines = append(lines, "/status")
	}
	cmds, errs := ParseComment(strings.Join(lines, "\n"))
	if len(cmds) != MaxCommandsPerComment {
		t.Errorf("got %d commands, want %d", len(cmds), MaxCommandsPerComment)
	}
	if len(errs) != 2 {
		t.Fatalf("got %d errors, want 2 (one per extra command): %v", len(errs), errs)
	}
	for i, e := range errs {
		if e.Line != MaxCommandsPerComment+1+i || !strings.Contains(e.Message, "at most 10 commands") {
			t.Errorf("error %d = %v, want the limit on line %d", i, e, MaxCommandsPerComment+1+i)
		}
	}
}

func TestLevenshtein(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"deploy", "deploy", 0}, {"deplyo", "deploy", 2}, {"", "help", 4},
		{"lok", "lock", 1}, {"kitten", "sitting", 3},
	}
	for _, tt := range tests {
		if got := levenshtein(tt.a, tt.b); got != tt.want {
			t.Errorf("levenshtein(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}
