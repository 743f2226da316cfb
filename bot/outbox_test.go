package bot

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/carebot/carebot/channels"
	"github.com/carebot/carebot/channels/webchat"
	"github.com/carebot/carebot/store"
)

type streamEvent struct {
	Seq  uint64 `json:"seq"`
	Dir  string `json:"dir"`
	Text string `json:"text"`
}

// readEvents opens the event stream with Last-Event-ID and reads n events.
func readEvents(t *testing.T, url, lastID string, n int) []streamEvent {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	req.Header.Set("Last-Event-ID", lastID)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		t.Fatalf("content type %q", ct)
	}
	return parseEvents(t, resp.Body, n)
}

// parseEvents reads n "message" events from an SSE body.
func parseEvents(t *testing.T, body io.Reader, n int) []streamEvent {
	t.Helper()
	var out []streamEvent
	sc := bufio.NewScanner(body)
	id := ""
	for len(out) < n && sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "id: "):
			id = strings.TrimPrefix(line, "id: ")
		case strings.HasPrefix(line, "data: "):
			var ev streamEvent
			if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &ev); err != nil {
				t.Fatalf("bad event data %q: %v", line, err)
			}
			if id != fmt.Sprint(ev.Seq) {
				t.Fatalf("event id %q does not match seq %d", id, ev.Seq)
			}
			out = append(out, ev)
		}
	}
	if len(out) < n {
		t.Fatalf("stream ended after %d of %d events: %v", len(out), n, sc.Err())
	}
	return out
}

// journalKeys returns how often each key occurs in a web chat session.
func journalKeys(t *testing.T, st *store.Store, session string) map[string]int {
	t.Helper()
	msgs, err := webJournal{st}.Since(session, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, m := range msgs {
		out[m.Key]++
	}
	return out
}

func TestStateAndHistorySurviveRestart(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, testConfig(t, dir))
	s.ask("session-restart", "", "How much is shipping?", "en")
	s.stop()

	s = startServer(t, testConfig(t, dir))
	conv, log, err := s.app.Engine().Conversation("webchat", "session-restart", 10)
	if err != nil {
		t.Fatal(err)
	}
	if conv.State.Locale != "en" || conv.State.Turns != 1 || len(log) != 2 {
		t.Fatalf("after restart: state %+v, %d log entries", conv.State, len(log))
	}
	// The customer's locale is remembered: a message without a locale and
	// with no letters to detect one from is answered in English.
	replies := s.ask("session-restart", "", "   ", "")
	if !strings.Contains(replies[0].Text, "empty") {
		t.Fatalf("locale not remembered across restart: %q", replies[0].Text)
	}
	status, body := s.get("/api/v1/webchat/history?session=session-restart")
	if status != 200 || !strings.Contains(string(body), "How much is shipping?") {
		t.Fatalf("history after restart: %d %s", status, body)
	}
}

func TestOutboxRowStoredBeforeCrashIsDeliveredOnceAfterRestart(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t, dir)

	// First life: queue two rows and "crash" before the worker runs. The
	// second row was even handed to the channel (the journal has it), but
	// the crash came before its delivery was recorded.
	app, err := New(cfg, WithLogger(discardLogger()))
	if err != nil {
		t.Fatal(err)
	}
	var ids []uint64
	if err := app.Store().Update(func(tx store.Tx) error {
		for _, text := range []string{"您的退款已受理。", "退款将在 1-3 个工作日内原路退回。"} {
			id, err := app.Outbox().Enqueue(tx, OutboxRow{Channel: webchat.Name, ChatID: "session-crash", Text: text})
			if err != nil {
				return err
			}
			ids = append(ids, id)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := app.webchat.Send(context.Background(), channels.Outbound{ID: ids[1], Channel: webchat.Name, ChatID: "session-crash", Text: "退款将在 1-3 个工作日内原路退回。"}); err != nil {
		t.Fatal(err)
	}
	if err := app.Close(); err != nil { // no worker ever ran
		t.Fatal(err)
	}

	// Second life: the worker delivers what was pending, exactly once.
	for life := 2; life <= 3; life++ {
		s := startServer(t, testConfig(t, dir))
		waitFor(t, func() bool {
			for _, id := range ids {
				row, _, _ := s.app.Outbox().Row(id)
				if row.Status != StatusDelivered {
					return false
				}
			}
			return true
		})
		keys := journalKeys(t, s.app.Store(), "session-crash")
		for _, id := range ids {
			if n := keys[fmt.Sprintf("outbox:%d", id)]; n != 1 {
				t.Fatalf("life %d: row %d delivered %d times", life, id, n)
			}
		}
		s.stop()
	}
}

// flakyChannel is a channel adapter whose platform fails a given number of
// times before accepting, or for good.
type flakyChannel struct {
	name      string
	failFirst int
	err       error

	mu        sync.Mutex
	calls     int
	delivered []string
}

func (f *flakyChannel) Name() string { return f.name }

func (f *flakyChannel) Send(_ context.Context, m channels.Outbound) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.calls <= f.failFirst {
		return f.err
	}
	f.delivered = append(f.delivered, m.Text)
	return nil
}

func (f *flakyChannel) snapshot() (int, []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls, append([]string(nil), f.delivered...)
}

func TestOutboxRetriesThenDeliversInOrderAndDeadLetters(t *testing.T) {
	flaky := &flakyChannel{name: "flaky", failFirst: 2, err: errors.New("503 from platform")}
	dead := &flakyChannel{name: "dead", failFirst: 1 << 30, err: errors.New("connection reset")}
	blocked := &flakyChannel{name: "blocked", failFirst: 1 << 30, err: channels.Permanent(errors.New("403 bot was blocked by the user"))}
	cfg := testConfig(t, t.TempDir())
	cfg.Outbox.MaxAttempts = 4
	s := startServer(t, cfg, WithChannel(flaky), WithChannel(dead), WithChannel(blocked))
	var flakyIDs []uint64
	var deadID, blockedID uint64
	if err := s.app.Store().Update(func(tx store.Tx) error {
		for i := 1; i <= 3; i++ {
			id, err := s.app.Outbox().Enqueue(tx, OutboxRow{Channel: "flaky", ChatID: "chat-1", Text: fmt.Sprintf("message %d", i)})
			if err != nil {
				return err
			}
			flakyIDs = append(flakyIDs, id)
		}
		var err error
		if deadID, err = s.app.Outbox().Enqueue(tx, OutboxRow{Channel: "dead", ChatID: "chat-2", Text: "never"}); err != nil {
			return err
		}
		blockedID, err = s.app.Outbox().Enqueue(tx, OutboxRow{Channel: "blocked", ChatID: "chat-3", Text: "never"})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	s.app.Outbox().Wake()
	waitFor(t, func() bool {
		_, got := flaky.snapshot()
		d, _, _ := s.app.Outbox().Row(deadID)
		b, _, _ := s.app.Outbox().Row(blockedID)
		return len(got) == 3 && d.Status == StatusDead && b.Status == StatusDead
	})
	calls, got := flaky.snapshot()
	if strings.Join(got, ",") != "message 1,message 2,message 3" {
		t.Fatalf("delivered out of order: %v", got)
	}
	if calls != 5 {
		t.Fatalf("flaky channel called %d times, want 5 (2 failures + 3 deliveries)", calls)
	}
	row, _, _ := s.app.Outbox().Row(flakyIDs[0])
	if row.Attempts != 3 || row.LastError != "" {
		t.Fatalf("first row: %+v", row)
	}
	d, _, _ := s.app.Outbox().Row(deadID)
	if d.Attempts != 4 || !strings.Contains(d.LastError, "connection reset") {
		t.Fatalf("dead row: %+v", d)
	}
	if n, _ := dead.snapshot(); n != 4 {
		t.Fatalf("dead channel tried %d times, want max_attempts=4", n)
	}
	if n, _ := blocked.snapshot(); n != 1 {
		t.Fatalf("a permanent error was retried: %d calls", n)
	}
	letters, err := s.app.Outbox().DeadLetters(10)
	if err != nil || len(letters) != 2 {
		t.Fatalf("dead letters: %+v %v", letters, err)
	}
	_, metrics := s.get("/metrics")
	for _, want := range []string{`carebot_outbox_retries_total{channel="flaky"} 2`, `carebot_outbox_dead_letters_total{channel="dead"} 1`, `carebot_outbox_dead_letters_total{channel="blocked"} 1`} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

func TestEnqueueWithKeyIsIdempotent(t *testing.T) {
	s := startServer(t, testConfig(t, t.TempDir()))
	var a, b uint64
	for i, p := range []*uint64{&a, &b} {
		if err := s.app.Store().Update(func(tx store.Tx) error {
			var err error
			*p, err = s.app.Outbox().Enqueue(tx, OutboxRow{Channel: webchat.Name, ChatID: "session-keyed", Text: fmt.Sprint("birthday ", i), Key: "birthday:m1:2026"})
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	if a != b {
		t.Fatalf("same key queued twice: %d and %d", a, b)
	}
}

func TestSendAtDelaysDelivery(t *testing.T) {
	s := startServer(t, testConfig(t, t.TempDir()))
	var id uint64
	if err := s.app.Store().Update(func(tx store.Tx) error {
		var err error
		id, err = s.app.Outbox().Enqueue(tx, OutboxRow{Channel: webchat.Name, ChatID: "session-later", Text: "later", SendAt: time.Now().Add(time.Hour)})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	s.app.Outbox().Wake()
	time.Sleep(100 * time.Millisecond) // several poll intervals
	row, _, _ := s.app.Outbox().Row(id)
	if row.Status != StatusPending || row.Attempts != 0 {
		t.Fatalf("message due in an hour was sent: %+v", row)
	}
	if d := s.app.Outbox().Depth(); d != 1 {
		t.Fatalf("depth %d, want 1", d)
	}
}

func TestSeenEventsExpire(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	s := startServer(t, testConfig(t, t.TempDir()), WithClock(clock))
	ev := channels.Event{Channel: webchat.Name, ID: "evt-expire-1", ChatID: "session-expire", Text: "运费"}
	if r, err := s.app.Engine().Dispatch(context.Background(), ev); err != nil || r.Duplicate {
		t.Fatalf("first dispatch: %+v %v", r, err)
	}
	if r, _ := s.app.Engine().Dispatch(context.Background(), ev); !r.Duplicate {
		t.Fatal("redelivery within the TTL was not dropped")
	}
	mu.Lock()
	now = now.Add(73 * time.Hour)
	mu.Unlock()
	n, err := s.app.Engine().ExpireSeenEvents(100)
	if err != nil || n != 1 {
		t.Fatalf("expired %d, err %v", n, err)
	}
	if r, _ := s.app.Engine().Dispatch(context.Background(), ev); r.Duplicate {
		t.Fatal("event id still remembered after the TTL")
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestOutboxCacheFollowsCommits checks the outbox's cache of fresh rows
// against what is committed: a rolled-back Enqueue leaves nothing behind
// (its id is used again by the next row, whose text must be the one
// sent), a row due in an hour is not cached, a retry updates the cached
// row, and a delivered row leaves the cache.
func TestOutboxCacheFollowsCommits(t *testing.T) {
	flaky := &flakyChannel{name: "flaky", failFirst: 1, err: errors.New("503 from platform")}
	cfg := testConfig(t, t.TempDir())
	s := startServer(t, cfg, WithChannel(flaky))
	ob := s.app.Outbox()
	var rolledBack uint64
	errRollback := errors.New("roll back")
	err := s.app.Store().Update(func(tx store.Tx) error {
		var err error
		if rolledBack, err = ob.Enqueue(tx, OutboxRow{Channel: "flaky", ChatID: "c1", Text: "rolled back"}); err != nil {
			return err
		}
		return errRollback
	})
	if !errors.Is(err, errRollback) {
		t.Fatalf("update: %v", err)
	}
	if _, ok := ob.cached(rolledBack); ok {
		t.Fatal("a rolled-back row is cached")
	}
	var later, now uint64
	if err := s.app.Store().Update(func(tx store.Tx) error {
		var err error
		if now, err = ob.Enqueue(tx, OutboxRow{Channel: "flaky", ChatID: "c1", Text: "committed"}); err != nil {
			return err
		}
		later, err = ob.Enqueue(tx, OutboxRow{Channel: "flaky", ChatID: "c2", Text: "in an hour", SendAt: time.Now().Add(time.Hour)})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if now != rolledBack {
		t.Fatalf("the next row got id %d, not the rolled-back %d: the test cannot tell a stale cache entry", now, rolledBack)
	}
	if _, ok := ob.cached(later); ok {
		t.Fatal("a row due in an hour is cached")
	}
	ob.Wake()
	waitFor(t, func() bool { _, got := flaky.snapshot(); return len(got) == 1 })
	calls, got := flaky.snapshot()
	if calls != 2 || got[0] != "committed" {
		t.Fatalf("sent %v in %d calls, want [committed] after one failure", got, calls)
	}
	waitFor(t, func() bool { _, ok := ob.cached(now); return !ok })
	row, _, err := ob.Row(now)
	if err != nil || row.Status != StatusDelivered || row.Attempts != 2 {
		t.Fatalf("row %+v, %v: want delivered on the second attempt", row, err)
	}
	if r, _, _ := ob.Row(later); r.Status != StatusPending || r.Attempts != 0 {
		t.Fatalf("the row due in an hour: %+v", r)
	}
}
