// Package wxapitest holds the test helpers channels/wechat and
// channels/wecom share: a settable clock, a log buffer safe for concurrent
// writers, WeChat's signature and message encryption written out from the
// docs (so the tests check the wire format, not the SDK against itself),
// and the frame of a fake API server.
package wxapitest

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"maps"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// Clock is a settable clock.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock that reads t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Set sets the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// Advance moves the clock on by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// SyncBuffer is a bytes.Buffer safe for concurrent use, for logs.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Signature is WeChat's and WeCom's signature: sha1 of the sorted
// strings, concatenated, in hex.
func Signature(parts ...string) string {
	s := append([]string(nil), parts...)
	sort.Strings(s)
	sum := sha1.Sum([]byte(strings.Join(s, "")))
	return hex.EncodeToString(sum[:])
}

// EncryptMsg seals msg for receiveID (the AppID or CorpID) as WeChat's
// safe mode and WeCom do: AES-256-CBC with the decoded EncodingAESKey and
// its first 16 bytes as IV, over random(16) ‖ len(msg) as 4 bytes
// big-endian ‖ msg ‖ receiveID, PKCS#7-padded to 32 bytes.
func EncryptMsg(t testing.TB, msg, receiveID, encodingAESKey string) string {
	key, err := base64.StdEncoding.DecodeString(encodingAESKey + "=")
	if err != nil {
		t.Fatal(err)
	}
	var plain bytes.Buffer
	plain.WriteString("0123456789abcdef")
	_ = binary.Write(&plain, binary.BigEndian, uint32(len(msg)))
	plain.WriteString(msg)
	plain.WriteString(receiveID)
	pad := 32 - plain.Len()%32
	plain.Write(bytes.Repeat([]byte{byte(pad)}, pad))
	block, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]byte, plain.Len())
	cipher.NewCBCEncrypter(block, key[:16]).CryptBlocks(out, plain.Bytes())
	return base64.StdEncoding.EncodeToString(out)
}

// Serve serves mux until the test ends. Any other request fails the test
// as unexpected by the fake called name and is answered with writeErr
// 404.
func Serve(t testing.TB, name string, mux *http.ServeMux, writeErr func(w http.ResponseWriter, code int, msg string)) *httptest.Server {
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("%s: unexpected %s %s", name, r.Method, r.URL.Path)
		writeErr(w, 404, "not found")
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// MemKV is channels.KV in memory; it remembers every write of a key.
type MemKV struct {
	mu      sync.Mutex
	m       map[string]string
	history map[string][]string
	// Err, when set, is returned by every call.
	Err error
}

// NewMemKV returns an empty MemKV.
func NewMemKV() *MemKV { return &MemKV{m: map[string]string{}, history: map[string][]string{}} }

func (k *MemKV) Get(key string) (string, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.m[key], k.Err
}

func (k *MemKV) Set(key, value string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.Err != nil {
		return k.Err
	}
	k.m[key] = value
	k.history[key] = append(k.history[key], value)
	return nil
}

// Lookup returns key's value and whether it is set.
func (k *MemKV) Lookup(key string) (string, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	v, ok := k.m[key]
	return v, ok
}

// Value returns key's value, "" when unset.
func (k *MemKV) Value(key string) string {
	v, _ := k.Lookup(key)
	return v
}

// All returns a copy of every key and value.
func (k *MemKV) All() map[string]string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return maps.Clone(k.m)
}

// Writes returns every value written to key, oldest first.
func (k *MemKV) Writes(key string) []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]string(nil), k.history[key]...)
}
