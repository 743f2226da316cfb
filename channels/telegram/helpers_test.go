package telegram

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/carebot/carebot/channels"
	"github.com/carebot/carebot/channels/telegram/telegramtest"
)

const (
	testToken    = "123456:TEST-token_abc"
	testBotID    = 123456
	testUsername = "CarebotTestBot"
	testSecret   = "s3cret_WEBHOOK-token"
)

// testNow is the injected clock of every test channel.
var testNow = time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)

// mapKV is channels.KV over a map.
type mapKV struct {
	mu   sync.Mutex
	m    map[string]string
	sets int
}

func newKV() *mapKV { return &mapKV{m: make(map[string]string)} }

func (k *mapKV) Get(key string) (string, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.m[key], nil
}

func (k *mapKV) Set(key, value string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.m[key] = value
	k.sets++
	return nil
}

func (k *mapKV) get(key string) string {
	v, _ := k.Get(key)
	return v
}

// recorder is a Dispatch that keeps what it receives and can be told to
// fail.
type recorder struct {
	mu     sync.Mutex
	events []channels.Event
	fail   int // how many more calls fail
	// discard drops events instead of keeping them (fuzzing).
	discard bool
	got     chan channels.Event
}

func newRecorder() *recorder { return &recorder{got: make(chan channels.Event, 100)} }

var errStore = errors.New("store unavailable")

func (r *recorder) dispatch(_ context.Context, ev channels.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail > 0 {
		r.fail--
		return errStore
	}
	if r.discard {
		return nil
	}
	r.events = append(r.events, ev)
	select {
	case r.got <- ev:
	default: // nobody waits for this many events; all() still has them
	}
	return nil
}

func (r *recorder) all() []channels.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]channels.Event(nil), r.events...)
}

func (r *recorder) failNext(n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fail = n
}

// wait returns the next dispatched event, failing the test after 5 s.
func (r *recorder) wait(t *testing.T) channels.Event {
	t.Helper()
	select {
	case ev := <-r.got:
		return ev
	case <-time.After(5 * time.Second):
		t.Fatal("no event dispatched within 5s")
		return channels.Event{}
	}
}

type fixture struct {
	ch  *Channel
	api *telegramtest.Server
	rec *recorder
	kv  *mapKV
}

// newFixture returns a channel talking to a fresh fake API; edit changes
// the configuration before New.
func newFixture(t testing.TB, edit func(*Config)) *fixture {
	t.Helper()
	api := telegramtest.NewServer(testToken, testUsername)
	t.Cleanup(api.Close)
	f := &fixture{api: api, rec: newRecorder(), kv: newKV()}
	f.ch = f.newChannel(t, edit)
	return f
}

// newChannel makes another channel on the fixture's API, KV and recorder.
func (f *fixture) newChannel(t testing.TB, edit func(*Config)) *Channel {
	t.Helper()
	cfg := Config{Token: testToken, WebhookSecret: testSecret, Mode: ModeWebhook, APIBase: f.api.URL}
	if edit != nil {
		edit(&cfg)
	}
	ch, err := New(cfg, f.rec.dispatch, Options{
		HTTPClient:  &http.Client{Timeout: 10 * time.Second},
		KV:          f.kv,
		Now:         func() time.Time { return testNow },
		PollTimeout: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	ch.minBackoff, ch.maxBackoff = time.Millisecond, 5*time.Millisecond
	return ch
}

// wantTexts fails the test unless api was sent exactly the texts parts,
// in order.
func wantTexts(t *testing.T, api *telegramtest.Server, parts []string) {
	t.Helper()
	sent := api.SentMessages()
	if len(sent) != len(parts) {
		t.Fatalf("%d messages sent, want %d", len(sent), len(parts))
	}
	for i := range parts {
		if sent[i].Text != parts[i] {
			t.Fatalf("message %d is %.30q…, want %.30q…", i, sent[i].Text, parts[i])
		}
	}
}
