package bot

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/carebot/carebot/channels"
	"github.com/carebot/carebot/channels/webchat"
	"github.com/carebot/carebot/store"
)

// holdCommits blocks the store's commit loop with a Batch of its own until
// release is called, so that the dispatches made meanwhile queue up and
// are committed together. The returned channel gives the held call's
// result.
func holdCommits(t *testing.T, st *store.Store) (release func(), held <-chan error) {
	t.Helper()
	started, gate := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- st.Batch(func(store.Tx) error {
			close(started)
			<-gate
			return nil
		})
	}()
	<-started
	var once sync.Once
	release = func() { once.Do(func() { close(gate) }) }
	t.Cleanup(release)
	return release, done
}

func waitBatchQueue(t *testing.T, st *store.Store, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for st.BatchQueue() < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d dispatches queued for the commit, want %d", st.BatchQueue(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

func batchTestApp(t *testing.T) *App {
	t.Helper()
	app, err := New(testConfig(t, t.TempDir()), WithLogger(discardLogger()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { app.Close() })
	return app
}

// inboundEvents lists the event ids of a conversation's customer messages,
// in log order.
func inboundEvents(t *testing.T, app *App, chat string) []string {
	t.Helper()
	_, log, err := app.Engine().Conversation(webchat.Name, chat, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, e := range log {
		if e.Dir == "in" {
			ids = append(ids, e.EventID)
		}
	}
	return ids
}

var batchQuestions = []string{"运费怎么算", "退貨運費誰付", "How long does delivery take?", "可以开发票吗", "what payment methods do you take"}

// Dispatches that arrive while a commit is in progress are stored in one
// transaction, in arrival order, each exactly once, and each returns only
// after that commit.
func TestConcurrentDispatchesShareOneCommit(t *testing.T) {
	app := batchTestApp(t)
	st := app.Store()
	release, held := holdCommits(t, st)
	const n, chats = 30, 10
	results := make([]DispatchResult, n)
	errs := make([]error, n)
	returned := make(chan int, n)
	for i := range n {
		ev := channels.Event{Channel: webchat.Name, ID: fmt.Sprintf("ev-%02d", i), ChatID: fmt.Sprintf("chat-%d", i%chats), Text: batchQuestions[i%len(batchQuestions)]}
		go func() {
			results[i], errs[i] = app.Engine().Dispatch(context.Background(), ev)
			returned <- i
		}()
		waitBatchQueue(t, st, i+1) // a known arrival order
	}
	select {
	case i := <-returned:
		t.Fatalf("dispatch %d returned before its commit", i)
	case <-time.After(50 * time.Millisecond):
	}
	commits0, _ := st.BatchStats()
	release()
	if err := <-held; err != nil {
		t.Fatal(err)
	}
	for range n {
		<-returned
	}
	if commits, _ := st.BatchStats(); commits-commits0 != 2 {
		t.Fatalf("%d commits, want 2 (the held one and one for all %d dispatches)", commits-commits0, n)
	}
	ids := map[uint64]bool{}
	for i, r := range results {
		if errs[i] != nil {
			t.Fatalf("dispatch %d: %v", i, errs[i])
		}
		if r.Duplicate || len(r.OutboxIDs) == 0 {
			t.Fatalf("dispatch %d: %+v", i, r)
		}
		for _, id := range r.OutboxIDs {
			if ids[id] {
				t.Fatalf("outbox id %d given twice", id)
			}
			ids[id] = true
		}
	}
	if d := app.Outbox().Depth(); d != len(ids) {
		t.Fatalf("outbox holds %d pending rows, the dispatches queued %d", d, len(ids))
	}
	for c := range chats {
		var want []string
		for i := c; i < n; i += chats {
			want = append(want, fmt.Sprintf("ev-%02d", i))
		}
		if got := inboundEvents(t, app, fmt.Sprintf("chat-%d", c)); strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("chat-%d logged %v, want %v", c, got, want)
		}
	}
	if got := counterValue(t, app.metrics.messagesIn.WithLabelValues(webchat.Name)); got != n {
		t.Fatalf("messages_in %v, want %d", got, n)
	}
}

// A dispatch that fails inside a shared transaction (here: a chat id too
// long for a key, after the event was marked seen) leaves no trace, and
// the dispatches batched with it, a redelivery among them, are stored
// once each.
func TestFailedDispatchInABatchLosesAndDuplicatesNothing(t *testing.T) {
	app := batchTestApp(t)
	st := app.Store()
	release, held := holdCommits(t, st)
	type call struct {
		ev         channels.Event
		redelivery bool
		res        DispatchResult
		err        error
	}
	var calls []*call
	for i := range 10 {
		calls = append(calls, &call{ev: channels.Event{Channel: webchat.Name, ID: fmt.Sprintf("ok-%d", i), ChatID: fmt.Sprintf("c%d", i), Text: batchQuestions[i%len(batchQuestions)]}})
		if i == 3 {
			calls = append(calls, &call{ev: channels.Event{Channel: webchat.Name, ID: "bad-1", ChatID: strings.Repeat("x", 40000), Text: "运费怎么算"}})
		}
		if i == 6 {
			// The platform sent event ok-2 again before it was answered.
			calls = append(calls, &call{ev: channels.Event{Channel: webchat.Name, ID: "ok-2", ChatID: "c2", Text: batchQuestions[2]}, redelivery: true})
		}
	}
	var wg sync.WaitGroup
	for i, c := range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.res, c.err = app.Engine().Dispatch(context.Background(), c.ev)
		}()
		waitBatchQueue(t, st, i+1)
	}
	release()
	if err := <-held; err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	queued := 0
	for _, c := range calls {
		switch {
		case c.ev.ID == "bad-1":
			if c.err == nil {
				t.Fatal("the dispatch with an impossible key succeeded")
			}
		case c.redelivery:
			if c.err != nil || !c.res.Duplicate || len(c.res.OutboxIDs) != 0 {
				t.Fatalf("redelivery: %+v, %v; want a duplicate", c.res, c.err)
			}
		default:
			if c.err != nil || c.res.Duplicate || len(c.res.OutboxIDs) == 0 {
				t.Fatalf("%s: %+v, %v", c.ev.ID, c.res, c.err)
			}
			queued += len(c.res.OutboxIDs)
		}
	}
	for i := range 10 {
		if got := inboundEvents(t, app, fmt.Sprintf("c%d", i)); len(got) != 1 || got[0] != fmt.Sprintf("ok-%d", i) {
			t.Fatalf("c%d logged %v, want exactly ok-%d", i, got, i)
		}
	}
	if d := app.Outbox().Depth(); d != queued {
		t.Fatalf("outbox holds %d pending rows, want %d", d, queued)
	}
	if got := counterValue(t, app.metrics.messagesIn.WithLabelValues(webchat.Name)); got != 10 {
		t.Fatalf("messages_in %v, want 10", got)
	}
	if got := counterValue(t, app.metrics.duplicates.WithLabelValues(webchat.Name)); got != 1 {
		t.Fatalf("duplicates %v, want 1", got)
	}
	// Nothing of the failed dispatch was kept, not even its seen mark.
	r, err := app.Engine().Dispatch(context.Background(), channels.Event{Channel: webchat.Name, ID: "bad-1", ChatID: "c-retry", Text: "运费怎么算"})
	if err != nil || r.Duplicate {
		t.Fatalf("event bad-1 sent again with a usable chat: %+v, %v; want it handled", r, err)
	}
}

// Deliveries finishing together record their results in shared commits;
// every reply goes out once, in each chat's order.
func TestOutboxRecordsConcurrentDeliveriesOnce(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	cfg.Outbox.Concurrency = 8
	ch := &recordingChannel{name: "rec"}
	app, err := New(cfg, WithLogger(discardLogger()), WithChannel(ch))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { app.Close() })
	const chats, each = 20, 5
	var wg sync.WaitGroup
	for c := range chats {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				ev := channels.Event{Channel: "rec", ID: fmt.Sprintf("e-%d-%d", c, i), ChatID: fmt.Sprintf("chat-%02d", c), Text: batchQuestions[i%len(batchQuestions)]}
				if _, err := app.Engine().Dispatch(context.Background(), ev); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	want := app.Outbox().Depth()
	commits0, calls0 := app.Store().BatchStats()
	app.StartWorkers()
	waitFor(t, func() bool { return app.Outbox().Depth() == 0 })
	app.StopWorkers()
	sent := ch.sent()
	if len(sent) != want {
		t.Fatalf("%d messages sent, %d were queued", len(sent), want)
	}
	seen := map[uint64]bool{}
	last := map[string]uint64{}
	for _, m := range sent {
		if seen[m.ID] {
			t.Fatalf("row %d sent twice", m.ID)
		}
		seen[m.ID] = true
		if m.ID < last[m.ChatID] {
			t.Fatalf("chat %s: row %d sent after row %d", m.ChatID, m.ID, last[m.ChatID])
		}
		last[m.ChatID] = m.ID
	}
	commits, calls := app.Store().BatchStats()
	if int(calls-calls0) != want {
		t.Fatalf("%d results recorded through Batch, want %d", calls-calls0, want)
	}
	t.Logf("%d delivery results in %d commits", calls-calls0, commits-commits0)
}

// recordingChannel is a channel that records what it is asked to send.
type recordingChannel struct {
	name string
	mu   sync.Mutex
	msgs []channels.Outbound
}

func (c *recordingChannel) Name() string { return c.name }

func (c *recordingChannel) Send(_ context.Context, m channels.Outbound) error {
	time.Sleep(time.Millisecond) // a platform takes a moment
	c.mu.Lock()
	defer c.mu.Unlock()
	c.msgs = append(c.msgs, m)
	return nil
}

func (c *recordingChannel) sent() []channels.Outbound {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]channels.Outbound(nil), c.msgs...)
}

// counterValue reads a Prometheus counter.
func counterValue(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

// BenchmarkDispatchParallel is BenchmarkDispatch with 64 concurrent
// dispatchers (32 per core on the 2-core machine), as webhooks arrive:
// group commit lets them share commits, so ns/op is the throughput of the
// dispatch path rather than the latency of one fsync.
func BenchmarkDispatchParallel(b *testing.B) {
	app, err := New(testConfig(b, b.TempDir()), WithLogger(discardLogger()))
	if err != nil {
		b.Fatal(err)
	}
	defer app.Close()
	ctx := context.Background()
	var n atomic.Int64
	commits0, calls0 := app.Store().BatchStats()
	b.ReportAllocs()
	b.SetParallelism(32)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			ev := channels.Event{
				Channel: webchat.Name,
				ID:      fmt.Sprintf("bench-%d", i),
				ChatID:  fmt.Sprintf("bench-session-%d", i%100),
				Text:    batchQuestions[int(i)%len(batchQuestions)],
			}
			if _, err := app.Engine().Dispatch(ctx, ev); err != nil {
				b.Error(err)
				return
			}
		}
	})
	commits, calls := app.Store().BatchStats()
	if commits > commits0 {
		b.ReportMetric(float64(calls-calls0)/float64(commits-commits0), "calls/commit")
	}
}
