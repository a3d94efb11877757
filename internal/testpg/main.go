// Command testpg runs a command (the test suite) with a PostgreSQL server it
// can use. When one already answers at $CONVEYOR_TEST_POSTGRES, or at the
// default test URL, the command runs against it unchanged. Otherwise testpg
// creates a private, throwaway cluster (initdb and pg_ctl into a temporary
// folder, a free loopback port, trust auth), points CONVEYOR_TEST_POSTGRES at
// it for the command, and removes it afterwards, so `make test` needs no
// PostgreSQL set up by hand: only its server programs installed.
//
// Usage: go run ./internal/testpg -- go test ./...
package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
)

// defaultURL is the server this project's machines and CI start; it matches
// internal/store/storetest.DefaultPostgresURL. A variable so that a build can
// point it elsewhere (-ldflags "-X main.defaultURL=...").
var defaultURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

func main() {
	args := os.Args[1:]
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "usage: testpg -- COMMAND [ARG ...]")
		os.Exit(2)
	}
	os.Exit(run(args))
}

func run(args []string) int {
	if u := os.Getenv("CONVEYOR_TEST_POSTGRES"); u != "" {
		// The caller chose a server: use it as it is, reachable or not, so a
		// misconfigured URL fails the tests loudly instead of being replaced.
		return runCommand(args, nil)
	}
	if answers(defaultURL) {
		return runCommand(args, nil)
	}
	bin, err := serverPrograms()
	if err != nil {
		fmt.Fprintf(os.Stderr, "testpg: no PostgreSQL answers at %s and %v.\n"+
			"testpg: install PostgreSQL's server programs (Debian/Ubuntu: apt-get install postgresql; macOS: brew install postgresql) or set CONVEYOR_TEST_POSTGRES.\n",
			defaultURL, err)
		return 2
	}
	c, err := startCluster(bin)
	if err != nil {
		fmt.Fprintf(os.Stderr, "testpg: start a throwaway PostgreSQL: %v\n", err)
		return 2
	}
	defer c.stop()
	fmt.Fprintf(os.Stderr, "testpg: no PostgreSQL at %s; using a throwaway cluster at %s (removed afterwards)\n", defaultURL, c.url)
	return runCommand(args, []string{"CONVEYOR_TEST_POSTGRES=" + c.url})
}

// answers reports whether a PostgreSQL server accepts a query at url.
func answers(url string) bool {
	db, err := sql.Open("pgx", url)
	if err != nil {
		return false
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	return db.PingContext(ctx) == nil
}

// runCommand runs args with extra environment, passing signals through, and
// returns its exit status.
func runCommand(args, env []string) int {
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), env...)
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(os.Stderr, "testpg: %v\n", err)
		return 2
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sig)
	go func() {
		for s := range sig {
			_ = cmd.Process.Signal(s)
		}
	}()
	err := cmd.Wait()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "testpg: %v\n", err)
		return 2
	}
	return 0
}

// serverPrograms finds the folder holding initdb and pg_ctl: on PATH, or
// where Debian and Homebrew install them (newest version first).
func serverPrograms() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		if _, err := exec.LookPath("pg_ctl"); err == nil {
			return filepath.Dir(p), nil
		}
	}
	var dirs []string
	for _, pattern := range []string{"/usr/lib/postgresql/*/bin", "/opt/homebrew/opt/postgresql*/bin", "/usr/local/opt/postgresql*/bin"} {
		m, _ := filepath.Glob(pattern)
		dirs = append(dirs, m...)
	}
	sort.Sort(sort.Reverse(sort.StringSlice(dirs)))
	for _, d := range dirs {
		if isFile(filepath.Join(d, "initdb")) && isFile(filepath.Join(d, "pg_ctl")) {
			return d, nil
		}
	}
	return "", errors.New("its server programs (initdb, pg_ctl) are not installed")
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

type cluster struct {
	bin, dir, url string
	cred          *syscall.Credential
}

// startCluster initialises and starts a cluster in a new temporary folder on a
// free loopback port, then creates the test database.
func startCluster(bin string) (*cluster, error) {
	dir, err := os.MkdirTemp("", "conveyor-testpg-")
	if err != nil {
		return nil, err
	}
	c := &cluster{bin: bin, dir: dir}
	// PostgreSQL refuses to run as root; as root, run it as the postgres
	// system user that the distribution's package creates.
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			os.RemoveAll(dir)
			return nil, errors.New("running as root and there is no postgres user to run the server as")
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		c.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(dir, uid, gid); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	port, err := freePort()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	data := filepath.Join(dir, "data")
	if out, err := c.pg("initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("initdb: %v: %s", err, out)
	}
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200", port, dir)
	if out, err := c.pg("pg_ctl", "-D", data, "-o", opts, "-l", filepath.Join(dir, "server.log"), "-w", "-t", "60", "start"); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("pg_ctl start: %v: %s", err, out)
	}
	admin := fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	db, err := sql.Open("pgx", admin)
	if err == nil {
		_, err = db.Exec("CREATE DATABASE test")
		db.Close()
	}
	if err != nil {
		c.stop()
		return nil, fmt.Errorf("create database test: %w", err)
	}
	c.url = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/test?sslmode=disable", port)
	return c, nil
}

// pg runs one of PostgreSQL's server programs (as the postgres user when
// testpg runs as root).
func (c *cluster) pg(name string, args ...string) ([]byte, error) {
	cmd := exec.Command(filepath.Join(c.bin, name), args...)
	cmd.Dir = c.dir
	if c.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	}
	return cmd.CombinedOutput()
}

// stop shuts the cluster down at once and removes its folder.
func (c *cluster) stop() {
	_, _ = c.pg("pg_ctl", "-D", filepath.Join(c.dir, "data"), "-m", "immediate", "-w", "stop")
	os.RemoveAll(c.dir)
}

// freePort asks the kernel for a loopback port nobody listens on.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
