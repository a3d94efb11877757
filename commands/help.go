package commands

import (
	"errors"
	"fmt"
	"strings"
)

// Spec describes one command: its usage line and help text sit next to its
// parser, and /help is assembled from them (Prow plugin help style).
type Spec struct {
	Name  string // the word after "/", lowercase
	Usage string // one line, e.g. "/deploy <env> [artifact ...]"
	Help  string // one sentence: what the command does
	parse func(args *argScanner) (Command, error)
}

// commandSpecs is the registry of every command, in the order /help lists them.
var commandSpecs = []Spec{
	{
		Name: "deploy", Usage: "/deploy <env> [artifact ...]",
		Help:  "Deploy the PR head commit to an environment: every artifact the PR touches, or only those named.",
		parse: parseEnvAndArtifacts("deploy"),
	},
	{
		Name: "plan", Usage: "/plan <env> [artifact ...]",
		Help:  "Dry run: show what would deploy, the policy decision and the approvals still needed.",
		parse: parseEnvAndArtifacts("plan"),
	},
	{
		Name: "rollback", Usage: "/rollback <env> [artifact ...]",
		Help:  "Return the environment to the last successful deployment before this one.",
		parse: parseEnvAndArtifacts("rollback"),
	},
	{
		Name: "approve", Usage: "/approve [env]",
		Help:  "Approve the pending deployment (of this environment, when several wait); the same rules as approving in Slack.",
		parse: parseApprove,
	},
	{
		Name: "reject", Usage: `/reject [env] ["reason"]`,
		Help:  "Reject the pending deployment, with an optional reason (quote it when you leave out the environment).",
		parse: parseReject,
	},
	{
		Name: "cancel", Usage: "/cancel",
		Help:  "Stop a pending or running rollout of this PR, then roll back what it changed.",
		parse: parseNoArgs("cancel"),
	},
	{
		Name: "lock", Usage: `/lock <env> ["reason"]`,
		Help:  "Lock an environment so that nothing deploys to it until /unlock, with an optional reason.",
		parse: parseLock,
	},
	{
		Name: "unlock", Usage: "/unlock <env>",
		Help:  "Remove the lock from an environment.",
		parse: parseUnlock,
	},
	{
		Name: "status", Usage: "/status",
		Help:  "Show what runs where, the locks and the pending approvals.",
		parse: parseNoArgs("status"),
	},
	{
		Name: "help", Usage: "/help",
		Help:  "Show this help.",
		parse: parseNoArgs("help"),
	},
}

// CommandSpecs returns every command's Spec, in /help order.
func CommandSpecs() []Spec {
	return append([]Spec(nil), commandSpecs...)
}

// LookupSpec returns the Spec of a command name ("deploy" or "/Deploy").
func LookupSpec(name string) (Spec, bool) {
	return lookup(strings.TrimPrefix(name, "/"))
}

func lookup(name string) (Spec, bool) {
	name = strings.ToLower(name)
	for _, s := range commandSpecs {
		if s.Name == name {
			return s, true
		}
	}
	return Spec{}, false
}

// Help renders every command's usage and help as Markdown for a PR comment.
func Help() string {
	var b strings.Builder
	b.WriteString("### Conveyor commands\n\n")
	b.WriteString("Write one command per line in a PR comment.\n\n")
	b.WriteString("| command | what it does |\n|---|---|\n")
	for _, s := range commandSpecs {
		fmt.Fprintf(&b, "| `%s` | %s |\n", s.Usage, s.Help)
	}
	fmt.Fprintf(&b, "\nEnvironments and artifacts are the names in `.github/conveyor.yml`. "+
		"A comment may hold up to %d commands, each on a line of its own in plain text: "+
		"lines in code, quotes, lists and HTML comments are ignored.\n", MaxCommandsPerComment)
	return b.String()
}

func parseEnvAndArtifacts(name string) func(*argScanner) (Command, error) {
	return func(a *argScanner) (Command, error) {
		env, err := a.env()
		if err != nil {
			return Command{}, err
		}
		if env == "" {
			return Command{}, fmt.Errorf("needs an environment, like /%s staging", name)
		}
		arts, err := a.artifacts()
		if err != nil {
			return Command{}, err
		}
		return Command{Env: env, Artifacts: arts}, nil
	}
}

func parseNoArgs(name string) func(*argScanner) (Command, error) {
	return func(a *argScanner) (Command, error) {
		if !a.done() {
			return Command{}, fmt.Errorf("takes no arguments; write /%s alone on its line", name)
		}
		return Command{}, nil
	}
}

func parseApprove(a *argScanner) (Command, error) {
	env, err := a.env()
	if err != nil {
		return Command{}, err
	}
	if !a.done() {
		return Command{}, errors.New("takes at most one environment, like /approve production")
	}
	return Command{Env: env}, nil
}

func parseReject(a *argScanner) (Command, error) {
	var env string
	if !startsQuoted(a.s) {
		var err error
		if env, err = a.env(); err != nil {
			return Command{}, err
		}
	}
	reason, err := a.reason()
	if err != nil {
		return Command{}, err
	}
	return Command{Env: env, Reason: reason}, nil
}

func parseLock(a *argScanner) (Command, error) {
	if startsQuoted(a.s) {
		return Command{}, errors.New(`needs an environment before the reason, like /lock production "release freeze"`)
	}
	env, err := a.env()
	if err != nil {
		return Command{}, err
	}
	if env == "" {
		return Command{}, errors.New("needs an environment, like /lock production")
	}
	reason, err := a.reason()
	if err != nil {
		return Command{}, err
	}
	return Command{Env: env, Reason: reason}, nil
}

func parseUnlock(a *argScanner) (Command, error) {
	env, err := a.env()
	if err != nil {
		return Command{}, err
	}
	if env == "" {
		return Command{}, errors.New("needs an environment, like /unlock production")
	}
	if !a.done() {
		return Command{}, errors.New("takes only an environment; a reason belongs on /lock")
	}
	return Command{Env: env}, nil
}

func startsQuoted(s string) bool {
	s = strings.TrimLeft(s, " \t")
	return s != "" && (s[0] == '"' || s[0] == '\'')
}
