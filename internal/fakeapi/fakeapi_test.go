package fakeapi

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

func TestLogRecordsInOrderAndCopies(t *testing.T) {
	var l Log[string]
	if got := l.Calls(); got != nil {
		t.Fatalf("empty log: Calls() = %v, want nil", got)
	}
	l.Record("a")
	l.Record("b")
	got := l.Calls()
	if !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("Calls() = %v, want [a b]", got)
	}
	got[0] = "changed"
	l.Record("c")
	if again := l.Calls(); !slices.Equal(again, []string{"a", "b", "c"}) {
		t.Fatalf("after editing the returned slice, Calls() = %v, want [a b c]", again)
	}
	l.Reset()
	if got := l.Calls(); len(got) != 0 {
		t.Fatalf("after Reset, Calls() = %v", got)
	}
	l.Record("d")
	if got := l.Calls(); !slices.Equal(got, []string{"d"}) {
		t.Fatalf("after Reset and Record, Calls() = %v, want [d]", got)
	}
}

func TestLogConcurrent(t *testing.T) {
	const writers, each = 8, 200
	var l Log[int]
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				l.Record(w*each + i)
				if i%50 == 0 {
					_ = l.Calls()
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range 100 {
			// Each writer's calls must appear in the order it made them.
			last := map[int]int{}
			for _, c := range l.Calls() {
				w := c / each
				if prev, ok := last[w]; ok && c <= prev {
					t.Errorf("writer %d: call %d after %d", w, c, prev)
					return
				}
				last[w] = c
			}
		}
	}()
	wg.Wait()
	got := l.Calls()
	if len(got) != writers*each {
		t.Fatalf("recorded %d calls, want %d", len(got), writers*each)
	}
	slices.Sort(got)
	for i, c := range got {
		if c != i {
			t.Fatalf("call %d missing or duplicated (got %d at %d)", i, c, i)
		}
	}
}

type testFault struct {
	key  string
	code int
}

func matchKey(key string) func(testFault) bool {
	return func(f testFault) bool { return f.key == key || f.key == "*" }
}

func TestFaultsCountAndOrder(t *testing.T) {
	var q Faults[testFault]
	q.Add(testFault{"a", 1}, 2)
	q.Add(testFault{"a", 2}, 1)
	q.Add(testFault{"b", 3}, 1)

	want := []int{1, 1, 2}
	for i, code := range want {
		f, ok := q.Take(matchKey("a"))
		if !ok || f.code != code {
			t.Fatalf("take %d for a: %+v %v, want code %d", i, f, ok, code)
		}
	}
	if f, ok := q.Take(matchKey("a")); ok {
		t.Fatalf("a's faults are used up, got %+v", f)
	}
	if f, ok := q.Take(matchKey("b")); !ok || f.code != 3 {
		t.Fatalf("b's fault must be untouched by a's takes: %+v %v", f, ok)
	}
	if _, ok := q.Take(matchKey("b")); ok {
		t.Fatal("b's fault was good for one use")
	}
}

func TestFaultsFirstMatchWins(t *testing.T) {
	var q Faults[testFault]
	q.Add(testFault{"*", 1}, 1)
	q.Add(testFault{"a", 2}, 1)
	if f, _ := q.Take(matchKey("a")); f.code != 1 {
		t.Fatalf("the wildcard added first must win, got %+v", f)
	}
	if f, _ := q.Take(matchKey("a")); f.code != 2 {
		t.Fatalf("then the specific fault, got %+v", f)
	}
}

func TestFaultsTakeNoMatch(t *testing.T) {
	var q Faults[testFault]
	if f, ok := q.Take(matchKey("a")); ok || f != (testFault{}) {
		t.Fatalf("empty queue: %+v %v, want zero and false", f, ok)
	}
	q.Add(testFault{"b", 7}, 1)
	if f, ok := q.Take(matchKey("a")); ok || f != (testFault{}) {
		t.Fatalf("no match: %+v %v, want zero and false", f, ok)
	}
	if f, ok := q.Take(matchKey("b")); !ok || f.code != 7 {
		t.Fatalf("a Take that matched nothing must not use up other faults: %+v %v", f, ok)
	}
}

func TestFaultsNonPositiveCountAppliesOnce(t *testing.T) {
	var q Faults[testFault]
	q.Add(testFault{"a", 1}, 0)
	q.Add(testFault{"a", 2}, -3)
	for _, code := range []int{1, 2} {
		if f, ok := q.Take(matchKey("a")); !ok || f.code != code {
			t.Fatalf("got %+v %v, want code %d once", f, ok, code)
		}
	}
	if _, ok := q.Take(matchKey("a")); ok {
		t.Fatal("faults added with n < 1 apply exactly once")
	}
}

func TestFaultsConcurrentTakesUseEachOnce(t *testing.T) {
	const uses = 500
	var q Faults[testFault]
	q.Add(testFault{"a", 1}, uses)
	var mu sync.Mutex
	taken := 0
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				if _, ok := q.Take(matchKey("a")); !ok {
					return
				}
				mu.Lock()
				taken++
				mu.Unlock()
			}
		}()
	}
	for range 20 {
		q.Add(testFault{"other", 2}, 1)
	}
	wg.Wait()
	if taken != uses {
		t.Fatalf("taken %d times, want exactly %d", taken, uses)
	}
}

func TestLatencyWait(t *testing.T) {
	var l Latency
	if !l.Wait(context.Background()) {
		t.Fatal("no latency: Wait must return true")
	}
	l.Set(20 * time.Millisecond)
	start := time.Now()
	if !l.Wait(context.Background()) {
		t.Fatal("Wait with a live context must return true")
	}
	if d := time.Since(start); d < 20*time.Millisecond {
		t.Fatalf("Wait returned after %v, want at least 20ms", d)
	}
	l.Set(0)
	start = time.Now()
	if !l.Wait(context.Background()) || time.Since(start) > time.Second {
		t.Fatal("after Set(0) Wait must return true at once")
	}
}

func TestLatencyWaitCancelled(t *testing.T) {
	var l Latency
	l.Set(time.Hour)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	start := time.Now()
	if l.Wait(ctx) {
		t.Fatal("Wait must return false when the context ends first")
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("Wait took %v, want it to end with the context", d)
	}

	done, stop := context.WithCancel(context.Background())
	stop()
	if l.Wait(done) {
		t.Fatal("an already cancelled context must end Wait at once")
	}
}

func TestLatencyConcurrentSet(t *testing.T) {
	var l Latency
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			l.Set(time.Duration(i) * time.Microsecond)
		}()
		go func() {
			defer wg.Done()
			l.Wait(context.Background())
		}()
	}
	wg.Wait()
}

func TestFaultsReset(t *testing.T) {
	var q Faults[testFault]
	q.Add(testFault{"a", 1}, 5)
	q.Reset()
	if f, ok := q.Take(matchKey("a")); ok {
		t.Fatalf("after Reset, Take = %+v", f)
	}
	q.Add(testFault{"a", 2}, 1)
	if f, ok := q.Take(matchKey("a")); !ok || f.code != 2 {
		t.Fatalf("a fault added after Reset: %+v %v", f, ok)
	}
}

// recordingTB records what HoldToContract does with a test.
type recordingTB struct {
	cleanups []func()
	errors   []string
}

func (r *recordingTB) Helper()                   {}
func (r *recordingTB) Cleanup(f func())          { r.cleanups = append(r.cleanups, f) }
func (r *recordingTB) Errorf(f string, a ...any) { r.errors = append(r.errors, fmt.Sprintf(f, a...)) }

func TestHoldToContractClosesThenFailsWithEachViolation(t *testing.T) {
	var l Log[string]
	tb := &recordingTB{}
	closed := false
	HoldToContract(tb, "xfake contract (v1)", func() { closed = true }, l.Calls)
	l.Record("POST /a: missing field")
	l.Record("GET /b: body on a GET")
	if got := l.Take(); len(got) != 2 || l.Calls() != nil {
		t.Fatalf("Take() = %v, then Calls() = %v; want both, then none", got, l.Calls())
	}
	l.Record("PUT /c: unknown operation")
	if len(tb.cleanups) != 1 {
		t.Fatalf("cleanups = %d, want 1", len(tb.cleanups))
	}
	tb.cleanups[0]()
	if !closed || !slices.Equal(tb.errors, []string{"xfake contract (v1): PUT /c: unknown operation"}) {
		t.Fatalf("closed %v, errors %q; want closed and the one violation left", closed, tb.errors)
	}
}
