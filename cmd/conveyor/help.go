package main

import (
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// plainBool hides a bool flag's IsBoolFlag method from help: pflag (since
// 1.0.8) prints every flag that has it as `--name[=true|false]`, which reads as
// if a value were needed. With NoOptDefVal "true" (what BoolVar sets) the
// flag still works as before: `--name` sets it, `--name=false` clears it.
type plainBool struct{ pflag.Value }

// plainBoolFlags walks cmd and its subcommands and wraps each bool flag in
// plainBool, so help prints `--keep` rather than `--keep[=true|false]`. It
// runs once the command tree is built; the help flag is declared up front
// (declareHelp) because cobra adds its own only at execution.
func plainBoolFlags(cmd *cobra.Command) {
	wrap := func(f *pflag.Flag) {
		if f.Value.Type() == "bool" && f.NoOptDefVal == "true" {
			if _, done := f.Value.(plainBool); !done {
				f.Value = plainBool{f.Value}
			}
		}
	}
	cmd.Flags().VisitAll(wrap)
	cmd.PersistentFlags().VisitAll(wrap)
	for _, c := range cmd.Commands() {
		plainBoolFlags(c)
	}
}

// declareHelp gives the root a persistent -h/--help before cobra adds its
// own bool flag to each command, so that plainBoolFlags can wrap it.
func declareHelp(root *cobra.Command) {
	root.PersistentFlags().BoolP("help", "h", false, "help for this command")
}

// usageExamples are the Example sections of `conveyor COMMAND --help`, by command
// path; addExamples fills them in and TestEveryCommandHasAnExample keeps the
// list complete.
var usageExamples = map[string]string{
	"conveyor serve": `  set -a; . ./.env; set +a
  conveyor serve --config conveyor.server.yml
  DATABASE_URL=postgres://conveyor@db/conveyor conveyor serve --config conveyor.server.yml --workers 8`,
	"conveyor check": `  conveyor check --base main
  conveyor check --repo ../shop --base origin/main --config conveyor.server.yml --format markdown`,
	"conveyor demo": `  conveyor demo
  conveyor demo --keep          # leave the server and emulators up and print their URLs`,
	"conveyor policy": `  conveyor policy test
  conveyor policy eval --input input.json`,
	"conveyor policy test": `  conveyor policy test
  conveyor policy test -v /etc/conveyor/policies`,
	"conveyor policy eval": `  conveyor policy eval --input input.json
  conveyor policy eval --input input.json --config conveyor.server.yml`,
	"conveyor audit": `  DATABASE_URL=sqlite:/var/lib/conveyor/conveyor.db conveyor audit --repo acme/shop
  conveyor audit --kind decision --limit 20 --json`,
	"conveyor migrate": `  DATABASE_URL=postgres://conveyor@db/conveyor conveyor migrate`,
	"conveyor setup": `  conveyor setup --webhook-url https://conveyor.example.com/webhooks/github
  conveyor setup --webhook-url https://conveyor.example.com/webhooks/github --org acme`,
	"conveyor version": `  conveyor version`,
}

// addExamples sets each command's Example from usageExamples.
func addExamples(cmd *cobra.Command) {
	if ex, ok := usageExamples[cmd.CommandPath()]; ok && cmd.Example == "" {
		cmd.Example = ex
	}
	for _, c := range cmd.Commands() {
		addExamples(c)
	}
}
