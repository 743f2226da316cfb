package store

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// holdCommitLoop starts a Batch whose function blocks until release is
// closed, so that the calls made meanwhile queue up and form one batch.
// It returns the blocked call's result channel.
func holdCommitLoop(t *testing.T, s *Store, release chan struct{}) chan error {
	t.Helper()
	started := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- s.Batch(func(tx Tx) error {
			close(started)
			<-release
			return tx.Put(testBucket, []byte("hold"), []byte("1"))
		})
	}()
	<-started
	return done
}

// waitQueued waits until n Batch calls wait for a commit.
func waitQueued(t *testing.T, s *Store, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for s.BatchQueue() < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d calls queued, want %d", s.BatchQueue(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestBatchCommitsConcurrentCallsTogetherInOrder(t *testing.T) {
	s, _ := openTemp(t)
	defer s.Close()
	release := make(chan struct{})
	held := holdCommitLoop(t, s, release)
	const n = 50
	errs := make([]chan error, n)
	for i := range n {
		errs[i] = make(chan error, 1)
		go func() {
			errs[i] <- s.Batch(func(tx Tx) error {
				// Each call appends its number: the order of the runs.
				order := string(tx.Get(testBucket, []byte("order")))
				if err := tx.Put(testBucket, []byte("order"), []byte(order+fmt.Sprintf("%d,", i))); err != nil {
					return err
				}
				return tx.Put(testBucket, Key("k", fmt.Sprint(i)), []byte("v"))
			})
		}()
		waitQueued(t, s, i+1) // queue them in a known order
	}
	c0, n0 := s.BatchStats()
	close(release)
	if err := <-held; err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if err := <-errs[i]; err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	c1, n1 := s.BatchStats()
	if c1-c0 != 2 || n1-n0 != n+1 {
		t.Fatalf("%d commits carrying %d calls, want 2 carrying %d", c1-c0, n1-n0, n+1)
	}
	var want strings.Builder
	for i := range n {
		fmt.Fprintf(&want, "%d,", i)
	}
	if err := s.View(func(tx Tx) error {
		if got := string(tx.Get(testBucket, []byte("order"))); got != want.String() {
			return fmt.Errorf("runs in order %s, want %s", got, want.String())
		}
		if got := tx.Count(testBucket); got != n+2 {
			return fmt.Errorf("%d keys, want %d", got, n+2)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

func TestBatchFailureLosesAndDuplicatesNothing(t *testing.T) {
	s, _ := openTemp(t)
	defer s.Close()
	release := make(chan struct{})
	held := holdCommitLoop(t, s, release)
	const n = 20
	const bad = 7
	var runs [n]atomic.Int32
	var hooks [n]atomic.Int32
	errs := make([]chan error, n)
	boom := errors.New("boom")
	for i := range n {
		errs[i] = make(chan error, 1)
		go func() {
			errs[i] <- s.Batch(func(tx Tx) error {
				runs[i].Add(1)
				// A read-modify-write: run twice in one committed
				// transaction it would count twice.
				var total item
				if _, err := GetJSON(tx, testBucket, []byte("total"), &total); err != nil {
					return err
				}
				total.Count++
				if err := PutJSON(tx, testBucket, []byte("total"), total); err != nil {
					return err
				}
				tx.OnCommit(func() { hooks[i].Add(1) })
				if i == bad {
					return boom // after writing: the batch must not keep it
				}
				return nil
			})
		}()
		waitQueued(t, s, i+1)
	}
	close(release)
	if err := <-held; err != nil {
		t.Fatal(err)
	}
	for i := range n {
		err := <-errs[i]
		if i == bad {
			if !errors.Is(err, boom) {
				t.Fatalf("failing call got %v, want its own error", err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	var total item
	if err := s.View(func(tx Tx) error {
		_, err := GetJSON(tx, testBucket, []byte("total"), &total)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if total.Count != n-1 {
		t.Fatalf("total %d, want %d: a write was lost or applied twice", total.Count, n-1)
	}
	for i := range n {
		wantHooks := int32(1)
		if i == bad {
			wantHooks = 0
		}
		if got := hooks[i].Load(); got != wantHooks {
			t.Errorf("call %d: OnCommit ran %d times, want %d", i, got, wantHooks)
		}
	}
	// The calls before the failing one ran again without it; the failing
	// one ran again alone; the calls after it ran once.
	if runs[0].Load() != 2 || runs[bad].Load() != 2 || runs[n-1].Load() != 1 {
		t.Fatalf("runs: first %d, failing %d, last %d; want 2, 2, 1", runs[0].Load(), runs[bad].Load(), runs[n-1].Load())
	}
}

func TestBatchPanicReachesItsCallerOnly(t *testing.T) {
	s, _ := openTemp(t)
	defer s.Close()
	release := make(chan struct{})
	held := holdCommitLoop(t, s, release)
	panicked := make(chan any, 1)
	go func() {
		defer func() { panicked <- recover() }()
		_ = s.Batch(func(tx Tx) error {
			if err := tx.Put(testBucket, []byte("half"), []byte("written")); err != nil {
				return err
			}
			panic("a bug in the function")
		})
	}()
	waitQueued(t, s, 1)
	other := make(chan error, 1)
	go func() {
		other <- s.Batch(func(tx Tx) error { return tx.Put(testBucket, []byte("other"), []byte("1")) })
	}()
	waitQueued(t, s, 2)
	close(release)
	if err := <-held; err != nil {
		t.Fatal(err)
	}
	if p := <-panicked; p == nil {
		t.Fatal("the panicking call returned instead of panicking")
	}
	if err := <-other; err != nil {
		t.Fatalf("other call: %v", err)
	}
	if err := s.View(func(tx Tx) error {
		if tx.Get(testBucket, []byte("half")) != nil {
			return errors.New("the panicking call's write was kept")
		}
		if tx.Get(testBucket, []byte("other")) == nil {
			return errors.New("the other call's write was lost")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

func TestBatchAloneCommitsAtOnce(t *testing.T) {
	s, _ := openTemp(t)
	defer s.Close()
	for i := range 5 {
		if err := s.Batch(func(tx Tx) error { return tx.Put(testBucket, Key("k", fmt.Sprint(i)), nil) }); err != nil {
			t.Fatal(err)
		}
	}
	if c, n := s.BatchStats(); c != 5 || n != 5 {
		t.Fatalf("%d commits of %d calls, want 5 of 5", c, n)
	}
	if q := s.BatchQueue(); q != 0 {
		t.Fatalf("queue %d after the calls returned", q)
	}
}

func TestBatchManyWritersAllDurable(t *testing.T) {
	s, path := openTemp(t)
	const writers, each = 16, 50
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if err := s.Batch(func(tx Tx) error {
					return tx.Put(testBucket, Key(fmt.Sprint(w), fmt.Sprint(i)), []byte("v"))
				}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	commits, calls := s.BatchStats()
	if calls != writers*each {
		t.Fatalf("%d calls committed, want %d", calls, writers*each)
	}
	t.Logf("%d calls in %d commits", calls, commits)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.View(func(tx Tx) error {
		if n := tx.Count(testBucket); n != writers*each {
			return fmt.Errorf("%d keys after reopening, want %d", n, writers*each)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

func TestBatchAfterCloseFails(t *testing.T) {
	s, _ := openTemp(t)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Batch(func(tx Tx) error { return nil }); err == nil {
		t.Fatal("Batch on a closed store succeeded")
	}
}
