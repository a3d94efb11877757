package main

import (
	"os"
	"os/exec"
	"strconv"
	"testing"
)

// TestThrowawayCluster starts a private cluster the way `make test` does when
// no server answers, runs a command against it, and removes it afterwards.
func TestThrowawayCluster(t *testing.T) {
	bin, err := serverPrograms()
	if err != nil {
		t.Fatalf("PostgreSQL's server programs are needed for this test: %v", err)
	}
	c, err := startCluster(bin)
	if err != nil {
		t.Fatalf("start cluster: %v", err)
	}
	if !answers(c.url) {
		c.stop()
		t.Fatalf("the throwaway cluster at %s does not answer", c.url)
	}
	// The command sees the cluster through CONVEYOR_TEST_POSTGRES.
	self, _ := exec.LookPath("sh")
	if code := runCommand([]string{self, "-c", `test "$CONVEYOR_TEST_POSTGRES" = "` + c.url + `"`}, []string{"CONVEYOR_TEST_POSTGRES=" + c.url}); code != 0 {
		t.Errorf("the command did not see CONVEYOR_TEST_POSTGRES=%s (exit %d)", c.url, code)
	}
	c.stop()
	if _, err := os.Stat(c.dir); !os.IsNotExist(err) {
		t.Errorf("cluster folder %s still exists after stop (err %v)", c.dir, err)
	}
	if answers(c.url) {
		t.Errorf("the cluster still answers at %s after stop", c.url)
	}
}

// TestExitStatusPassesThrough: a failing test run fails make test.
func TestExitStatusPassesThrough(t *testing.T) {
	if code := runCommand([]string{"sh", "-c", "exit 3"}, nil); code != 3 {
		t.Errorf("exit status = %d, want 3", code)
	}
	if code := runCommand([]string{"/nonexistent/program"}, nil); code != 2 {
		t.Errorf("a command that cannot start gives %d, want 2", code)
	}
}

// TestUnreachableURL: nothing listens on a closed port.
func TestUnreachableURL(t *testing.T) {
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	u := "postgres://postgres@127.0.0.1:" + strconv.Itoa(port) + "/test?sslmode=disable&connect_timeout=2"
	if answers(u) {
		t.Errorf("answers(%s) = true with nothing listening", u)
	}
}
