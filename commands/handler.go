package commands

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/google/go-github/v66/github"

	"github.com/conveyor-dev/conveyor/checks"
	"github.com/conveyor-dev/conveyor/checks/prfacts"
	"github.com/conveyor-dev/conveyor/internal/serverconfig"
	"github.com/conveyor-dev/conveyor/internal/store"
	"github.com/conveyor-dev/conveyor/policies"
)

// Options configure a Handler.
type Options struct {
	// GitHub returns a client authenticated as the installation.
	GitHub func(installationID int64) (*github.Client, error)
	// Deployer is the promotion engine (*deploy.Engine).
	Deployer Deployer
	// Gate answers whether the conveyor check is green on a SHA (*checks.Suite).
	Gate Gate
	// Policy decides every action (*policies.Evaluator).
	Policy policies.Decider
	// ServerConfig supplies the teams, pricing and override teams; nil means
	// serverconfig.Default().
	ServerConfig *serverconfig.Config
	// Store keeps the PR head history; nil means none is kept and commands
	// act on the PR's current head.
	Store *store.Store
	// Log receives operational logs; nil discards them.
	Log *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// FactsTTL is how long actor facts are cached; 0 means DefaultFactsTTL.
	FactsTTL time.Duration
	// PRFacts reads pull request facts (*prfacts.Service, shared with the
	// check suite: checks.Suite.Facts); nil makes one for the handler.
	PRFacts PRFacts
}

// Gate tells what the check suite recorded on a commit (*checks.Suite): the
// conveyor gate's conclusion, what each artifact's evaluation found (the
// policy input's evidence), whether a failed gate failed only on findings the
// policy's quality gates judge, and what a deploy of each artifact selects.
// For such an overridable failure /deploy asks the policy instead of
// refusing: production is denied unless an override team asks, other
// environments get a warning (the default bundle's gates.rego).
type Gate interface {
	GateStatus(ctx context.Context, repo, sha string) (checks.GateStatus, error)
}

// Handler runs the ChatOps commands of PR comments and check run buttons,
// keeps the PR head history and caches actor facts. It implements the bot's
// handler interface (Handles, Handle).
type Handler struct {
	o       Options
	log     *slog.Logger
	now     func() time.Time
	facts   *factCache
	prFacts PRFacts
}

// New returns a Handler.
func New(o Options) *Handler {
	if o.ServerConfig == nil {
		o.ServerConfig = serverconfig.Default()
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.PRFacts == nil {
		drivers := map[string]bool{}
		for name := range o.ServerConfig.Drivers {
			drivers[name] = true
		}
		o.PRFacts = prfacts.New(prfacts.Options{Drivers: drivers})
	}
	return &Handler{o: o, log: o.Log, now: o.Now, facts: newFactCache(o.FactsTTL, o.Now), prFacts: o.PRFacts}
}

// Handles lists the events the handler takes.
func (h *Handler) Handles() []string {
	return []string{
		"issue_comment.created",
		"check_run.requested_action",
		"pull_request.opened", "pull_request.synchronize", "pull_request.reopened",
		"membership", "member", "organization",
	}
}

// Handle processes one webhook delivery.
func (h *Handler) Handle(ctx context.Context, eventType, deliveryID string, payload []byte) error {
	event, _, _ := strings.Cut(eventType, ".")
	switch event {
	case "issue_comment":
		var ev github.IssueCommentEvent
		if err := json.Unmarshal(payload, &ev); err != nil {
			return fmt.Errorf("issue_comment %s: %w", deliveryID, err)
		}
		return h.onComment(ctx, deliveryID, &ev)
	case "check_run":
		var ev github.CheckRunEvent
		if err := json.Unmarshal(payload, &ev); err != nil {
			return fmt.Errorf("check_run %s: %w", deliveryID, err)
		}
		return h.onCheckRunAction(ctx, deliveryID, &ev)
	case "pull_request":
		var ev github.PullRequestEvent
		if err := json.Unmarshal(payload, &ev); err != nil {
			return fmt.Errorf("pull_request %s: %w", deliveryID, err)
		}
		return h.onPullRequest(ctx, &ev)
	case "membership", "member", "organization":
		h.onMembership(event, payload)
		return nil
	}
	return nil
}

// HandleDecoded is Handle for an event the router already decoded.
func (h *Handler) HandleDecoded(ctx context.Context, eventType, deliveryID string, event any, payload []byte) error {
	switch ev := event.(type) {
	case *github.IssueCommentEvent:
		return h.onComment(ctx, deliveryID, ev)
	case *github.CheckRunEvent:
		return h.onCheckRunAction(ctx, deliveryID, ev)
	case *github.PullRequestEvent:
		return h.onPullRequest(ctx, ev)
	}
	return h.Handle(ctx, eventType, deliveryID, payload)
}

func (h *Handler) onPullRequest(ctx context.Context, ev *github.PullRequestEvent) error {
	switch ev.GetAction() {
	case "opened", "synchronize", "reopened":
		return h.recordHead(ctx, ev.GetRepo().GetFullName(), ev.GetNumber(), ev.GetPullRequest().GetHead().GetSHA(),
			h.headTime(ev.GetPullRequest().GetUpdatedAt().Time))
	}
	return nil
}

// onMembership drops cached facts of the user whose membership changed (or of
// the whole installation when the payload names nobody).
func (h *Handler) onMembership(event string, payload []byte) {
	var ev struct {
		Installation struct {
			ID int64 `json:"id"`
		} `json:"installation"`
		Member struct {
			Login string `json:"login"`
		} `json:"member"`
		Membership struct {
			User struct {
				Login string `json:"login"`
			} `json:"user"`
		} `json:"membership"`
	}
	if err := json.Unmarshal(payload, &ev); err != nil {
		h.log.Warn("membership event unreadable; dropping no facts", "event", event, "err", err)
		return
	}
	login := ev.Member.Login
	if login == "" {
		login = ev.Membership.User.Login
	}
	h.facts.forget(ev.Installation.ID, login)
}

// isBot reports whether a user is a bot account (Conveyor itself included).
func isBot(u *github.User) bool {
	return u == nil || strings.EqualFold(u.GetType(), "Bot") || strings.HasSuffix(u.GetLogin(), "[bot]")
}

func (h *Handler) onComment(ctx context.Context, deliveryID string, ev *github.IssueCommentEvent) error {
	if ev.GetAction() != "created" || !ev.GetIssue().IsPullRequest() {
		return nil
	}
	if isBot(ev.GetSender()) || isBot(ev.GetComment().GetUser()) {
		return nil
	}
	// A retried delivery whose commands already ran only posts what GitHub
	// has not accepted yet.
	if resumed, err := h.resume(ctx, ev.GetInstallation().GetID(), deliveryID); resumed || err != nil {
		return err
	}
	cmds, perrs := ParseComment(ev.GetComment().GetBody())
	if len(cmds) == 0 && len(perrs) == 0 {
		return nil
	}
	gh, err := h.o.GitHub(ev.GetInstallation().GetID())
	if err != nil {
		return fmt.Errorf("github client for installation %d: %w", ev.GetInstallation().GetID(), err)
	}
	s := &session{
		h: h, gh: gh, installation: ev.GetInstallation().GetID(),
		repo: ev.GetRepo().GetFullName(), pr: ev.GetIssue().GetNumber(),
		actor: ev.GetComment().GetUser().GetLogin(), written: ev.GetComment().GetCreatedAt().Time,
		commentID: ev.GetComment().GetID(), source: fmt.Sprintf("comment:%d", ev.GetComment().GetID()),
		delivery: deliveryID,
	}
	s.react("eyes")
	s.postNow(ctx)
	ok := s.run(ctx, cmds, perrs)
	if ok {
		s.react("rocket")
	} else {
		s.react("confused")
	}
	return s.finish(ctx)
}

// actionCommand maps a check run button identifier to the command line it
// stands for: "deploy-staging" is "/deploy staging".
func actionCommand(identifier string) (string, bool) {
	verb, env, ok := strings.Cut(identifier, "-")
	if !ok || env == "" || (verb != "deploy" && verb != "plan") {
		return "", false
	}
	return "/" + verb + " " + env, true
}

func (h *Handler) onCheckRunAction(ctx context.Context, deliveryID string, ev *github.CheckRunEvent) error {
	if ev.GetAction() != "requested_action" || isBot(ev.GetSender()) {
		return nil
	}
	if resumed, err := h.resume(ctx, ev.GetInstallation().GetID(), deliveryID); resumed || err != nil {
		return err
	}
	line, ok := actionCommand(requestedIdentifier(ev))
	if !ok {
		h.log.Info("unknown check run action ignored", "identifier", requestedIdentifier(ev))
		return nil
	}
	prs := ev.GetCheckRun().PullRequests
	if len(prs) == 0 {
		h.log.Info("check run action on a commit with no open pull request ignored", "check_run", ev.GetCheckRun().GetID())
		return nil
	}
	cmds, perrs := ParseComment(line)
	gh, err := h.o.GitHub(ev.GetInstallation().GetID())
	if err != nil {
		return fmt.Errorf("github client for installation %d: %w", ev.GetInstallation().GetID(), err)
	}
	s := &session{
		h: h, gh: gh, installation: ev.GetInstallation().GetID(),
		repo: ev.GetRepo().GetFullName(), pr: prs[0].GetNumber(), actor: ev.GetSender().GetLogin(),
		// The button belongs to the check run's commit: that is what deploys.
		fixedSHA: ev.GetCheckRun().GetHeadSHA(),
		source:   fmt.Sprintf("action:%d:%s", ev.GetCheckRun().GetID(), deliveryID),
		delivery: deliveryID,
	}
	s.run(ctx, cmds, perrs)
	return s.finish(ctx)
}

func requestedIdentifier(ev *github.CheckRunEvent) string {
	if ev.RequestedAction == nil {
		return ""
	}
	return ev.RequestedAction.Identifier
}
