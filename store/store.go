package store

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// ErrInUse is returned by Open when another process (or another Store in
// this process) holds the database file.
var ErrInUse = errors.New("database is in use by another carebot")

// ErrStop ends a Scan early without error when returned by its callback.
var ErrStop = errors.New("stop scan")

// Bucket names a bucket; get one from RegisterBucket.
type Bucket string

var (
	registryMu sync.Mutex
	registry   = map[Bucket]string{} // bucket → owning package
)

// RegisterBucket declares a bucket owned by owner (a package name) and
// returns its handle. Packages call it from package-level vars so that Open
// creates every bucket the binary uses. Registering the same name from two
// owners is reported by Open, because two packages writing one bucket would
// corrupt each other's keys.
func RegisterBucket(owner, name string) Bucket {
	registryMu.Lock()
	defer registryMu.Unlock()
	b := Bucket(name)
	if prev, ok := registry[b]; ok && prev != owner {
		registry[b] = prev + "," + owner
	} else {
		registry[b] = owner
	}
	return b
}

// Buckets lists the registered buckets and their owners, sorted by name.
func Buckets() map[Bucket]string {
	registryMu.Lock()
	defer registryMu.Unlock()
	out := make(map[Bucket]string, len(registry))
	for b, o := range registry {
		out[b] = o
	}
	return out
}

// Options tunes Open.
type Options struct {
	// LockTimeout is how long Open waits for the file lock; zero means 2 s.
	// bbolt's own default waits forever, which makes a second process hang.
	LockTimeout time.Duration
	// ReadOnly opens the file with a shared lock and forbids writes.
	ReadOnly bool
}

// Store is an open database.
type Store struct {
	db   *bolt.DB
	path string
}

// Open opens or creates the database at path, creating its directory and
// every registered bucket.
func Open(path string, opts Options) (*Store, error) {
	if opts.LockTimeout <= 0 {
		opts.LockTimeout = 2 * time.Second
	}
	if !opts.ReadOnly {
		if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
			return nil, fmt.Errorf("create data directory: %w", err)
		}
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout:  opts.LockTimeout,
		ReadOnly: opts.ReadOnly,
		// A generous initial mmap means fewer remaps, which a long read
		// transaction (a backup) would otherwise block.
		InitialMmapSize: 64 << 20,
	})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("open %s: %w (stop the other process, or use its HTTP API)", path, ErrInUse)
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	s := &Store{db: db, path: path}
	if opts.ReadOnly {
		return s, nil
	}
	if err := s.createBuckets(); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

func (s *Store) createBuckets() error {
	buckets := Buckets()
	var shared []string
	for b, owner := range buckets {
		if strings.Contains(owner, ",") {
			shared = append(shared, fmt.Sprintf("%s (%s)", b, owner))
		}
	}
	if len(shared) > 0 {
		sort.Strings(shared)
		return fmt.Errorf("buckets registered by more than one package: %s", strings.Join(shared, ", "))
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		for b := range buckets {
			if _, err := tx.CreateBucketIfNotExists([]byte(b)); err != nil {
				return fmt.Errorf("create bucket %s: %w", b, err)
			}
		}
		return nil
	})
}

// Path is the database file's path.
func (s *Store) Path() string { return s.path }

// Close closes the database; it waits for open transactions to finish.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close %s: %w", s.path, err)
	}
	return nil
}

// Update runs fn in a read-write transaction, committed if fn returns nil.
func (s *Store) Update(fn func(Tx) error) error {
	return s.db.Update(func(btx *bolt.Tx) error { return fn(&tx{btx}) })
}

// Batch is Update for many concurrent small writers: bbolt merges calls
// into one commit. fn may run more than once and must be idempotent.
func (s *Store) Batch(fn func(Tx) error) error {
	return s.db.Batch(func(btx *bolt.Tx) error { return fn(&tx{btx}) })
}

// View runs fn in a read-only transaction.
func (s *Store) View(fn func(Tx) error) error {
	return s.db.View(func(btx *bolt.Tx) error { return fn(&tx{btx}) })
}

// Backup writes a consistent copy of the whole database to w while other
// transactions go on, and returns the number of bytes written.
func (s *Store) Backup(w io.Writer) (int64, error) {
	var n int64
	err := s.db.View(func(btx *bolt.Tx) error {
		var err error
		n, err = btx.WriteTo(w)
		return err
	})
	if err != nil {
		return n, fmt.Errorf("backup: %w", err)
	}
	return n, nil
}

// Tx is a transaction. Slices returned by Get and passed to Scan callbacks
// are valid only until the transaction ends; copy what must outlive it.
type Tx interface {
	// Get returns the value under key, or nil.
	Get(b Bucket, key []byte) []byte
	// Put stores value under key.
	Put(b Bucket, key, value []byte) error
	// Delete removes key; deleting a missing key is not an error.
	Delete(b Bucket, key []byte) error
	// NextSequence returns a new, increasing integer for the bucket.
	NextSequence(b Bucket) (uint64, error)
	// Scan calls fn for each key with the prefix, in ascending order.
	Scan(b Bucket, prefix []byte, fn func(k, v []byte) error) error
	// ScanRange calls fn for each key in [start, end) in ascending order;
	// a nil end means to the last key.
	ScanRange(b Bucket, start, end []byte, fn func(k, v []byte) error) error
	// ScanReverse calls fn for each key with the prefix, in descending order.
	ScanReverse(b Bucket, prefix []byte, fn func(k, v []byte) error) error
	// Count returns the number of keys in the bucket.
	Count(b Bucket) int
	// OnCommit runs fn after the transaction committed successfully.
	OnCommit(fn func())
	// Writable reports whether the transaction may write.
	Writable() bool
}

type tx struct{ btx *bolt.Tx }

func (t *tx) bucket(b Bucket) (*bolt.Bucket, error) {
	bk := t.btx.Bucket([]byte(b))
	if bk == nil {
		return nil, fmt.Errorf("bucket %q is not registered", b)
	}
	return bk, nil
}

func (t *tx) Get(b Bucket, key []byte) []byte {
	bk, err := t.bucket(b)
	if err != nil {
		return nil
	}
	return bk.Get(key)
}

func (t *tx) Put(b Bucket, key, value []byte) error {
	bk, err := t.bucket(b)
	if err != nil {
		return err
	}
	if err := bk.Put(key, value); err != nil {
		return fmt.Errorf("put %s: %w", b, err)
	}
	return nil
}

func (t *tx) Delete(b Bucket, key []byte) error {
	bk, err := t.bucket(b)
	if err != nil {
		return err
	}
	if err := bk.Delete(key); err != nil {
		return fmt.Errorf("delete %s: %w", b, err)
	}
	return nil
}

func (t *tx) NextSequence(b Bucket) (uint64, error) {
	bk, err := t.bucket(b)
	if err != nil {
		return 0, err
	}
	n, err := bk.NextSequence()
	if err != nil {
		return 0, fmt.Errorf("next sequence %s: %w", b, err)
	}
	return n, nil
}

func (t *tx) Scan(b Bucket, prefix []byte, fn func(k, v []byte) error) error {
	bk, err := t.bucket(b)
	if err != nil {
		return err
	}
	c := bk.Cursor()
	for k, v := c.Seek(prefix); k != nil && hasPrefix(k, prefix); k, v = c.Next() {
		if err := fn(k, v); err != nil {
			if errors.Is(err, ErrStop) {
				return nil
			}
			return err
		}
	}
	return nil
}

func (t *tx) ScanRange(b Bucket, start, end []byte, fn func(k, v []byte) error) error {
	bk, err := t.bucket(b)
	if err != nil {
		return err
	}
	c := bk.Cursor()
	for k, v := c.Seek(start); k != nil && (end == nil || string(k) < string(end)); k, v = c.Next() {
		if err := fn(k, v); err != nil {
			if errors.Is(err, ErrStop) {
				return nil
			}
			return err
		}
	}
	return nil
}

func (t *tx) ScanReverse(b Bucket, prefix []byte, fn func(k, v []byte) error) error {
	bk, err := t.bucket(b)
	if err != nil {
		return err
	}
	c := bk.Cursor()
	// Position after the last key with the prefix: seek to the prefix's
	// successor, then step back.
	var k, v []byte
	if next := prefixEnd(prefix); next == nil {
		k, v = c.Last()
	} else if k, _ = c.Seek(next); k == nil {
		k, v = c.Last()
	} else {
		k, v = c.Prev()
	}
	for ; k != nil && hasPrefix(k, prefix); k, v = c.Prev() {
		if err := fn(k, v); err != nil {
			if errors.Is(err, ErrStop) {
				return nil
			}
			return err
		}
	}
	return nil
}

func (t *tx) Count(b Bucket) int {
	bk, err := t.bucket(b)
	if err != nil {
		return 0
	}
	return bk.Stats().KeyN
}

func (t *tx) OnCommit(fn func()) { t.btx.OnCommit(fn) }

func (t *tx) Writable() bool { return t.btx.Writable() }

func hasPrefix(k, prefix []byte) bool {
	return len(k) >= len(prefix) && string(k[:len(prefix)]) == string(prefix)
}

// prefixEnd returns the smallest key greater than every key with the
// prefix, or nil when there is none (the prefix is all 0xff or empty).
func prefixEnd(prefix []byte) []byte {
	end := append([]byte(nil), prefix...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

// encodingVersion prefixes every JSON value so that a later format change
// can be recognised and migrated instead of misread.
const encodingVersion byte = 1

// PutJSON stores v as versioned JSON.
func PutJSON(t Tx, b Bucket, key []byte, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s value: %w", b, err)
	}
	buf := make([]byte, 0, len(data)+1)
	buf = append(buf, encodingVersion)
	buf = append(buf, data...)
	return t.Put(b, key, buf)
}

// GetJSON decodes the value under key into v and reports whether it existed.
func GetJSON(t Tx, b Bucket, key []byte, v any) (bool, error) {
	raw := t.Get(b, key)
	if raw == nil {
		return false, nil
	}
	return true, DecodeJSON(raw, v)
}

// DecodeJSON decodes a value written by PutJSON (for use inside Scan).
func DecodeJSON(raw []byte, v any) error {
	if len(raw) == 0 {
		return errors.New("decode: empty value")
	}
	if raw[0] != encodingVersion {
		return fmt.Errorf("decode: unsupported encoding version %d", raw[0])
	}
	if err := json.Unmarshal(raw[1:], v); err != nil {
		return fmt.Errorf("decode: %w", err)
	}
	return nil
}

// U64 encodes n big-endian so that keys sort numerically.
func U64(n uint64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], n)
	return b[:]
}

// ParseU64 decodes an 8-byte big-endian integer; short input gives 0.
func ParseU64(b []byte) uint64 {
	if len(b) < 8 {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}

// Key joins parts with a zero byte, which sorts before every printable
// character, so that Scan with Key(a) + "\x00" lists exactly a's children.
func Key(parts ...string) []byte {
	n := len(parts)
	for _, p := range parts {
		n += len(p)
	}
	out := make([]byte, 0, n)
	for i, p := range parts {
		if i > 0 {
			out = append(out, 0)
		}
		out = append(out, p...)
	}
	return out
}

// Prefix is Key(parts...) followed by the separator, for scanning children.
func Prefix(parts ...string) []byte {
	return append(Key(parts...), 0)
}
