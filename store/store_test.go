package store

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var testBucket = RegisterBucket("store_test", "test_items")

type item struct {
	Name  string `json:"name"`
	Count int    `json:"count"`
}

func openTemp(t *testing.T) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "sub", "carebot.db")
	s, err := Open(path, Options{LockTimeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return s, path
}

func TestJSONRoundTripSurvivesReopen(t *testing.T) {
	s, path := openTemp(t)
	if err := s.Update(func(tx Tx) error {
		return PutJSON(tx, testBucket, Key("a", "1"), item{Name: "扫码", Count: 3})
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var got item
	var found bool
	if err := s.View(func(tx Tx) error {
		var err error
		found, err = GetJSON(tx, testBucket, Key("a", "1"), &got)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if !found || got != (item{Name: "扫码", Count: 3}) {
		t.Fatalf("got %+v found=%v", got, found)
	}
}

func TestSecondOpenFailsFastWithErrInUse(t *testing.T) {
	s, path := openTemp(t)
	defer s.Close()
	start := time.Now()
	_, err := Open(path, Options{LockTimeout: 50 * time.Millisecond})
	if !errors.Is(err, ErrInUse) {
		t.Fatalf("second open: got %v, want ErrInUse", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Fatalf("second open hung for %s", time.Since(start))
	}
}

func TestUpdateRollsBackOnError(t *testing.T) {
	s, _ := openTemp(t)
	defer s.Close()
	boom := errors.New("boom")
	err := s.Update(func(tx Tx) error {
		if err := tx.Put(testBucket, []byte("k"), []byte("v")); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("got %v", err)
	}
	_ = s.View(func(tx Tx) error {
		if v := tx.Get(testBucket, []byte("k")); v != nil {
			t.Errorf("rolled-back write is visible: %q", v)
		}
		return nil
	})
}

func TestScanPrefixRangeReverse(t *testing.T) {
	s, _ := openTemp(t)
	defer s.Close()
	keys := [][]byte{Key("a", "1"), Key("a", "2"), Key("a", "3"), Key("ab", "1"), Key("b", "1"), {0xff, 0xff}}
	if err := s.Update(func(tx Tx) error {
		for _, k := range keys {
			if err := tx.Put(testBucket, k, k); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	collect := func(scan func(tx Tx, fn func(k, v []byte) error) error) []string {
		var out []string
		_ = s.View(func(tx Tx) error {
			return scan(tx, func(k, _ []byte) error {
				out = append(out, string(bytes.ReplaceAll(k, []byte{0}, []byte("/"))))
				return nil
			})
		})
		return out
	}
	tests := []struct {
		name string
		scan func(tx Tx, fn func(k, v []byte) error) error
		want []string
	}{
		{"prefix", func(tx Tx, fn func(k, v []byte) error) error { return tx.Scan(testBucket, Prefix("a"), fn) }, []string{"a/1", "a/2", "a/3"}},
		{"reverse", func(tx Tx, fn func(k, v []byte) error) error { return tx.ScanReverse(testBucket, Prefix("a"), fn) }, []string{"a/3", "a/2", "a/1"}},
		{"reverse all-ff", func(tx Tx, fn func(k, v []byte) error) error {
			return tx.ScanReverse(testBucket, []byte{0xff}, fn)
		}, []string{"\xff\xff"}},
		{"range", func(tx Tx, fn func(k, v []byte) error) error {
			return tx.ScanRange(testBucket, Key("a", "2"), Key("b"), fn)
		}, []string{"a/2", "a/3", "ab/1"}},
		{"stop", func(tx Tx, fn func(k, v []byte) error) error {
			n := 0
			return tx.Scan(testBucket, nil, func(k, v []byte) error {
				if n == 2 {
					return ErrStop
				}
				n++
				return fn(k, v)
			})
		}, []string{"a/1", "a/2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := collect(tt.scan)
			if len(got) != len(tt.want) {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("got %q, want %q", got, tt.want)
				}
			}
		})
	}
}

func TestBackupIsAnOpenableCopy(t *testing.T) {
	s, _ := openTemp(t)
	defer s.Close()
	if err := s.Update(func(tx Tx) error { return PutJSON(tx, testBucket, []byte("x"), item{Name: "kept"}) }); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	n, err := s.Backup(&buf)
	if err != nil || n == 0 || int64(buf.Len()) != n {
		t.Fatalf("backup n=%d len=%d err=%v", n, buf.Len(), err)
	}
	copyPath := filepath.Join(t.TempDir(), "copy.db")
	if err := os.WriteFile(copyPath, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Open(copyPath, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var got item
	_ = c.View(func(tx Tx) error { _, err = GetJSON(tx, testBucket, []byte("x"), &got); return err })
	if err != nil || got.Name != "kept" {
		t.Fatalf("copy holds %+v, err %v", got, err)
	}
}

func TestDecodeRejectsUnknownVersion(t *testing.T) {
	var v item
	if err := DecodeJSON([]byte("\x07{}"), &v); err == nil {
		t.Fatal("version 7 decoded without error")
	}
	if err := DecodeJSON(nil, &v); err == nil {
		t.Fatal("empty value decoded without error")
	}
}

func TestU64SortsNumerically(t *testing.T) {
	if !(string(U64(255)) < string(U64(256))) || ParseU64(U64(1<<40+7)) != 1<<40+7 {
		t.Fatal("U64 does not sort or round-trip")
	}
}

func TestUnregisteredBucketIsAnError(t *testing.T) {
	s, _ := openTemp(t)
	defer s.Close()
	err := s.Update(func(tx Tx) error { return tx.Put(Bucket("nope"), []byte("k"), nil) })
	if err == nil {
		t.Fatal("put into an unregistered bucket succeeded")
	}
}
