package store

import (
	"errors"
	"fmt"
	"sync"
	"syscall"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// checkFile runs bbolt's full consistency check on a closed database file.
func checkFile(t *testing.T, path string) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("open for check: %v", err)
	}
	defer db.Close()
	if err := db.View(func(tx *bolt.Tx) error {
		var errs []error
		for err := range tx.Check() {
			errs = append(errs, err)
		}
		return errors.Join(errs...)
	}); err != nil {
		t.Fatalf("bbolt check: %v", err)
	}
}

func TestDiskFullFailsCommitsAndLeavesNothingHalfWritten(t *testing.T) {
	s, path := openTemp(t)
	put := func(key string) error {
		return s.Update(func(tx Tx) error { return PutJSON(tx, testBucket, []byte(key), item{Name: key}) })
	}
	// Write and delete a few hundred pages, so that small commits below
	// reuse free pages instead of growing the file.
	big := make([]byte, 8000)
	for _, del := range []bool{false, true} {
		if err := s.Update(func(tx Tx) error {
			for i := range 200 {
				k := []byte(fmt.Sprint("filler-", i))
				if del {
					if err := tx.Delete(testBucket, k); err != nil {
						return err
					}
				} else if err := tx.Put(testBucket, k, big); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	if err := put("before"); err != nil {
		t.Fatal(err)
	}
	restore, err := InjectDiskFull(s)
	if err != nil {
		t.Skipf("cannot inject the fault here: %v", err)
	}
	committed := false
	err = s.Update(func(tx Tx) error {
		tx.OnCommit(func() { committed = true })
		for i := range 50 {
			if err := PutJSON(tx, testBucket, []byte(fmt.Sprint("during-", i)), item{Name: "x", Count: i}); err != nil {
				return err
			}
		}
		return nil
	})
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("update on a full disk: %v, want ENOSPC", err)
	}
	if committed {
		t.Error("OnCommit ran for a failed commit")
	}
	// A commit larger than the free pages fails before writing, when bbolt
	// looks at the file to grow it.
	huge := make([]byte, 8<<20)
	if err := s.Update(func(tx Tx) error { return tx.Put(testBucket, []byte("huge"), huge) }); err == nil {
		t.Fatal("a commit growing the file succeeded on a full disk")
	}
	// Batch fails too, for every caller merged into the failed commit.
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.Batch(func(tx Tx) error { return PutJSON(tx, testBucket, []byte(fmt.Sprint("batch-", i)), item{Count: i}) })
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err == nil {
			t.Errorf("batch %d committed on a full disk", i)
		}
	}
	// Reads go on and see only what was committed before.
	if err := s.View(func(tx Tx) error {
		if tx.Get(testBucket, []byte("before")) == nil {
			return errors.New(`"before" is gone`)
		}
		if n := tx.Count(testBucket); n != 1 {
			return fmt.Errorf("%d keys, want only the one written before the fault", n)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	if err := restore(); err != nil {
		t.Fatal(err)
	}
	if err := restore(); err != nil {
		t.Fatalf("second restore: %v", err)
	}
	if err := put("after"); err != nil {
		t.Fatalf("write after the fault cleared: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	checkFile(t, path)
	s, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var keys []string
	if err := s.View(func(tx Tx) error {
		return tx.Scan(testBucket, nil, func(k, _ []byte) error { keys = append(keys, string(k)); return nil })
	}); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(keys) != "[after before]" {
		t.Fatalf("keys after reopen: %q, want only the committed ones", keys)
	}
}

func TestDiskFullRestoreAfterCloseReleasesTheFile(t *testing.T) {
	s, path := openTemp(t)
	restore, err := InjectDiskFull(s)
	if err != nil {
		t.Skipf("cannot inject the fault here: %v", err)
	}
	_ = s.Close() // closes the /dev/full descriptor
	if err := restore(); err != nil {
		t.Fatal(err)
	}
	// The duplicate that held the lock is closed: the file opens again.
	s, err = Open(path, Options{})
	if err != nil {
		t.Fatalf("reopen after restore: %v", err)
	}
	s.Close()
}
