package slackapproval

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/conveyor-dev/conveyor/deploy"
	"github.com/conveyor-dev/conveyor/web/pageurl"
)

// render builds the approval message of d as it stands, in the approver's
// words: what deploys and, per artifact, what changes in its persona's terms
// (ev, what the check suite recorded on the SHA, when known), the checks,
// the cost and the policy's words, who must still approve and by when, and,
// while approvals are still possible, the Approve and Reject buttons. pages
// links the dashboard's pull request page when a public address is set.
func render(d *deploy.Deployment, ev *Evidence, pages pageurl.Base) (text string, blocks []slack.Block) {
	headline := headline(d)
	text = fmt.Sprintf("%s: %s #%d at %s", headline, d.Repository, d.PR, short(d.SHA))
	blocks = append(blocks, slack.NewHeaderBlock(plain(clip(headline, maxHeaderText))))

	// Where the rest is: the dashboard's page of the PR, else the PR itself.
	page := pages.Pull(d.Repository, d.PR, "")
	more := page
	if more == "" {
		more = d.PRURL
	}
	pr := fmt.Sprintf("%s#%d", d.Repository, d.PR)
	if d.PRURL != "" {
		pr = fmt.Sprintf("<%s|%s>", d.PRURL, pr)
	}
	title := ""
	if d.PRTitle != "" {
		title = " " + escape(d.PRTitle)
	}
	intro := fmt.Sprintf("*%s*%s\nHead `%s` to *%s*, requested by @%s", pr, title, short(d.SHA), escape(d.Environment), escape(d.Requester))
	if page != "" {
		intro += fmt.Sprintf("\n<%s|Open the pull request page> for every stage, the policy's reasons and the audit trail", page)
	}
	blocks = append(blocks, section(fitText(intro, more)))

	// A few artifacts show the kinds' evidence; many show one line each,
	// the evidence being on the pull request page.
	detailed := len(d.Artifacts) <= maxDetailed
	var arts []string
	for _, a := range d.Artifacts {
		arts = append(arts, artifactEntry(d, a, ev, pages, detailed))
	}
	if len(arts) > 0 {
		title := "*What changes*"
		if !detailed {
			title = fmt.Sprintf("*What changes* (%d artifacts; each one's evidence is on the pull request page)", len(arts))
		}
		for _, md := range fitSections(title, arts, more, maxArtifactSections) {
			blocks = append(blocks, section(md))
		}
	}

	gate := checkLines(d, ev)
	gate = append(gate, decisionLines(d.Decision)...)
	blocks = append(blocks, section(fitLines("*Checks, cost and policy*", gate, more)))

	blocks = append(blocks, section(fitText(approvalText(d), more)))
	if outcome := outcomeText(d); outcome != "" {
		blocks = append(blocks, section(fitText(outcome, more)))
	}
	if d.State == deploy.StateAwaitingApproval {
		id := strconv.FormatInt(d.ID, 10)
		approve := slack.NewButtonBlockElement(ActionApprove, id, plain("Approve"))
		approve.Style = slack.StylePrimary
		reject := slack.NewButtonBlockElement(ActionReject, id, plain("Reject"))
		reject.Style = slack.StyleDanger
		blocks = append(blocks, slack.NewActionBlock("conveyor_actions", approve, reject))
	}
	blocks = append(blocks, slack.NewContextBlock("conveyor_id",
		slack.NewTextBlockObject(slack.MarkdownType, fmt.Sprintf("Conveyor deployment %d · %s", d.ID, stateWords(d)), false, false)))
	return text, blocks
}

// maxCardLines and maxCardLine bound one artifact's entry, so that many
// artifacts still fit a section; the pull request page has the rest.
const (
	maxCardLines = 4
	maxCardLine  = 280
	maxCostParts = 5 // artifacts named in the cost line
	// maxDetailed is how many artifacts a card shows with their evidence;
	// maxArtifactSections how many sections (of a message's 50 blocks)
	// the artifacts may take.
	maxDetailed         = 8
	maxArtifactSections = 4
)

// artifactEntry is one artifact on the card: its name (linked to its part
// of the pull request page), kind, what moves in the environment ("production:
// v13 → v14") and the kind's lines from the check.
func artifactEntry(d *deploy.Deployment, a deploy.ArtifactState, ev *Evidence, pages pageurl.Base, detailed bool) string {
	name := "`" + escape(a.Name) + "`"
	if u := pages.Pull(d.Repository, d.PR, a.Name); u != "" {
		name = fmt.Sprintf("<%s|%s>", u, escape(a.Name))
	}
	var ae *ArtifactEvidence
	if ev != nil {
		if x, ok := ev.Artifacts[a.Name]; ok {
			ae = &x
		}
	}
	line := fmt.Sprintf("• %s %s (%s): %s", checkIcon(ae), name, escape(a.Kind), moves(d, a, ae))
	if !detailed {
		return line
	}
	if ae == nil || len(ae.Lines) == 0 {
		if a.Summary != "" {
			line += "\n      " + escape(clip(a.Summary, maxCardLine))
		}
		return line
	}
	for i, l := range ae.Lines {
		if i == maxCardLines {
			line += fmt.Sprintf("\n      … %d more on the pull request page", len(ae.Lines)-i)
			break
		}
		line += "\n      " + escape(clip(l, maxCardLine))
	}
	return line
}

// moves says what changes in the deployment's environment: "production:
// v13 → v14" in the kind's words when the check recorded them, else from
// what the engine knows was deployed (a SHA). The result is Slack markup.
func moves(d *deploy.Deployment, a deploy.ArtifactState, ae *ArtifactEvidence) string {
	env := escape(d.Environment)
	to, from := short(a.SHA), short(a.Previous)
	if ae != nil && ae.Candidate != "" {
		to = ae.Candidate
		from = ae.Serving[d.Environment]
	}
	to, from = escape(to), escape(from)
	if d.Mode == "rollback" {
		return fmt.Sprintf("%s: back to %s", env, escape(short(orText(a.Previous, a.SHA))))
	}
	switch {
	case from == "":
		return fmt.Sprintf("%s: %s (nothing known to serve there before)", env, to)
	case from == to:
		return fmt.Sprintf("%s: already serves %s", env, to)
	}
	return fmt.Sprintf("%s: %s → %s", env, from, to)
}

// checkIcon shows an artifact check's conclusion.
func checkIcon(ae *ArtifactEvidence) string {
	switch {
	case ae == nil:
		return ":grey_question:"
	case ae.Conclusion == "success":
		return ":white_check_mark:"
	case ae.Conclusion == "":
		return ":hourglass_flowing_sand:"
	}
	return ":x:"
}

// checkLines are the gate's state and the cost, in words.
func checkLines(d *deploy.Deployment, ev *Evidence) []string {
	if ev == nil {
		if d.PRURL != "" {
			return []string{fmt.Sprintf("• see <%s/checks|the PR's checks>", d.PRURL)}
		}
		return []string{"• the check results could not be read; see the PR's checks"}
	}
	out := []string{"• conveyor check: " + gateWords(ev.Gate)}
	var failing []string
	for _, a := range d.Artifacts {
		if ae, ok := ev.Artifacts[a.Name]; ok && ae.Conclusion == "failure" {
			failing = append(failing, fmt.Sprintf("• :x: %s: %s", escape(a.Name), escape(clip(ae.Title, maxCardLine))))
		}
	}
	out = append(out, failing...)
	if c := costLine(d, ev); c != "" {
		out = append(out, "• "+c)
	}
	return out
}

// gateWords says the conveyor check's state.
func gateWords(g string) string {
	switch g {
	case "success":
		return "passed on this head"
	case "failure":
		return "failed on this head"
	case "":
		return "not evaluated on this head yet"
	}
	return "still running on this head"
}

// costLine is the monthly cost delta of the deployment's artifacts, with
// the artifacts whose cost changes; "" when none does.
func costLine(d *deploy.Deployment, ev *Evidence) string {
	var total, monthly float64
	var parts []string
	for _, a := range d.Artifacts {
		ae, ok := ev.Artifacts[a.Name]
		if !ok {
			continue
		}
		monthly += ae.MonthlyUSD
		if ae.DeltaUSD != 0 {
			total += ae.DeltaUSD
			parts = append(parts, fmt.Sprintf("%s %s", escape(a.Name), usd(ae.DeltaUSD, true)))
		}
	}
	if len(parts) == 0 {
		if monthly == 0 {
			return ""
		}
		return fmt.Sprintf("cost: no change (%s/month)", usd(monthly, false))
	}
	line := fmt.Sprintf("cost: %s/month, %s/month in all", usd(total, true), usd(monthly, false))
	if len(parts) > maxCostParts {
		parts = append(parts[:maxCostParts], fmt.Sprintf("%d more", len(parts)-maxCostParts))
	}
	if len(parts) > 1 || len(d.Artifacts) > 1 {
		line += " (" + strings.Join(parts, ", ") + ")"
	}
	return line
}

// usd formats dollars ("$1,234.50"; signed: "+$12.00", "-$3.00").
func usd(v float64, signed bool) string {
	sign := ""
	switch {
	case v < 0:
		sign, v = "-", -v
	case signed:
		sign = "+"
	}
	cents := int64(v*100 + 0.5)
	whole, frac := cents/100, cents%100
	digits := strconv.FormatInt(whole, 10)
	for i := len(digits) - 3; i > 0; i -= 3 {
		digits = digits[:i] + "," + digits[i:]
	}
	return fmt.Sprintf("%s$%s.%02d", sign, digits, frac)
}

// stateWords says the deployment's state as a person would.
func stateWords(d *deploy.Deployment) string {
	switch d.State {
	case deploy.StateAwaitingApproval:
		if m := d.Quorum.Missing(d.Approvals); m != "" {
			return "waiting for " + escape(m)
		}
		return "waiting for approvals"
	case deploy.StateQueued:
		return "approved, waiting to start"
	case deploy.StateInProgress:
		return "deploying"
	case deploy.StateSucceeded:
		return "deployed"
	case deploy.StateFailed:
		return "failed, rolling back"
	case deploy.StateRolledBack:
		return "failed and rolled back"
	case deploy.StateRejected:
		return "rejected"
	case deploy.StateExpired:
		return "expired without enough approvals"
	case deploy.StateCancelled:
		return "cancelled"
	}
	return strings.ReplaceAll(d.State, "_", " ")
}

// headline is the message's one-line status.
func headline(d *deploy.Deployment) string {
	env := d.Environment
	switch d.State {
	case deploy.StateAwaitingApproval:
		return "Approval needed: deploy to " + env
	case deploy.StateQueued, deploy.StateInProgress:
		return "Approved: deploying to " + env
	case deploy.StateSucceeded:
		return "Deployed to " + env
	case deploy.StateFailed:
		return "Deploy to " + env + " failed"
	case deploy.StateRolledBack:
		return "Deploy to " + env + " failed and was rolled back"
	case deploy.StateRejected:
		return "Deploy to " + env + " rejected"
	case deploy.StateExpired:
		return "Deploy to " + env + " expired"
	case deploy.StateCancelled:
		return "Deploy to " + env + " cancelled"
	}
	return "Deploy to " + env + ": " + d.State
}

// approvalText says who must still approve and by when, and who approved.
func approvalText(d *deploy.Deployment) string {
	need := d.Quorum.Needed()
	got := min(d.Quorum.Counted(d.Approvals), need)
	var b strings.Builder
	missing := d.Quorum.Missing(d.Approvals)
	switch {
	case d.State == deploy.StateAwaitingApproval && missing != "":
		fmt.Fprintf(&b, "*Waiting for %s*", escape(missing))
		if !d.ExpiresAt.IsZero() {
			fmt.Fprintf(&b, " by %s, when this request expires", slackDate(d.ExpiresAt))
		}
		fmt.Fprintf(&b, "\n%d of %d approvals given", got, need)
	default:
		fmt.Fprintf(&b, "*Approvals: %d of %d*", got, need)
	}
	for _, g := range d.Quorum.Groups {
		if len(g.From) == 0 {
			fmt.Fprintf(&b, "\nNeeds %d from anyone the policy allows", g.Count)
		}
	}
	for _, a := range d.Approvals {
		fmt.Fprintf(&b, "\n✅ approved by @%s via %s", escape(a.Login), escape(a.Via))
	}
	return b.String()
}

// slackDate shows t in each reader's own time zone, with a UTC fallback
// for clients that cannot: Slack's date formatting, as its reference
// "Formatting text for app surfaces" gives it,
// <!date^timestamp^token_string|fallback_text>, tokens {date_short_pretty}
// and {time}.
func slackDate(t time.Time) string {
	return fmt.Sprintf("<!date^%d^{date_short_pretty} at {time}|%s>", t.Unix(), t.UTC().Format("Jan 2 15:04 UTC"))
}

// outcomeText explains a state that ended the approval, or "".
func outcomeText(d *deploy.Deployment) string {
	switch d.State {
	case deploy.StateRejected:
		return ":no_entry: " + escape(orText(d.Error, "rejected"))
	case deploy.StateCancelled:
		if strings.Contains(d.Error, "approvals are void") {
			return ":warning: Approvals are void: " + escape(d.Error)
		}
		return ":no_entry_sign: Cancelled: " + escape(orText(d.Error, "cancelled"))
	case deploy.StateExpired:
		return ":hourglass: Expired: " + escape(orText(d.Error, "approvals did not reach the quorum in time"))
	case deploy.StateQueued, deploy.StateInProgress:
		return ":rocket: Quorum reached; the rollout's progress is in this thread"
	case deploy.StateSucceeded:
		return ":white_check_mark: Deployed"
	case deploy.StateFailed, deploy.StateRolledBack:
		return ":x: " + escape(orText(d.Error, d.State))
	}
	return ""
}

// progressText is the thread reply for a rollout event, or "".
func progressText(a NotifyArgs) string {
	switch a.Event {
	case "queued":
		return "Quorum reached; rollout queued."
	case "step":
		if a.Percent > 0 {
			return fmt.Sprintf("Rollout step %d (%d%%): %s", a.Step+1, a.Percent, orText(a.Detail, "in progress"))
		}
		return "Rollout: " + orText(a.Detail, "in progress")
	case "succeeded":
		return ":white_check_mark: Rollout succeeded."
	case "failed":
		return ":x: Rollout failed: " + orText(a.Detail, "see the PR's status comment")
	case "rolled_back":
		return ":leftwards_arrow_with_hook: Rolled back: " + orText(a.Detail, "the previous versions are serving again")
	}
	return ""
}

// decisionLines turns the stored decision text ("allow; warn: ...") into
// lines, keeping the policy's words verbatim.
func decisionLines(decision string) []string {
	if decision == "" {
		return nil
	}
	var out []string
	for i, part := range strings.Split(decision, "; ") {
		switch {
		case i == 0:
			out = append(out, "• policy: "+escape(part))
		case strings.HasPrefix(part, "warn: "):
			out = append(out, "• :warning: "+escape(strings.TrimPrefix(part, "warn: ")))
		default:
			out = append(out, "• "+escape(part))
		}
	}
	return out
}

func section(md string) *slack.SectionBlock {
	return slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, md, false, false), nil, nil)
}

func plain(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.PlainTextType, s, false, false)
}

// escape keeps user text from being read as Slack markup (&, <, >).
func escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

func short(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}

func orText(s, fallback string) string {
	if s == "" {
		return fallback
	}
	return s
}
