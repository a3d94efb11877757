package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/conveyor-dev/conveyor/internal/serverconfig"
	"github.com/conveyor-dev/conveyor/internal/store"
	"github.com/conveyor-dev/conveyor/policies"
)

func init() { extraCommands = append(extraCommands, newPolicyCmd) }

func newPolicyCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "policy",
		Short: "Test and evaluate Conveyor's Rego policies",
	}
	var verbose bool
	test := &cobra.Command{
		Use:   "test [dir ...]",
		Short: "Run the Rego tests of the embedded bundle and of extra policy directories (like opa test)",
		RunE: func(cmd *cobra.Command, args []string) error {
			passed, failed, err := policies.RunTests(cmd.Context(), args, cmd.OutOrStdout(), verbose)
			if err != nil {
				return usageErr("%v", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%d passed, %d failed\n", passed, failed)
			if failed > 0 {
				return &exitError{code: 1, err: fmt.Errorf("%d policy tests failed", failed)}
			}
			return nil
		},
	}
	test.Flags().BoolVarP(&verbose, "verbose", "v", false, "print every test")
	var input, action, dir, config string
	var document bool
	eval := &cobra.Command{
		Use:   "eval --input input.json",
		Short: "Print the policy decision for an input document",
		Long:  "eval reads an input document (the JSON Conveyor builds, see docs/policies.md), optionally overrides its action,\nand prints the decision of the embedded bundle plus --dir policies, with the server config's teams and pricing as data.",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if input == "" {
				return usageErr("--input: missing (write --input input.json, or - for standard input)")
			}
			if action != "" {
				if err := policies.CheckAction(action); err != nil {
					return usageErr("--action: %v", err)
				}
			}
			r := os.Stdin
			if input != "-" {
				f, err := os.Open(input)
				if err != nil {
					return usageErr("--input: %v", err)
				}
				defer f.Close()
				r = f
			}
			in, err := policies.ParseInput(r)
			if err != nil {
				return usageErr("--input %s: %v", input, err)
			}
			if action != "" {
				in.Action = action
			}
			if err := policies.CheckAction(in.Action); err != nil {
				return usageErr("--input %s: %v (or give --action)", input, err)
			}
			if in.Now == "" {
				in.Now = time.Now().UTC().Format(time.RFC3339)
			}
			if document {
				b, err := policies.Document(in)
				if err != nil {
					return usageErr("--input %s: %v", input, err)
				}
				_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s\n", b)
				return err
			}
			scfg := serverconfig.Default()
			if config != "" {
				if scfg, err = loadServerConfig(config); err != nil {
					return usageErr("%v", err)
				}
			}
			if dir == "" {
				dir = scfg.Policies.Dir
			}
			ev, err := policies.New(cmd.Context(), policies.Options{Dir: dir, Config: scfg})
			if err != nil {
				return usageErr("%v", err)
			}
			d, meta, err := ev.Eval(cmd.Context(), in)
			if err != nil {
				return err
			}
			out := map[string]any{"decision": d, "input_digest": meta.InputDigest, "revision": meta.Revision}
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetIndent("", "  ")
			return enc.Encode(out)
		},
	}
	eval.Flags().StringVar(&input, "input", "", "input document (JSON file, or - for stdin)")
	eval.Flags().StringVar(&action, "action", "", "override the input's action (check, deploy, approve, rollback, lock)")
	eval.Flags().StringVar(&dir, "dir", "", "extra policy directory (default: the server config's policies.dir)")
	eval.Flags().StringVar(&config, "config", "", "server config file for teams, quotas and pricing")
	eval.Flags().BoolVar(&document, "document", false, "print the document the policy evaluates (the input plus what Conveyor derives), for opa eval -i, instead of deciding")
	cmd.AddCommand(test, eval)
	return cmd
}

// auditRecorder writes policy decisions to the audit log.
type auditRecorder struct{ st *store.Store }

// RecordDecision stores one decision with its input digest and bundle revision.
func (a auditRecorder) RecordDecision(ctx context.Context, r policies.Record) error {
	detail, _ := json.Marshal(r.Decision)
	outcome := "deny"
	if r.Decision.Allow {
		outcome = "allow"
	}
	return store.AppendAudit(ctx, a.st.DB, store.AuditEvent{
		At: r.Time, Kind: "decision", Repository: r.Repository, PR: r.PR, Environment: r.Environment, Artifacts: r.Artifacts,
		Actor: r.Actor, Action: r.Action, Digest: r.InputDigest, Revision: r.Revision, Outcome: outcome, Detail: detail,
	})
}
