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
	"sync/atomic"
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
	db    *bolt.DB
	path  string
	batch batcher
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

// Batch is Update for many concurrent small writers: calls that arrive
// while a commit is in progress are run one after another in the next
// transaction and share its commit (and its fsync), so a thousand
// concurrent writers cost a few commits rather than a thousand. Batch
// returns when fn's writes are durable, or with fn's error, exactly as
// Update does.
//
// There is no waiting for company: a call that finds no commit in
// progress starts one at once, so a lone writer is not slowed down.
//
// fn may run more than once and must be idempotent: when a function of the
// batch fails, the transaction is rolled back, the failing function is run
// again on its own (its error, or a panic, then reaches its caller as from
// Update), and the others are run again without it. Only the last run of
// each function is committed. Side effects must therefore wait for the
// commit: register them with Tx.OnCommit (hooks of a rolled-back run are
// dropped with it, so each runs once), or act after Batch returns. fn
// must not call Update or Batch itself. The hooks of a batch run in commit
// order on the goroutine that commits, before the callers return; they may
// call Update but not Batch, which would wait for that very goroutine.
func (s *Store) Batch(fn func(Tx) error) error {
	c := &batchCall{fn: fn, done: make(chan error, 1)}
	b := &s.batch
	b.mu.Lock()
	b.queue = append(b.queue, c)
	lead := !b.running
	b.running = true
	b.mu.Unlock()
	if lead {
		go s.commitLoop()
	}
	err := <-c.done
	if errors.Is(err, errRunAlone) {
		return s.Update(fn)
	}
	return err
}

// maxBatch bounds one batch's transaction: a bigger one holds its callers
// longer than the fsync it saves is worth.
const maxBatch = 512

// errRunAlone tells a Batch caller that its function failed inside a batch
// and is to be run again alone.
var errRunAlone = errors.New("store: run the batch function alone")

// batcher queues Batch calls for the commit loop.
type batcher struct {
	mu      sync.Mutex
	queue   []*batchCall
	running bool // a commit loop is running
	commits atomic.Uint64
	calls   atomic.Uint64
}

type batchCall struct {
	fn   func(Tx) error
	done chan error
}

// BatchStats reports how many batch transactions committed and how many
// Batch calls they carried, for tests and benchmarks.
func (s *Store) BatchStats() (commits, calls uint64) {
	return s.batch.commits.Load(), s.batch.calls.Load()
}

// BatchQueue is the number of Batch calls waiting for the next commit: the
// write pressure of the moment.
func (s *Store) BatchQueue() int {
	s.batch.mu.Lock()
	defer s.batch.mu.Unlock()
	return len(s.batch.queue)
}

// commitLoop commits the queued calls batch after batch, until the queue
// is empty: calls that arrive during a commit form the next batch.
func (s *Store) commitLoop() {
	b := &s.batch
	for {
		b.mu.Lock()
		n := min(len(b.queue), maxBatch)
		if n == 0 {
			b.running = false
			b.queue = nil
			b.mu.Unlock()
			return
		}
		calls := make([]*batchCall, n)
		copy(calls, b.queue)
		b.queue = b.queue[n:]
		b.mu.Unlock()
		s.commitBatch(calls)
	}
}

// commitBatch runs calls in order in one transaction and commits it. A
// failing call is taken out and told to run alone; the rest are run again
// in a new transaction, because the failed one may have written half of
// its changes into the one that is rolled back.
func (s *Store) commitBatch(calls []*batchCall) {
	for len(calls) > 0 {
		failed := -1
		err := s.db.Update(func(btx *bolt.Tx) error {
			t := &tx{btx}
			for i, c := range calls {
				if err := safeBatchCall(c.fn, t); err != nil {
					failed = i
					return err
				}
			}
			return nil
		})
		if failed >= 0 {
			calls[failed].done <- errRunAlone
			// Keep the order: writers of one chat depend on it.
			calls = append(calls[:failed:failed], calls[failed+1:]...)
			continue
		}
		if err == nil {
			s.batch.commits.Add(1)
			s.batch.calls.Add(uint64(len(calls)))
		}
		for _, c := range calls {
			c.done <- err
		}
		return
	}
}

// safeBatchCall turns a panic into an error, so that one bad function
// cannot take the commit loop (and every other caller) down; run again
// alone, it panics in its own caller's goroutine.
func safeBatchCall(fn func(Tx) error, t Tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("batch function panicked: %v", p)
		}
	}()
	return fn(t)
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
