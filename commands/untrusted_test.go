package commands

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// allocatedBy returns how many bytes f allocated (this process: handler and
// the in-process GitHub emulator together).
func allocatedBy(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// unknownNames returns n short artifact names no config defines.
func unknownNames(from, n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, " n%d", from+i)
	}
	return b.String()
}

// The attack of issue #12 item 2: a 32 KB comment of commands naming
// thousands of artifacts, from someone with read permission. Before, every
// unknown artifact was validated and its message repeated the whole line
// (1.29 GB of heap in 3 s); now the permission is checked first and the
// comment is answered once, without reading the configuration.
func TestReaderCommentIsAnsweredBeforeValidation(t *testing.T) {
	e := newEnv(t)
	e.gh.SetPermission(testRepo, "dev", "write")
	e.gh.SetPermission(testRepo, "outsider", "read")
	pr := e.openPR("feature", "dev", webChange())

	var lines []string
	for i := 0; len(strings.Join(lines, "\n")) < 32<<10; i++ {
		lines = append(lines, "/deploy staging"+unknownNames(i*MaxArguments, MaxArguments))
		lines = append(lines, strings.Repeat("filler words to make the comment long ", 20))
	}
	body := strings.Join(lines, "\n")
	e.gh.ResetCalls()
	var id int64
	alloc := allocatedBy(func() { id = e.comment(pr, "outsider", body) })
	t.Logf("a %d-byte comment from an outsider: %d KiB allocated", len(body), alloc>>10)

	if alloc > 16<<20 {
		t.Errorf("handling the comment allocated %d MiB, want under 16", alloc>>20)
	}
	reply := e.oneReply(pr)
	mustContain(t, reply, "Nothing in this comment was run: @outsider has read permission on acme/shop", "/deploy only from people with triage permission")
	if len(reply) > 512 {
		t.Errorf("reply is %d bytes, want a short one:\n%s", len(reply), reply)
	}
	if got := e.reactions(id); got != "eyes,confused" {
		t.Errorf("reactions = %q, want eyes,confused", got)
	}
	if calls := e.gh.CallsMatching("GET", "/repos/acme/shop/contents/"); len(calls) != 0 {
		t.Errorf("an outsider's comment read the configuration (%d contents calls): it was validated", len(calls))
	}
	if len(e.starts()) != 0 {
		t.Fatal("an outsider started a deployment")
	}

	// One line holding the 32 KB: not explained to an outsider either.
	alloc = allocatedBy(func() { e.comment(pr, "outsider", "/deploy staging"+unknownNames(0, 5000)) })
	t.Logf("a one-line comment of 5,000 names from an outsider: %d KiB allocated", alloc>>10)
	if alloc > 16<<20 {
		t.Errorf("handling the one-line comment allocated %d MiB, want under 16", alloc>>20)
	}
	r := e.replies(pr)
	if len(r) != 2 || len(r[1]) > 1024 {
		t.Fatalf("replies = %d, the second %d bytes; want one more short reply", len(r), len(r[len(r)-1]))
	}
	mustContain(t, r[1], "Nothing in this comment was run")
}

// The permission lookup is cached per repository and login: a burst of
// comments from an outsider costs one call.
func TestReaderPermissionIsCached(t *testing.T) {
	e := newEnv(t)
	e.gh.SetPermission(testRepo, "dev", "write")
	pr := e.openPR("feature", "dev", webChange())
	e.gh.ResetCalls()
	for range 5 {
		e.comment(pr, "outsider", "/deploy staging")
	}
	if n := len(e.gh.CallsMatching("GET", "/repos/acme/shop/collaborators/outsider/permission")); n != 1 {
		t.Errorf("%d permission calls for 5 comments, want 1", n)
	}
	if n := len(e.replies(pr)); n != 5 {
		t.Errorf("%d replies, want one per comment", n)
	}
}

// A writer's comment with 10,000 unknown artifact names gets one reply of
// bounded size, whether the names share one line or fill many commands.
func TestTenThousandUnknownArtifactsGetOneBoundedReply(t *testing.T) {
	for name, body := range map[string]string{
		"one line": "/deploy staging" + unknownNames(0, 10000),
		"many commands": func() string {
			var b strings.Builder
			for i := range 10000 / MaxArguments {
				b.WriteString("/deploy staging" + unknownNames(i*MaxArguments, MaxArguments) + "\n")
			}
			return b.String()
		}(),
		"ten valid commands": func() string {
			var b strings.Builder
			for i := range MaxCommandsPerComment {
				b.WriteString("/plan staging" + unknownNames(i*MaxArguments, MaxArguments) + "\n")
			}
			return b.String()
		}(),
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			e.gh.SetPermission(testRepo, "dev", "write")
			pr := e.openPR("feature", "dev", webChange())
			e.comment(pr, "dev", body)
			reply := e.oneReply(pr)
			if len(reply) > 16<<10 {
				t.Errorf("reply is %d bytes, want at most 16 KiB", len(reply))
			}
			if !strings.Contains(reply, "at most") && !strings.Contains(reply, "are not defined") {
				t.Errorf("reply names neither a limit nor the unknown artifacts:\n%s", reply)
			}
			if len(e.starts()) != 0 {
				t.Fatal("a bad comment started a deployment")
			}
		})
	}
}
