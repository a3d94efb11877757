package store_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/conveyor-dev/conveyor/internal/store"
	"github.com/conveyor-dev/conveyor/internal/store/storetest"
)

func TestKeyLocksSerializeOneKey(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		locks := s.KeyLocks(1)
		var inside, most atomic.Int32
		var wg sync.WaitGroup
		for g := 0; g < 8; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < 25; i++ {
					unlock, err := locks.Lock(ctx, 42)
					if err != nil {
						t.Error(err)
						return
					}
					n := inside.Add(1)
					for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
					}
					inside.Add(-1)
					unlock()
				}
			}()
		}
		wg.Wait()
		if most.Load() != 1 {
			t.Fatalf("%d holders at once, want 1", most.Load())
		}
		// Another key is not held up by a held one.
		unlock, _ := locks.Lock(ctx, 42)
		other, err := locks.Lock(ctx, 43)
		if err != nil {
			t.Fatal(err)
		}
		other()
		unlock()
	})
}

// Two stores on one PostgreSQL database stand for two replicas: a key held
// by one waits in the other until released; a lease left by a dead holder
// frees itself when it runs out.
func TestKeyLocksAcrossProcesses(t *testing.T) {
	url := storetest.URL(t, store.Postgres)
	ctx := context.Background()
	open := func() *store.Store {
		s, err := store.Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	a, b := open(), open()
	if err := a.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	la, lb := a.KeyLocks(1), b.KeyLocks(1)

	unlockA, err := la.Lock(ctx, 7)
	if err != nil {
		t.Fatal(err)
	}
	// Another space is another lock.
	slack, err := a.KeyLocks(2).Lock(ctx, 7)
	if err != nil {
		t.Fatal(err)
	}
	slack()
	// A waiter whose context ends gives up with an error.
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	if _, err := lb.Lock(short, 7); err == nil {
		t.Fatal("took a key another process holds")
	}
	got := make(chan func())
	go func() {
		unlock, err := lb.Lock(ctx, 7)
		if err != nil {
			t.Error(err)
			close(got)
			return
		}
		got <- unlock
	}()
	select {
	case <-got:
		t.Fatal("the second process took the key while the first held it")
	case <-time.After(300 * time.Millisecond):
	}
	unlockA()
	unlockB := <-got
	if unlockB == nil {
		t.Fatal("second process failed to take the released key")
	}
	unlockB()
	// Released everywhere: the first process takes it again.
	again, err := la.Lock(ctx, 7)
	if err != nil {
		t.Fatal(err)
	}
	again()

	// A replica that died holding key 9: its lease has run out, so the key
	// is taken at once; a live lease is not.
	if _, err := a.DB.ExecContext(ctx, `INSERT INTO key_locks (space, key, owner, expires_at) VALUES (1, 9, 'dead', 1), (1, 10, 'alive', 9999999999999)`); err != nil {
		t.Fatal(err)
	}
	stale, err := lb.Lock(ctx, 9)
	if err != nil {
		t.Fatal(err)
	}
	stale()
	short2, cancel2 := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel2()
	if _, err := lb.Lock(short2, 10); err == nil {
		t.Fatal("took a key under another replica's live lease")
	}
	var n int
	a.DB.QueryRowContext(ctx, `SELECT count(*) FROM key_locks WHERE key <> 10`).Scan(&n)
	if n != 0 {
		t.Fatalf("%d leases left after every holder released", n)
	}
}
