package slackapproval

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/slack-go/slack"

	"github.com/conveyor-dev/conveyor/deploy"
)

// render builds the approval message of d as it stands: what deploys, the
// checks and the policy's words, the approvals so far and, while approvals
// are still possible, the Approve and Reject buttons. checks are the check
// results' lines, when known.
func render(d *deploy.Deployment, checks []string) (text string, blocks []slack.Block) {
	headline := headline(d)
	text = fmt.Sprintf("%s: %s #%d at %s", headline, d.Repository, d.PR, short(d.SHA))
	blocks = append(blocks, slack.NewHeaderBlock(plain(clip(headline, maxHeaderText))))

	pr := fmt.Sprintf("%s#%d", d.Repository, d.PR)
	if d.PRURL != "" {
		pr = fmt.Sprintf("<%s|%s>", d.PRURL, pr)
	}
	title := ""
	if d.PRTitle != "" {
		title = " " + escape(d.PRTitle)
	}
	blocks = append(blocks, section(fitText(fmt.Sprintf("*%s*%s\nHead `%s` to *%s*, requested by @%s",
		pr, title, short(d.SHA), escape(d.Environment), escape(d.Requester)), d.PRURL)))

	var arts []string
	for _, a := range d.Artifacts {
		line := fmt.Sprintf("• `%s` (%s)", escape(a.Name), escape(a.Kind))
		if a.Summary != "" {
			line += ": " + escape(a.Summary)
		}
		arts = append(arts, line)
	}
	if len(arts) > 0 {
		blocks = append(blocks, section(fitLines("*Artifacts*", arts, d.PRURL)))
	}

	var gate []string
	for _, c := range checks {
		gate = append(gate, "• "+escape(c))
	}
	if len(checks) == 0 && d.PRURL != "" {
		gate = append(gate, fmt.Sprintf("• see <%s/checks|the PR's checks>", d.PRURL))
	}
	gate = append(gate, decisionLines(d.Decision)...)
	blocks = append(blocks, section(fitLines("*Checks and policy*", gate, d.PRURL)))

	blocks = append(blocks, section(fitText(approvalText(d), d.PRURL)))
	if outcome := outcomeText(d); outcome != "" {
		blocks = append(blocks, section(fitText(outcome, d.PRURL)))
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
		slack.NewTextBlockObject(slack.MarkdownType, fmt.Sprintf("Conveyor deployment %d · state `%s`", d.ID, d.State), false, false)))
	return text, blocks
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

// approvalText says who approved and how many are still needed.
func approvalText(d *deploy.Deployment) string {
	need := d.Quorum.Needed()
	got := d.Quorum.Counted(d.Approvals)
	var b strings.Builder
	fmt.Fprintf(&b, "*Approvals %d/%d*", got, need)
	if missing := need - got; missing > 0 && d.State == deploy.StateAwaitingApproval {
		fmt.Fprintf(&b, " (%d more needed)", missing)
	}
	for _, g := range d.Quorum.Groups {
		from := "anyone the policy allows"
		if len(g.From) > 0 {
			from = strings.Join(g.From, " or ")
		}
		fmt.Fprintf(&b, "\nNeeds %d from %s", g.Count, escape(from))
	}
	for _, a := range d.Approvals {
		fmt.Fprintf(&b, "\n✅ approved by @%s via %s", escape(a.Login), escape(a.Via))
	}
	return b.String()
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
