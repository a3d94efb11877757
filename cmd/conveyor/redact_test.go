package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/conveyor-dev/conveyor/internal/store"
	"github.com/conveyor-dev/conveyor/internal/store/storetest"
)

// serve logs DATABASE_URL and GITHUB_API_URL at start; passwords in them —
// the user info's and a DSN's ?password= — are redacted in every line.
func TestServeLogRedactsURLCredentials(t *testing.T) {
	const dbPass, queryPass, apiToken = "userinfo-pw-93f1", "query-pw-77ab", "ghp_0123456789abcdefghijABCDEFGHIJ012345"
	dbURL := storetest.URL(t, store.Postgres)
	dbURL = strings.Replace(dbURL, "://postgres@", "://postgres:"+dbPass+"@", 1) + "&password=" + queryPass
	cmd := exec.Command(binPath, "serve", "--catch-up", "0", "--workers", "0", "--addr", fmt.Sprintf("127.0.0.1:%d", freePort(t)))
	cmd.Env = append(os.Environ(), "APP_ID=1", "PRIVATE_KEY="+keyPEM(t), "WEBHOOK_SECRET="+secret, "APP_SLUG=conveyor",
		"DATABASE_URL="+dbURL, "GITHUB_API_URL=https://x-access-token:"+apiToken+"@127.0.0.1:9/api/v3")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	lines := make(chan string, 64)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	var seen []string
	timeout := time.After(30 * time.Second)
	for serving := false; !serving; {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("serve exited before serving:\n%s", strings.Join(seen, "\n"))
			}
			seen = append(seen, l)
			serving = strings.Contains(l, `"msg":"conveyor serving"`)
		case <-timeout:
			t.Fatalf("no \"conveyor serving\" line within 30s:\n%s", strings.Join(seen, "\n"))
		}
	}
	all := strings.Join(seen, "\n")
	for _, s := range []string{dbPass, queryPass, apiToken} {
		if strings.Contains(all, s) {
			t.Errorf("serve's log carries %q:\n%s", s, all)
		}
	}
	for _, want := range []string{`"github_api_url":"https://x-access-token:xxxxx@127.0.0.1:9/api/v3"`, "postgres:xxxxx@127.0.0.1", "password=xxxxx"} {
		if !strings.Contains(all, want) {
			t.Errorf("serve's log does not show %s redacted:\n%s", want, all)
		}
	}
}
