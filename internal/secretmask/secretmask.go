// Package secretmask owns hiding secrets in text Conveyor stores or posts:
// driver output, failure messages, audit details, PR comments and Slack
// messages. A Masker replaces the values of the secrets the server knows
// (its environment variables named by the server config, its own app
// credentials) and text shaped like a credential (GitHub, Slack and AWS
// tokens, passwords in URLs) with "***", the way CI systems mask secrets in
// logs. It also redacts credentials from URLs before they are logged.
//
// It must not decide what is a secret of the server (the caller lists the
// values) nor hold anything else: a Masker is read-only after New and safe
// for concurrent use.
package secretmask

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"regexp"
	"sort"
	"strings"
)

// Mask is what a secret is replaced with.
const Mask = "***"

// MinLen is the shortest value masked. A shorter value would mask ordinary
// text everywhere it appears ("on", "1", "dev") and make output unreadable,
// and the pattern of what was masked would itself reveal a value that short;
// such a value is not a credential worth the name.
const MinLen = 4

// maxPattern bounds how long a token-shaped match can be. Streams hold back
// this much of an unfinished line so a token split between two chunks is
// still seen whole.
const maxPattern = 300

// patterns are credential shapes masked wherever they appear, known to the
// server or not (an installation token minted by the app, a key a deploy
// script read from its own vault). Each pattern's group "s" is what is
// replaced; the rest is kept so the output still says what was there.
var patterns = []*regexp.Regexp{
	// GitHub tokens: personal (ghp_), OAuth (gho_), user-to-server (ghu_),
	// server-to-server, which is what installation tokens are (ghs_), refresh
	// (ghr_), and fine-grained personal tokens (github_pat_).
	regexp.MustCompile(`(?P<s>\b(?:gh[pousr]_[A-Za-z0-9]{36,251}|github_pat_[A-Za-z0-9_]{22,251}))`),
	// Slack bot, user, app-level and refresh tokens.
	regexp.MustCompile(`(?P<s>\bxox[abpr]-[A-Za-z0-9-]{10,250})`),
	// AWS access key IDs (long-term AKIA, temporary ASIA).
	regexp.MustCompile(`(?P<s>\b(?:AKIA|ASIA)[A-Z0-9]{16})\b`),
	// AWS secret access keys are 40 characters of base64 with no prefix, so
	// only a labelled one is recognisable.
	regexp.MustCompile(`(?i)(?:aws_secret_access_key|aws_secret_key|secret_?access_?key)["']?\s*[:=]\s*["']?(?P<s>[A-Za-z0-9/+=]{40})`),
	// Credentials in HTTP headers (curl -v, set -x of a curl command).
	regexp.MustCompile(`(?i)\bauthorization:\s*(?:bearer|token|basic)\s+(?P<s>[^\s'"]{1,250})`),
	// A password in a URL's user info: scheme://user:PASSWORD@host.
	regexp.MustCompile(`\b[A-Za-z][A-Za-z0-9+.-]{0,20}://[^/\s:@]{0,100}:(?P<s>[^/\s@]{1,200})@`),
	// A password in a DSN's query: ?password=..., &sslpassword=...
	regexp.MustCompile(`(?i)[?&](?:password|passwd|pwd|sslpassword|access_token|token)=(?P<s>[^&\s#'"]{1,200})`),
}

// Masker hides secrets in text. The zero value and nil mask token shapes
// only.
type Masker struct {
	values []string // longest first, so a longer secret wins over its prefix
	repl   *strings.Replacer
	maxLen int
}

// New returns a Masker for the given secret values. Values shorter than
// MinLen are ignored. Each value is also masked as JSON-escaped, URL-query
// escaped and base64 text, and a multi-line value (a PEM key) line by line,
// since output is masked one line at a time.
func New(values ...string) *Masker {
	seen := map[string]bool{}
	var vs []string
	add := func(v string) {
		if len(v) >= MinLen && !seen[v] {
			seen[v] = true
			vs = append(vs, v)
		}
	}
	for _, v := range values {
		for _, form := range forms(v) {
			add(form)
		}
		if strings.Contains(v, "\n") {
			for _, line := range strings.Split(v, "\n") {
				add(strings.TrimSpace(line))
			}
		}
	}
	sort.Slice(vs, func(i, j int) bool {
		if len(vs[i]) != len(vs[j]) {
			return len(vs[i]) > len(vs[j])
		}
		return vs[i] < vs[j]
	})
	m := &Masker{values: vs}
	if len(vs) > 0 {
		pairs := make([]string, 0, 2*len(vs))
		for _, v := range vs {
			pairs = append(pairs, v, Mask)
			m.maxLen = max(m.maxLen, len(v))
		}
		m.repl = strings.NewReplacer(pairs...)
	}
	return m
}

// forms are the spellings of v that output may contain.
func forms(v string) []string {
	out := []string{v, strings.TrimSpace(v), url.QueryEscape(v), base64.StdEncoding.EncodeToString([]byte(v))}
	if j, err := json.Marshal(v); err == nil {
		out = append(out, strings.Trim(string(j), `"`))
	}
	return out
}

// String returns s with every secret replaced by Mask.
func (m *Masker) String(s string) string {
	if m != nil && m.repl != nil {
		s = m.repl.Replace(s)
	}
	for _, re := range patterns {
		s = replaceGroup(re, s)
	}
	return s
}

// replaceGroup replaces group "s" of every match of re in s with Mask.
func replaceGroup(re *regexp.Regexp, s string) string {
	g := re.SubexpIndex("s")
	locs := re.FindAllStringSubmatchIndex(s, -1)
	if len(locs) == 0 {
		return s
	}
	var b strings.Builder
	last := 0
	for _, loc := range locs {
		start, end := loc[2*g], loc[2*g+1]
		if start < 0 || s[start:end] == Mask {
			continue
		}
		b.WriteString(s[last:start])
		b.WriteString(Mask)
		last = end
	}
	b.WriteString(s[last:])
	return b.String()
}

// Error returns err with its message masked, or nil. errors.Is and As still
// reach the original chain; only the text changes.
func (m *Masker) Error(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if masked := m.String(msg); masked != msg {
		return &maskedError{msg: masked, err: err}
	}
	return err
}

type maskedError struct {
	msg string
	err error
}

func (e *maskedError) Error() string { return e.msg }
func (e *maskedError) Unwrap() error { return e.err }

// hold is how much of an unfinished line a Stream keeps back so that no
// secret is cut in two.
func (m *Masker) hold() int {
	if m == nil {
		return maxPattern
	}
	return max(m.maxLen, maxPattern)
}

// spans returns the byte ranges of s a cut must not fall in: each known
// value, and each whole pattern match (label included, so a labelled key
// is never separated from its label).
func (m *Masker) spans(s string) [][2]int {
	var out [][2]int
	if m != nil {
		for _, v := range m.values {
			for off := 0; ; {
				i := strings.Index(s[off:], v)
				if i < 0 {
					break
				}
				out = append(out, [2]int{off + i, off + i + len(v)})
				off += i + 1
			}
		}
	}
	for _, re := range patterns {
		for _, loc := range re.FindAllStringIndex(s, -1) {
			out = append(out, [2]int{loc[0], loc[1]})
		}
	}
	return out
}

// URL returns raw with credentials removed, for logs and error messages:
// the user info's password (as url.URL.Redacted does) and password-like
// query parameters (?password=, &sslpassword=, ...). A value that does not
// parse as a URL is masked as text.
func URL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" {
		return New().String(raw)
	}
	q := u.Query()
	changed := false
	for k := range q {
		if secretParam(k) {
			q[k] = []string{"xxxxx"}
			changed = true
		}
	}
	if changed {
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}

// secretParam reports whether a URL query parameter carries a credential.
func secretParam(k string) bool {
	k = strings.ToLower(k)
	for _, s := range []string{"password", "passwd", "pwd", "secret", "token", "apikey", "api_key", "sig", "signature", "credential"} {
		if strings.Contains(k, s) {
			return true
		}
	}
	return false
}
