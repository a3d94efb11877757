package main

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/slack-go/slack"

	"github.com/conveyor-dev/conveyor/examples"
	"github.com/conveyor-dev/conveyor/internal/ghfake"
)

// scenario plays the journey and prints the transcript.
func (d *demo) scenario(ctx context.Context, examplesDir string) error {
	load := func(name string) (*examples.Change, error) {
		return examples.LoadChange(filepath.Join(examplesDir, "changes", name))
	}
	good, err := load("good")
	if err != nil {
		return err
	}

	d.say("\n== 1. A pull request touching an app, a model and a dbt project\n")
	pr, err := d.openPR(ctx, "feature/fraud-v14", good.Title, "dev", good)
	if err != nil {
		return err
	}
	if err := d.ciAndChecks(ctx, pr); err != nil {
		return err
	}
	d.personas(pr)

	d.say("\n== 2. @dev comments \"/deploy staging\"\n")
	if err := d.commentAndDeploy(ctx, pr, "dev", "/deploy staging", "staging"); err != nil {
		return err
	}

	d.say("\n== 3. @dev comments \"/deploy production\": approvals in Slack, then a progressive rollout\n")
	if err := d.production(ctx, pr); err != nil {
		return err
	}

	d.say("\n== 4. A bad pull request: AUC regression, a dbt contract break and a quota over the limit\n")
	bad := &examples.Change{Name: "bad", Files: map[string]string{}}
	// over-quota moves the pointer to v14 too; auc-regression, applied last, makes it v15.
	for _, name := range []string{"over-quota", "contract-break", "auc-regression"} {
		ch, err := load(name)
		if err != nil {
			return err
		}
		bad.Files = ch.Apply(bad.Files)
		bad.Delete = append(bad.Delete, ch.Delete...)
	}
	prBad, err := d.openPR(ctx, "feature/fraud-v15", "Fraud v15, wider customer ids, more GPUs", "dev", bad)
	if err != nil {
		return err
	}
	if err := d.ciAndChecks(ctx, prBad); err != nil {
		return err
	}
	d.say("   @dev comments \"/deploy staging\" anyway:\n")
	if err := d.commentOnly(ctx, prBad, "dev", "/deploy staging"); err != nil {
		return err
	}

	d.say("\n== 5. A rollout that fails its deploy rolls back\n")
	web := &examples.Change{Name: "web-only", Files: map[string]string{
		"services/web/VERSION": "2.0.0\n",
	}}
	prWeb, err := d.openPR(ctx, "feature/web-2", "Web 2.0", "dev", web)
	if err != nil {
		return err
	}
	if err := d.ciAndChecks(ctx, prWeb); err != nil {
		return err
	}
	if err := writeFile(d.failing, "fail\n"); err != nil {
		return err
	}
	if err := d.commentAndDeploy(ctx, prWeb, "dev", "/deploy staging", "staging"); err != nil {
		return err
	}

	d.say("\n== 6. A model to a SageMaker endpoint: 10 -> 50 -> 100 %% of traffic, a Datadog metric gate between steps\n")
	if _, err := d.endpointRollout(ctx, "sagemaker"); err != nil {
		return err
	}

	d.say("\n== 7. The next version's error ratio is bad: the metric gate rolls it back at 10 %%\n")
	if _, err := d.endpointRollback(ctx, "sagemaker"); err != nil {
		return err
	}

	d.say("\n== 8. /status on the first pull request\n")
	if err := d.commentOnly(ctx, pr, "dev", "/status"); err != nil {
		return err
	}
	d.say("\nDemo finished: checks, deploys, Slack approvals, progressive rollouts (one to an emulated SageMaker endpoint),\nfailing checks, and two rollbacks (a failed deploy, a failing metric gate).\n")
	return nil
}

// openPR commits change on a new branch, opens a PR and sends its webhook.
func (d *demo) openPR(ctx context.Context, branch, title, author string, ch *examples.Change) (*ghfake.PR, error) {
	files := ptrs(ch.Files)
	for _, p := range ch.Delete {
		files[p] = nil
	}
	d.gh.Commit(demoRepo, branch, files, title)
	pr := d.gh.OpenPR(demoRepo, branch, "main", title, author)
	d.prs[pr.Number] = pr
	changed := make([]string, 0, len(files))
	for p := range files {
		changed = append(changed, p)
	}
	sort.Strings(changed)
	d.say("   PR #%d %q by @%s (%s), changes: %s\n", pr.Number, title, author, short(pr.HeadSHA), strings.Join(changed, ", "))
	if _, status, err := d.gh.Send("pull_request", d.gh.PullRequestEvent("opened", pr)); err != nil || status != 202 {
		return nil, fmt.Errorf("pull_request webhook: status %d: %v", status, err)
	}
	return pr, nil
}

// ciAndChecks reports the CI checks the app lists as passed, then waits for
// Conveyor's check suite to settle and prints it.
func (d *demo) ciAndChecks(ctx context.Context, pr *ghfake.PR) error {
	for _, name := range []string{"build", "test"} {
		d.gh.SetStatus(demoRepo, pr.HeadSHA, name, "success")
		if _, _, err := d.gh.Send("status", d.gh.StatusEvent(demoRepo, pr.HeadSHA, name, "success")); err != nil {
			return err
		}
	}
	d.say("   CI reports build and test passed on %s\n", short(pr.HeadSHA))
	var runs []ghfake.CheckRun
	err := wait(ctx, fmt.Sprintf("the check suite of PR #%d", pr.Number), func() bool {
		runs = latestRuns(d.gh.CheckRuns(demoRepo, pr.HeadSHA))
		if len(runs) == 0 {
			return false
		}
		for _, r := range runs {
			if r.Status != "completed" {
				return false
			}
		}
		return hasRun(runs, "conveyor")
	})
	if err != nil {
		return err
	}
	d.say("   Checks on %s:\n", short(pr.HeadSHA))
	for _, r := range runs {
		d.say("     %s %-26s %-8s %s\n", mark(r.Conclusion), r.Name, r.Conclusion, r.Title)
		if r.Conclusion == "failure" && r.Name != "conveyor" {
			for _, a := range r.Annotations {
				d.say("         %s:%d %s\n", a.Path, a.StartLine, firstLine(a.Message))
			}
			// The failing stages of the four-stage table.
			for _, l := range strings.Split(r.Summary, "\n") {
				if strings.HasPrefix(l, "|") && strings.Contains(l, "❌") {
					d.say("         %s\n", l)
				}
			}
		}
	}
	return nil
}

// personas prints what each artifact check shows its persona: CI and
// commits for the app, metrics against production for the model, lineage
// and contracts for dbt.
func (d *demo) personas(pr *ghfake.PR) {
	for _, r := range latestRuns(d.gh.CheckRuns(demoRepo, pr.HeadSHA)) {
		if r.Name == "conveyor" {
			continue
		}
		_, view, ok := strings.Cut(r.Summary, "\n\n")
		if !ok || strings.TrimSpace(view) == "" {
			continue
		}
		d.say("   %s shows:\n%s\n", r.Name, indent(clip(strings.TrimSpace(view), 10), "     | "))
	}
}

// latestRuns keeps the newest run per name, sorted with the gate first.
func latestRuns(all []ghfake.CheckRun) []ghfake.CheckRun {
	byName := map[string]ghfake.CheckRun{}
	for _, r := range all {
		if prev, ok := byName[r.Name]; !ok || r.ID > prev.ID {
			byName[r.Name] = r
		}
	}
	out := make([]ghfake.CheckRun, 0, len(byName))
	for _, r := range byName {
		if r.Name == "conveyor" || strings.HasPrefix(r.Name, "conveyor / ") {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func hasRun(runs []ghfake.CheckRun, name string) bool {
	for _, r := range runs {
		if r.Name == name {
			return true
		}
	}
	return false
}

// comment posts a PR comment as login and sends the webhook.
func (d *demo) comment(pr *ghfake.PR, login, body string) (int64, error) {
	id, payload := d.gh.CommentOnPR(demoRepo, pr.Number, login, body)
	if _, status, err := d.gh.Send("issue_comment", payload); err != nil || status != 202 {
		return 0, fmt.Errorf("issue_comment webhook: status %d: %v", status, err)
	}
	return id, nil
}

// commentOnly posts a command and prints the reactions and the bot's reply.
func (d *demo) commentOnly(ctx context.Context, pr *ghfake.PR, login, body string) error {
	before := len(d.botComments(pr))
	id, err := d.comment(pr, login, body)
	if err != nil {
		return err
	}
	if err := wait(ctx, "the reply to "+body, func() bool { return len(d.botComments(pr)) > before && len(d.reactions(id)) >= 2 }); err != nil {
		return err
	}
	d.say("   reactions: %s\n", strings.Join(d.reactions(id), " "))
	replies := d.botComments(pr)
	d.say("   Conveyor replies:\n%s\n", indent(clip(replies[len(replies)-1].Body, 25), "     | "))
	return nil
}

func (d *demo) reactions(commentID int64) []string {
	var out []string
	for _, r := range d.gh.Reactions(demoRepo, commentID) {
		out = append(out, r.Content)
	}
	return out
}

func (d *demo) botComments(pr *ghfake.PR) []ghfake.Comment {
	var out []ghfake.Comment
	for _, c := range d.gh.Comments(demoRepo, pr.Number) {
		if c.Login == "conveyor[bot]" {
			out = append(out, c)
		}
	}
	return out
}

// commentAndDeploy posts a deploy command and waits for its deployment to end.
func (d *demo) commentAndDeploy(ctx context.Context, pr *ghfake.PR, login, body, env string) error {
	id, err := d.comment(pr, login, body)
	if err != nil {
		return err
	}
	state, text, err := d.waitDeployment(ctx, pr, env, finalStates)
	if err != nil {
		return err
	}
	d.say("   reactions: %s\n", strings.Join(d.reactions(id), " "))
	d.say("   deployment %s; status comment on the PR:\n%s\n", state, indent(clip(text, 30), "     | "))
	d.printDriverLines()
	d.printGitHubDeployments(pr.HeadSHA, env)
	return nil
}

// printDriverLines shows the command each dbt driver ran: only the models
// the PR modified, and what is downstream of them.
func (d *demo) printDriverLines() {
	if d.lastDeployment == nil {
		return
	}
	for _, a := range d.lastDeployment.Artifacts {
		for _, l := range strings.Split(a.Output, "\n") {
			if a.Kind == "dbt" && strings.HasPrefix(l, "running ") {
				d.say("   %s driver: %s\n", a.Name, l)
				break
			}
		}
	}
}

func (d *demo) printGitHubDeployments(sha, env string) {
	for _, dep := range d.gh.Deployments(demoRepo) {
		if dep.SHA != sha || dep.Environment != env {
			continue
		}
		var states []string
		for _, s := range d.gh.DeploymentStatuses(demoRepo, dep.ID) {
			states = append(states, s.State)
		}
		d.say("   GitHub Deployment %d (%s, %s): %s\n", dep.ID, env, strings.TrimSpace(string(dep.Payload)), strings.Join(states, " -> "))
	}
}

// prodChannel is the Slack channel of production approvals in the example
// server config.
const prodChannel = "C0PRODDEPLOY"

// approveInSlack comments /deploy production on pr, waits for the approval
// request in Slack and has both approvers press Approve through the signed
// interaction endpoint. verbose prints the request and each update.
func (d *demo) approveInSlack(ctx context.Context, pr *ghfake.PR, verbose bool) (*slackfakeMessage, error) {
	channel := prodChannel
	var old string
	if m := d.slackMessage(channel); m != nil {
		old = m.TS
	}
	if _, err := d.comment(pr, "dev", "/deploy production"); err != nil {
		return nil, err
	}
	var msg *slackfakeMessage
	if err := wait(ctx, "the Slack approval request", func() bool { msg = d.slackMessage(channel); return msg != nil && msg.TS != old }); err != nil {
		return nil, err
	}
	if verbose {
		d.say("   Slack #%s, approval request:\n%s\n", channel, indent(clip(blockText(msg.Blocks), 25), "     > "))
	} else {
		d.say("   /deploy production: an approval request in Slack #%s; @sre-alice and @ml-bob press Approve\n", channel)
	}
	for _, approver := range []struct{ id, login string }{{"U0SRE00001", "sre-alice"}, {"U0MLLEAD01", "ml-bob"}} {
		edits := msg.Edits
		resp, err := d.slack.ClickButton(d.url+"/slack/interactions", "demo-slack-signing-secret", channel, msg.TS, "conveyor_approve", approver.id)
		if err != nil {
			return nil, err
		}
		resp.Body.Close()
		if err := wait(ctx, "the Slack message update after "+approver.login+"'s approval", func() bool {
			msg = d.slackMessage(channel)
			return msg.Edits > edits
		}); err != nil {
			return nil, err
		}
		if verbose {
			d.say("   @%s presses Approve; the message now says:\n%s\n", approver.login, indent(clip(approvalLines(blockText(msg.Blocks)), 6), "     > "))
		}
	}
	return msg, nil
}

// production runs /deploy production with two Slack approvals.
func (d *demo) production(ctx context.Context, pr *ghfake.PR) error {
	const channel = prodChannel
	msg, err := d.approveInSlack(ctx, pr, true)
	if err != nil {
		return err
	}
	state, text, err := d.waitDeployment(ctx, pr, "production", finalStates)
	if err != nil {
		return err
	}
	wait(ctx, "the last word in the Slack thread", func() bool {
		th := d.slack.Thread(channel, msg.TS)
		return len(th) > 0 && strings.Contains(strings.ToLower(th[len(th)-1].Text), "succeeded")
	})
	d.say("   rollout thread in Slack:\n")
	for _, m := range d.slack.Thread(channel, msg.TS) {
		d.say("     > %s\n", firstLine(m.Text))
	}
	d.say("   deployment %s; status comment on the PR:\n%s\n", state, indent(clip(text, 30), "     | "))
	d.printGitHubDeployments(pr.HeadSHA, "production")
	return nil
}

type slackfakeMessage = struct {
	TS     string
	Edits  int
	Blocks slack.Blocks
}

func (d *demo) slackMessage(channel string) *slackfakeMessage {
	msgs := d.slack.Messages(channel)
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].ThreadTS == "" {
			return &slackfakeMessage{TS: msgs[i].TS, Edits: msgs[i].Edits, Blocks: msgs[i].Blocks}
		}
	}
	return nil
}

// blockText renders Block Kit blocks as plain text lines.
func blockText(b slack.Blocks) string {
	var lines []string
	for _, blk := range b.BlockSet {
		switch v := blk.(type) {
		case *slack.HeaderBlock:
			lines = append(lines, v.Text.Text)
		case *slack.SectionBlock:
			if v.Text != nil {
				lines = append(lines, v.Text.Text)
			}
			for _, f := range v.Fields {
				lines = append(lines, f.Text)
			}
		case *slack.ContextBlock:
			for _, e := range v.ContextElements.Elements {
				if t, ok := e.(*slack.TextBlockObject); ok {
					lines = append(lines, t.Text)
				}
			}
		case *slack.ActionBlock:
			var labels []string
			for _, e := range v.Elements.ElementSet {
				if btn, ok := e.(*slack.ButtonBlockElement); ok {
					labels = append(labels, "["+btn.Text.Text+"]")
				}
			}
			lines = append(lines, strings.Join(labels, " "))
		}
	}
	return strings.Join(lines, "\n")
}

// approvalLines keeps the lines of a Slack message that talk about approvals.
func approvalLines(s string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		low := strings.ToLower(l)
		if strings.Contains(low, "approv") || strings.Contains(low, "quorum") {
			out = append(out, l)
		}
	}
	if len(out) == 0 {
		return s
	}
	return strings.Join(out, "\n")
}

func mark(conclusion string) string {
	switch conclusion {
	case "success":
		return "✓"
	case "failure":
		return "✗"
	default:
		return "•"
	}
}

func short(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return l
}

// clip keeps the first n lines of s.
func clip(s string, n int) string {
	// GitHub does not show HTML comments (Conveyor's hidden reply and
	// status comment markers); neither does the transcript.
	var shown []string
	for _, l := range strings.Split(s, "\n") {
		if t := strings.TrimSpace(l); !(strings.HasPrefix(t, "<!--") && strings.HasSuffix(t, "-->")) {
			shown = append(shown, l)
		}
	}
	s = strings.TrimRight(strings.Join(shown, "\n"), "\n ")
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = append(lines[:n], fmt.Sprintf("... (%d more lines)", len(lines)-n))
	}
	return strings.Join(lines, "\n")
}
