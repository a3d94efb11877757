package commands

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/go-github/v66/github"

	"github.com/conveyor-dev/conveyor/internal/store"
)

// session is one comment (or one button press) being handled: who, where,
// and the facts loaded for it, each fetched at most once.
type session struct {
	h            *Handler
	gh           *github.Client
	installation int64
	repo         string
	pr           int
	actor        string
	written      time.Time     // the comment's created_at; zero for buttons
	fixedSHA     string        // a button's commit; "" for comments
	commentID    int64         // 0 for buttons
	source       string        // "comment:<id>" or "action:<check run>:<delivery>"
	startedOnce  bool          // a command of this session already used source as its SourceKey
	delivery     string        // the webhook delivery being handled; names the stored replies
	out          []store.Reply // what the session says on GitHub, in order (see replies.go)

	envs       []string // environments the session's commands name (see governance)
	prInfo     *prInfo
	headChoice *headChoice
	gov        *governance
	actorFacts *ActorFacts
}

// outcome is what one command did: ok false means it was refused or failed;
// text (markdown) is added to the session's reply when not empty.
type outcome struct {
	ok   bool
	text string
}

func done(text string) outcome    { return outcome{ok: true, text: text} }
func refused(text string) outcome { return outcome{text: text} }

// run executes the commands and posts at most one reply. It reports whether
// every command succeeded.
func (s *session) run(ctx context.Context, cmds []Command, perrs []*ParseError) bool {
	if msg, ok := s.admit(ctx, cmds, perrs); !ok {
		s.reply(msg)
		return false
	}
	if len(perrs) > 0 {
		s.reply(renderParseErrors(perrs))
		return false
	}
	for _, c := range cmds {
		if c.Env != "" {
			s.envs = append(s.envs, c.Env)
		}
	}
	if msgs := s.validate(ctx, cmds); len(msgs) > 0 {
		s.reply(strings.Join(msgs, "\n\n"))
		return false
	}
	all := true
	var sections []string
	for _, c := range cmds {
		out := s.exec(ctx, c)
		all = all && out.ok
		if out.text != "" {
			sections = append(sections, fmt.Sprintf("**`%s`**\n\n%s", Excerpt(c.Raw, ExcerptBytes), out.text))
		}
	}
	if len(sections) > 0 {
		s.reply(strings.Join(sections, "\n\n---\n\n"))
	}
	return all
}

// validate checks environment and artifact names against the repository's
// configuration before anything runs. Each command gets at most one message,
// naming all of its unknown artifacts, and quotes only an excerpt of its line.
func (s *session) validate(ctx context.Context, cmds []Command) []string {
	var msgs []string
	for _, c := range cmds {
		if c.Env == "" && len(c.Artifacts) == 0 {
			continue
		}
		spec, _ := LookupSpec(c.Name)
		g, err := s.governance(ctx)
		if err != nil {
			return []string{s.errorText(err)}
		}
		raw := Excerpt(c.Raw, ExcerptBytes)
		if g.Base.Environment(c.Env) == nil {
			msgs = append(msgs, fmt.Sprintf("`%s`: environment %q is not defined in %s on the base branch; %suse one of: %s.\n\nUsage: `%s`",
				raw, c.Env, ".github/conveyor.yml", didYouMean(c.Env, environmentList(g.Base)), envNames(g.Base), spec.Usage))
			continue
		}
		var unknown []string
		hint := ""
		for _, a := range c.Artifacts {
			if g.Defs.Artifact(a) == nil {
				unknown = append(unknown, fmt.Sprintf("%q", a))
				hint += didYouMean(a, artifactList(g.Defs))
			}
		}
		switch len(unknown) {
		case 0:
			continue
		case 1:
			msgs = append(msgs, fmt.Sprintf("`%s`: artifact %s is not defined in .github/conveyor.yml; %suse one of: %s.\n\nUsage: `%s`",
				raw, unknown[0], hint, artifactNames(g.Defs), spec.Usage))
		default:
			msgs = append(msgs, fmt.Sprintf("`%s`: artifacts %s are not defined in .github/conveyor.yml; %suse one of: %s.\n\nUsage: `%s`",
				raw, strings.Join(unknown, ", "), hint, artifactNames(g.Defs), spec.Usage))
		}
	}
	return msgs
}

func (s *session) exec(ctx context.Context, c Command) outcome {
	switch c.Name {
	case "deploy":
		return s.deploy(ctx, c)
	case "plan":
		return s.plan(ctx, c)
	case "rollback":
		return s.rollback(ctx, c)
	case "approve":
		return s.approve(ctx, c)
	case "reject":
		return s.reject(ctx, c)
	case "cancel":
		return s.cancel(ctx)
	case "lock":
		return s.lock(ctx, c)
	case "unlock":
		return s.unlock(ctx, c)
	case "status":
		return s.status(ctx)
	case "help":
		return done(s.help(ctx))
	}
	return refused(fmt.Sprintf("/%s is not handled; write /help for the commands", c.Name))
}

// sourceKey is the deduplication key of a deployment started by c: the first
// such command of a comment uses the plain source, later ones add their line.
func (s *session) sourceKey(c Command) string {
	if !s.startedOnce {
		s.startedOnce = true
		return s.source
	}
	return fmt.Sprintf("%s:%d", s.source, c.Line)
}

// errorText turns an error into a reply: user errors verbatim, anything
// else as a short failure notice (details go to the log).
func (s *session) errorText(err error) string {
	var ue *userError
	if errors.As(err, &ue) {
		return ue.msg
	}
	s.h.log.Error("command failed", "repo", s.repo, "pr", s.pr, "err", err)
	return fmt.Sprintf("Conveyor could not complete this: %v. Try the command again; if it keeps failing, tell the Conveyor operators.", err)
}

func renderParseErrors(perrs []*ParseError) string {
	var b strings.Builder
	b.WriteString("Conveyor could not read this comment, so nothing was run:\n\n")
	for _, e := range perrs {
		fmt.Fprintf(&b, "- line %d `%s`: %s\n", e.Line, e.Raw, e.Message)
		if e.Usage != "" {
			fmt.Fprintf(&b, "  usage: `%s`\n", e.Usage)
		}
	}
	b.WriteString("\nWrite /help for every command.")
	return b.String()
}
