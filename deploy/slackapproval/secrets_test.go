package slackapproval_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/conveyor-dev/conveyor/deploy"
	"github.com/conveyor-dev/conveyor/deploy/driver"
	"github.com/conveyor-dev/conveyor/deploy/slackapproval"
	"github.com/conveyor-dev/conveyor/internal/secretmask"
	"github.com/conveyor-dev/conveyor/internal/serverconfig"
	"github.com/conveyor-dev/conveyor/internal/testwait"
)

// leakyScript is a deploy script run with set -x: the shell echoes every
// command, token included, to stderr. It prints the token plainly, in a
// labelled header, and an installation-style token nobody
// registered; the deploy fails so its output reaches "What went wrong",
// the rollback succeeds. (A token split across output chunks is covered by
// the driver's and secretmask's stream tests.)
const leakyScript = `#!/bin/sh
set -x
curl -sf -H "Authorization: token $DEPLOY_TOKEN" https://deployer.internal/ >/dev/null 2>&1
echo "minted ghs_0123456789abcdefghijABCDEFGHIJ012345"
if [ "$CONVEYOR_ACTION" = rollback ]; then exit 0; fi
echo "deploy failed for $DEPLOY_TOKEN" >&2
exit 1
`

// The token a set -x script prints is in none of what Conveyor stores or
// posts: the PR comment and every other GitHub call, audit_events,
// deployment_artifacts, deployments, and the Slack message and thread.
func TestDriverOutputSecretsNeverLeave(t *testing.T) {
	const token = "dTok-5f3a9c1e7b2d4680aa"
	script := filepath.Join(t.TempDir(), "deploy.sh")
	if err := os.WriteFile(script, []byte(leakyScript), 0o755); err != nil {
		t.Fatal(err)
	}
	getenv := func(k string) string {
		if k == "DEPLOY_TOKEN_SRC" {
			return token
		}
		return ""
	}
	cfg := serverconfig.Driver{Type: "exec", Command: []string{script}, Env: map[string]string{"DEPLOY_TOKEN": "$DEPLOY_TOKEN_SRC"}}
	mask := secretmask.New(driver.SecretValues(cfg, getenv)...)
	drv, err := driver.New("web-exec", cfg, driver.Deps{Env: getenv, Mask: mask})
	if err != nil {
		t.Fatal(err)
	}
	w := newWorld(t, time.Hour, func(o *deploy.Options) {
		o.Drivers = func(string) (driver.Driver, error) { return drv, nil }
		o.Mask = mask
	})
	d := w.start("production")
	m := w.message(d)
	w.click(m.TS, slackapproval.ActionApprove, uSam)
	w.click(m.TS, slackapproval.ActionApprove, uBob)
	final := waitState(w, d.ID, deploy.StateRolledBack)
	testwait.For(t, "the failure in the Slack thread", func() bool {
		for _, r := range w.slack.Thread(prodChannel, m.TS) {
			if strings.Contains(r.Text, "Rolled back") {
				return true
			}
		}
		return false
	})
	var comment string
	testwait.For(t, "the status comment to show the output", func() bool {
		comment = ""
		for _, c := range w.gh.CallsMatching("", "/repos/"+repo+"/issues/") {
			if strings.Contains(string(c.Body), "What went wrong") {
				comment = string(c.Body)
			}
		}
		return strings.Contains(comment, "output (last lines)")
	})

	leaks := []string{token, "ghs_0123456789abcdefghij"}
	check := func(where, text string) {
		t.Helper()
		for _, l := range leaks {
			if strings.Contains(text, l) {
				t.Errorf("%s carries %q:\n%s", where, l, text)
			}
		}
	}
	// The masks are there, so the output did flow where it is checked.
	for _, want := range []string{"Authorization: token ***", "deploy failed for ***", "minted ***"} {
		if !strings.Contains(comment, want) {
			t.Errorf("PR comment does not show %q:\n%s", want, comment)
		}
	}
	check("the deployment's error", final.Error)
	for _, c := range w.gh.Calls() {
		check(fmt.Sprintf("GitHub call %s %s", c.Method, c.Path), string(c.Body))
	}
	for _, c := range w.slack.Calls() {
		check("Slack call "+c.Method, c.Body)
	}
	for _, r := range w.slack.Thread(prodChannel, m.TS) {
		check("Slack thread", r.Text)
	}
	for _, table := range []string{"audit_events", "deployment_artifacts", "deployments"} {
		check(table, dumpTable(t, w.st.DB, table))
	}
	if out := dumpTable(t, w.st.DB, "deployment_artifacts"); !strings.Contains(out, "deploy failed for ***") {
		t.Errorf("deployment_artifacts does not hold the masked output:\n%s", out)
	}
}

// dumpTable returns every row of table as text.
func dumpTable(t *testing.T, db *sql.DB, table string) string {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), "SELECT * FROM "+table)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var b strings.Builder
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		for i, v := range vals {
			if bs, ok := v.([]byte); ok {
				v = string(bs)
			}
			fmt.Fprintf(&b, "%s=%v ", cols[i], v)
		}
		b.WriteString("\n")
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}
