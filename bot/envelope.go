package bot

import (
	"errors"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/tidwall/gjson"
)

// envelope is the part of every payload the intake and router need.
type envelope struct {
	Action         string
	InstallationID int64
	Repository     string
	SenderLogin    string
}

// parseEnvelope checks that body is JSON and reads the envelope fields. It
// reads only those fields, without decoding the rest of a payload that can
// be megabytes: under load this was a tenth of the intake's CPU with
// encoding/json. Strings read the way encoding/json reads them: each byte
// that is not valid UTF-8 becomes U+FFFD (gjson would keep the byte).
func parseEnvelope(body []byte) (envelope, error) {
	if !gjson.ValidBytes(body) {
		return envelope{}, errors.New("not valid JSON")
	}
	r := gjson.ParseBytes(body)
	if !r.IsObject() {
		return envelope{}, errors.New("not a JSON object")
	}
	// One pass over the top-level keys (GetMany would scan the payload once
	// per path); the first occurrence of a key wins, as with gjson.Get.
	var env envelope
	var seen [4]bool
	r.ForEach(func(key, v gjson.Result) bool {
		switch key.Str {
		case "action":
			if !seen[0] {
				env.Action, seen[0] = validUTF8(v.String()), true
			}
		case "installation":
			if !seen[1] {
				env.InstallationID, seen[1] = v.Get("id").Int(), true
			}
		case "repository":
			if !seen[2] {
				env.Repository, seen[2] = validUTF8(v.Get("full_name").String()), true
			}
		case "sender":
			if !seen[3] {
				env.SenderLogin, seen[3] = validUTF8(v.Get("login").String()), true
			}
		}
		return !(seen[0] && seen[1] && seen[2] && seen[3])
	})
	return env, nil
}

// validUTF8 replaces every byte that does not start a valid UTF-8 sequence
// with U+FFFD, one for one, as encoding/json does when it unquotes a string
// (unlike strings.ToValidUTF8, which replaces a run of them with one).
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b.WriteRune(utf8.RuneError)
		} else {
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// Bounds of what the intake stores of the envelope: far above anything
// GitHub sends (an action is a word; a full name is at most 39 + 1 + 100
// characters), so only a strange sender is cut.
const (
	maxActionLen     = 100
	maxRepositoryLen = 300
	maxEventLen      = 100
	maxDeliveryIDLen = 200
)

// storable makes s safe for any database column of text: valid UTF-8 with
// no NUL (PostgreSQL refuses both, SQLSTATE 22021) and at most max bytes,
// cut on a rune boundary.
func storable(s string, max int) string {
	s = strings.ReplaceAll(validUTF8(s), "\x00", string(utf8.RuneError))
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}

// validHeaderToken reports whether a header value (event name, delivery ID)
// is printable UTF-8 of at most max bytes.
func validHeaderToken(s string, max int) bool {
	if s == "" || len(s) > max || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// githubEvents are the webhook event names GitHub documents
// (https://docs.github.com/en/webhooks/webhook-events-and-payloads). Metrics
// label deliveries with one of these or "other", so a sender who can sign
// cannot create new series with made-up names.
var githubEvents = map[string]bool{}

func init() {
	for _, e := range strings.Fields(`branch_protection_configuration branch_protection_rule check_run check_suite
		code_scanning_alert commit_comment create custom_property custom_property_values delete dependabot_alert
		deploy_key deployment deployment_protection_rule deployment_review deployment_status discussion
		discussion_comment fork github_app_authorization gollum installation installation_repositories
		installation_target issue_comment issues label marketplace_purchase member membership merge_group meta
		milestone org_block organization package page_build personal_access_token_request ping project
		project_card project_column projects_v2 projects_v2_item projects_v2_status_update public pull_request
		pull_request_review pull_request_review_comment pull_request_review_thread push registry_package release
		repository repository_advisory repository_dispatch repository_import repository_ruleset
		repository_vulnerability_alert secret_scanning_alert secret_scanning_alert_location
		secret_scanning_scan security_advisory security_and_analysis sponsorship star status sub_issues team
		team_add watch workflow_dispatch workflow_job workflow_run`) {
		githubEvents[e] = true
	}
}

// eventLabel is the metrics label for an event name.
func eventLabel(event string) string {
	if githubEvents[event] {
		return event
	}
	return "other"
}
