package secretmask

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"testing"
)

func TestKnownValuesAndTheirSpellingsAreMasked(t *testing.T) {
	m := New("s3cr3t-deploy-token", "abc", "line-one-of-key\nline-two-of-key", `quo"te-pass`)
	cases := map[string]string{
		"+ curl -H 'X-Token: s3cr3t-deploy-token' https://x": "+ curl -H 'X-Token: ***' https://x",
		"token=s3cr3t-deploy-token&x=1":                      "token=***&x=1",
		"b64: czNjcjN0LWRlcGxveS10b2tlbg==":                  "b64: ***",
		"abc is too short to mask":                           "abc is too short to mask",
		"line-two-of-key":                                    "***",
		`{"p":"quo\"te-pass"}`:                               `{"p":"***"}`,
	}
	for in, want := range cases {
		if got := m.String(in); got != want {
			t.Errorf("String(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTokenShapesAreMaskedWithoutBeingKnown(t *testing.T) {
	var m *Masker // nil: shapes only
	gh := "ghp_" + strings.Repeat("a1B2", 9)
	ghs := "ghs_" + strings.Repeat("Z9y8", 9)
	pat := "github_pat_11ABCDEFG0" + strings.Repeat("x", 60)
	cases := map[string]string{
		"export GITHUB_TOKEN=" + gh:                                            "export GITHUB_TOKEN=***",
		"installation token " + ghs + " minted":                                "installation token *** minted",
		"PAT " + pat:                                                           "PAT ***",
		"SLACK=xoxb-1234567890-0987654321-AbCdEfGh":                            "SLACK=***",
		"key AKIAIOSFODNN7EXAMPLE in use":                                      "key *** in use",
		"aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY":     "aws_secret_access_key = ***",
		"Authorization: Bearer eyJhbGciOi.payload.sig":                         "Authorization: Bearer ***",
		"postgres://app:hunter22@db:5432/x":                                    "postgres://app:***@db:5432/x",
		"postgres://db/x?user=app&password=hunter22&sslmode=require":           "postgres://db/x?user=app&password=***&sslmode=require",
		"ghp_short is not a token":                                             "ghp_short is not a token",
		"an unlabelled 40-char thing wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY": "an unlabelled 40-char thing wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
	}
	for in, want := range cases {
		if got := m.String(in); got != want {
			t.Errorf("String(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestErrorKeepsTheChain(t *testing.T) {
	m := New("hunter2-pass")
	err := m.Error(fmt.Errorf("login with hunter2-pass: %w", fs.ErrPermission))
	if err.Error() != "login with ***: permission denied" || !errors.Is(err, fs.ErrPermission) {
		t.Errorf("Error = %q (Is ErrPermission: %v)", err, errors.Is(err, fs.ErrPermission))
	}
	if m.Error(nil) != nil {
		t.Error("Error(nil) is not nil")
	}
}

// collect runs chunks through a Stream and returns the emitted text.
func collect(m *Masker, maxLine int, chunks ...string) (string, []string) {
	var lines []string
	var all strings.Builder
	s := NewStream(m, maxLine, func(line string, complete bool) {
		lines = append(lines, line)
		all.WriteString(line)
		if complete {
			all.WriteString("\n")
		}
	})
	for _, c := range chunks {
		s.Write([]byte(c))
	}
	s.Flush()
	return all.String(), lines
}

func TestStreamCatchesASecretSplitBetweenChunks(t *testing.T) {
	secret := "tok-" + strings.Repeat("q", 30)
	m := New(secret)
	for i := 1; i < len(secret); i++ {
		out, _ := collect(m, 1024, "+ deploy --token "+secret[:i], secret[i:]+" done\nnext\n")
		if strings.Contains(out, secret[:len(secret)/2]) || !strings.Contains(out, "--token *** done\nnext\n") {
			t.Fatalf("split at %d: output %q", i, out)
		}
	}
	// A token shape nobody registered, split the same way.
	gh := "ghs_" + strings.Repeat("k", 36)
	out, _ := collect(nil, 1024, "tok="+gh[:10], gh[10:]+"\n")
	if out != "tok=***\n" {
		t.Errorf("split token shape: %q", out)
	}
}

// A line longer than the limit is handed out in pieces, but never cut
// inside a secret, wherever the secret sits relative to the cut.
func TestStreamNeverCutsALongLineInsideASecret(t *testing.T) {
	secret := "s3cr3t-" + strings.Repeat("v", 40)
	m := New(secret)
	const maxLine = 64
	for pad := 0; pad < 3*maxLine; pad += 7 {
		line := strings.Repeat("x", pad) + secret + strings.Repeat("y", 500) + "aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" + strings.Repeat("z", 400)
		// Fed a byte at a time, the worst case for chunk boundaries.
		chunks := make([]string, len(line))
		for i := range line {
			chunks[i] = line[i : i+1]
		}
		out, pieces := collect(m, maxLine, chunks...)
		if len(pieces) < 2 {
			t.Fatalf("pad %d: a %d-byte line was not split: %d pieces", pad, len(line), len(pieces))
		}
		for _, leak := range []string{"s3cr3t", "vvvvvvvvvv", "wJalrXUtnFEMI", "EXAMPLEKEY"} {
			if strings.Contains(out, leak) {
				t.Fatalf("pad %d: %q leaked in %q", pad, leak, pieces)
			}
		}
		if strings.Count(out, Mask) != 2 {
			t.Fatalf("pad %d: want 2 masks in %q", pad, out)
		}
	}
}

func TestURLRedactsCredentials(t *testing.T) {
	cases := map[string]string{
		"postgres://app:hunter22@db:5432/conveyor?sslmode=require": "postgres://app:xxxxx@db:5432/conveyor?sslmode=require",
		"postgres://app@db/conveyor?password=hunter22":             "postgres://app@db/conveyor?password=xxxxx",
		"https://x-access-token:ghs_abc@ghe.example.com/api/v3":    "https://x-access-token:xxxxx@ghe.example.com/api/v3",
		"https://ghe.example.com/api/v3":                           "https://ghe.example.com/api/v3",
		"sqlite:conveyor.db":                                       "sqlite:conveyor.db",
		"":                                                         "",
	}
	for in, want := range cases {
		if got := URL(in); got != want {
			t.Errorf("URL(%q) = %q, want %q", in, got, want)
		}
	}
}
