package line

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/carebot/carebot/channels"
	"github.com/carebot/carebot/channels/line/linetest"
)

const (
	testSecret = "c0ffee1234567890abcdef1234567890"
	testToken  = "test-channel-access-token"
	testUser   = "U4af4980629a1b2c3d4e5f60718293a4b"
	testGroup  = "Ca56f94637c1a2b3c4d5e6f708192a3b"
)

// clock is an injected clock tests move by hand.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// recorder is a Dispatch that records events and fails when told to.
type recorder struct {
	mu     sync.Mutex
	events []channels.Event
	fail   func(channels.Event) bool
}

func (r *recorder) dispatch(_ context.Context, ev channels.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil && r.fail(ev) {
		return errors.New("store is down")
	}
	r.events = append(r.events, ev)
	return nil
}

func (r *recorder) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = nil
}

func (r *recorder) Events() []channels.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]channels.Event(nil), r.events...)
}

// harness is a channel wired to a fake LINE API, a recorder and a clock.
type harness struct {
	ch    *Channel
	fake  *linetest.Server
	clock *clock
	rec   *recorder
}

func newHarness(t testing.TB) *harness {
	t.Helper()
	fake := linetest.NewServer(testToken)
	t.Cleanup(fake.Close)
	h := &harness{fake: fake, clock: &clock{now: time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)}, rec: &recorder{}}
	ch, err := New(Config{ChannelSecret: testSecret, ChannelToken: testToken, APIBase: fake.URL}, h.rec.dispatch, Options{
		Logger:     slog.New(slog.NewTextHandler(io.Discard, nil)),
		HTTPClient: &http.Client{Timeout: 5 * time.Second},
		Now:        h.clock.Now,
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	h.ch = ch
	return h
}

// post sends body to the webhook handler with signature sig ("" for none).
func (h *harness) post(body []byte, sig string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/webhook/line", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	if sig != "" {
		req.Header.Set("X-Line-Signature", sig)
	}
	w := httptest.NewRecorder()
	h.ch.Handler().ServeHTTP(w, req)
	return w
}

// postSigned sends body signed with the channel secret.
func (h *harness) postSigned(body []byte) *httptest.ResponseRecorder {
	return h.post(body, linetest.Sign(testSecret, body))
}

// deliveries answers what the fake LINE API delivered, reporting an error
// unless that is n deliveries.
func (h *harness) deliveries(t testing.TB, n int) []linetest.Delivery {
	t.Helper()
	d := h.fake.Deliveries()
	if len(d) != n {
		t.Errorf("%d deliveries, want %d", len(d), n)
	}
	return d
}

// wireRequest is a send request's JSON as LINE receives it, to check it
// field by field rather than through the SDK's own types.
type wireRequest struct {
	ReplyToken string `json:"replyToken"`
	Messages   []struct {
		Type       string `json:"type"`
		Text       string `json:"text"`
		QuickReply struct {
			Items []map[string]any `json:"items"`
		} `json:"quickReply"`
	} `json:"messages"`
}

func decodeWire(t testing.TB, body []byte) wireRequest {
	t.Helper()
	var w wireRequest
	if err := json.Unmarshal(body, &w); err != nil {
		t.Fatalf("request body: %v\n%s", err, body)
	}
	return w
}

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "webhook", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
