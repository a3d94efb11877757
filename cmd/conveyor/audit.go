package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/conveyor-dev/conveyor/internal/store"
)

func init() { extraCommands = append(extraCommands, newAuditCmd) }

func newAuditCmd() *cobra.Command {
	var f store.AuditFilter
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "List recent audit events (policy decisions, deployments, approvals, locks)",
		Long: "audit lists the newest audit events from the server's database, named by DATABASE_URL.\n" +
			"It only reads: a missing database is an error, never a new empty one.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.Kind != "" && !slices.Contains(store.AuditKinds, f.Kind) {
				return usageErr("--kind %q is not a kind of audit event; write one of %s", f.Kind, strings.Join(store.AuditKinds, ", "))
			}
			if f.Limit < 1 {
				return usageErr("--limit %d: write a number of events, 1 or more", f.Limit)
			}
			st, err := store.OpenExisting(cmd.Context(), os.Getenv("DATABASE_URL"))
			if err != nil {
				return usageErr("%v", err)
			}
			defer st.Close()
			evs, err := st.ListAudit(cmd.Context(), f)
			if err != nil {
				return err
			}
			if asJSON {
				return writeAuditJSON(cmd.OutOrStdout(), evs)
			}
			return writeAuditTable(cmd.OutOrStdout(), evs)
		},
	}
	cmd.Flags().StringVar(&f.Kind, "kind", "", "only this kind ("+strings.Join(store.AuditKinds, ", ")+")")
	cmd.Flags().StringVar(&f.Repository, "repo", "", "only this repository (owner/name)")
	cmd.Flags().IntVar(&f.PR, "pr", 0, "only this pull request (with --repo)")
	cmd.Flags().IntVar(&f.Limit, "limit", 50, "how many events, newest first")
	cmd.Flags().BoolVar(&asJSON, "json", false, "one JSON object per line, every field")
	return cmd
}

// writeAuditJSON prints one event per line.
func writeAuditJSON(w io.Writer, evs []store.AuditEvent) error {
	enc := json.NewEncoder(w)
	for _, e := range evs {
		e.At = e.At.UTC()
		if err := enc.Encode(e); err != nil {
			return err
		}
	}
	return nil
}

// writeAuditTable prints the events as aligned columns; each row says which
// repository, pull request, environment and artifacts it is about.
func writeAuditTable(w io.Writer, evs []store.AuditEvent) error {
	if len(evs) == 0 {
		_, err := fmt.Fprintln(w, "no audit events match")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME (UTC)\tKIND\tACTION\tOUTCOME\tREPOSITORY\tPR\tENVIRONMENT\tARTIFACTS\tACTOR\tDIGEST")
	for _, e := range evs {
		pr := "-"
		if e.PR > 0 {
			pr = "#" + strconv.Itoa(e.PR)
		}
		digest := e.Digest
		if len(digest) > 12 {
			digest = digest[:12]
		}
		actor := e.Actor
		if actor != "" && actor != "conveyor" {
			actor = "@" + actor
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
			e.At.UTC().Format(time.DateTime), e.Kind, e.Action, e.Outcome, dash(e.Repository), pr,
			dash(e.Environment), dash(strings.Join(e.Artifacts, ",")), dash(actor), dash(digest))
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
