package bot

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/carebot/carebot/channels"
	"github.com/carebot/carebot/store"
)

// Buckets owned by the outbox.
var (
	bucketOutbox = store.RegisterBucket("bot", "outbox")
	// bucketOutboxDue lists the pending rows by due time: send_at(8) id(8)
	// → channel\0chat (nil in rows queued before the value was added).
	bucketOutboxDue  = store.RegisterBucket("bot", "outbox_due")
	bucketOutboxDead = store.RegisterBucket("bot", "outbox_dead") // id(8) → nil
	bucketOutboxKeys = store.RegisterBucket("bot", "outbox_keys") // idempotency key → id(8)
	// bucketOutboxChat orders each chat's pending rows by first due time, so
	// a message waiting for a retry holds back the later messages of its
	// chat: channel\0chat\0 first_due(8) id(8) → nil.
	bucketOutboxChat = store.RegisterBucket("bot", "outbox_chat")
)

// Outbox row states.
const (
	StatusPending   = "pending"
	StatusDelivered = "delivered"
	StatusDead      = "dead"
)

// OutboxRow is one outbound message and its delivery state.
type OutboxRow struct {
	ID         uint64            `json:"id"`
	Channel    string            `json:"channel"`
	ChatID     string            `json:"chat_id"`
	UserID     string            `json:"user_id,omitempty"`
	Text       string            `json:"text"`
	Buttons    []channels.Button `json:"buttons,omitempty"`
	ReplyToken string            `json:"reply_token,omitempty"`
	// Key, when set, makes Enqueue idempotent: a second row with the same
	// key is not queued (cron uses "job:member:period").
	Key string `json:"key,omitempty"`
	// Kind says what the message is (reply, agent, care, followup, csat,
	// staff, broadcast); WeChat chooses a template by it outside its
	// 48-hour window.
	Kind string `json:"kind,omitempty"`
	// ImageURL is an https picture sent before the text.
	ImageURL string `json:"image_url,omitempty"`
	// Group is true when ChatID is a group chat.
	Group    bool      `json:"group,omitempty"`
	Status   string    `json:"status"`
	Attempts int       `json:"attempts"`
	SendAt   time.Time `json:"send_at"`
	// FirstDue is the SendAt the row was queued with; retries move SendAt
	// but not FirstDue, which fixes the row's place in its chat's order.
	FirstDue    time.Time `json:"first_due"`
	Created     time.Time `json:"created"`
	DeliveredAt time.Time `json:"delivered_at,omitzero"`
	LastError   string    `json:"last_error,omitempty"`
}

// OutboxOptions tune delivery.
type OutboxOptions struct {
	Concurrency  int
	MaxAttempts  int
	BaseBackoff  time.Duration
	MaxBackoff   time.Duration
	SendTimeout  time.Duration
	PollInterval time.Duration
}

// Outbox delivers queued rows through the registered channels: per-channel
// concurrency, one message at a time per chat (so replies keep their order),
// retries with exponential backoff and jitter, and dead letters.
type Outbox struct {
	store    *store.Store
	channels *channels.Registry
	opts     OutboxOptions
	now      func() time.Time
	log      *slog.Logger
	metrics  *Metrics

	wake      chan struct{}
	heartbeat atomic.Int64 // unix nanos of the worker's last loop

	mu       sync.Mutex
	inflight map[uint64]bool
	busyChat map[string]bool
	sems     map[string]chan struct{}
	// fresh holds the committed state of pending rows due soon, so that
	// the worker neither decodes them in its scan nor reads them again
	// before sending: under load that was a third of the outbox's work.
	// Only Enqueue and record write rows, and both update it from their
	// commit hooks; a row missing here is read from the database.
	fresh map[uint64]OutboxRow
	wg    sync.WaitGroup
	// scan is the worker's scratch space for deliverDue.
	scan struct {
		busy map[uint64]bool
		chat map[string]bool
		room map[string]int
	}
	// limits are the platforms' sending rates; nil sends as fast as the
	// concurrency allows.
	limits *rateLimits
}

func newOutbox(s *store.Store, reg *channels.Registry, opts OutboxOptions, now func() time.Time, log *slog.Logger, m *Metrics) *Outbox {
	o := &Outbox{
		store: s, channels: reg, opts: opts, now: now, log: log, metrics: m,
		wake:     make(chan struct{}, 1),
		inflight: map[uint64]bool{},
		busyChat: map[string]bool{},
		sems:     map[string]chan struct{}{},
		fresh:    map[uint64]OutboxRow{},
	}
	o.scan.busy, o.scan.chat, o.scan.room = map[uint64]bool{}, map[string]bool{}, map[string]int{}
	return o
}

// Bounds of the fresh-row cache: rows due later than freshHorizon (a
// birthday greeting queued for tomorrow) are left to the database, and so
// is everything beyond freshMax rows, so a backlog cannot grow the heap.
const (
	freshHorizon = time.Minute
	freshMax     = 1 << 16
)

// remember caches row, as just committed, or forgets it when it is no
// longer pending or not due soon. Call it from a commit hook only.
func (o *Outbox) remember(row OutboxRow) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if row.Status != StatusPending || row.SendAt.After(o.now().Add(freshHorizon)) {
		delete(o.fresh, row.ID)
		return
	}
	if _, ok := o.fresh[row.ID]; ok || len(o.fresh) < freshMax {
		o.fresh[row.ID] = row
	}
}

// cached returns the committed state of row id when it is in the cache.
func (o *Outbox) cached(id uint64) (OutboxRow, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	row, ok := o.fresh[id]
	return row, ok
}

// Queued reports whether a row with key was ever queued (whatever became
// of it since).
func (o *Outbox) Queued(tx store.Tx, key string) bool {
	return key != "" && tx.Get(bucketOutboxKeys, []byte(key)) != nil
}

// RowByKey returns the row queued with key.
func (o *Outbox) RowByKey(tx store.Tx, key string) (OutboxRow, bool) {
	id := tx.Get(bucketOutboxKeys, []byte(key))
	if id == nil {
		return OutboxRow{}, false
	}
	var row OutboxRow
	ok, err := store.GetJSON(tx, bucketOutbox, id, &row)
	if err != nil || !ok {
		return OutboxRow{}, false
	}
	return row, true
}

// Enqueue stores row as pending inside tx and returns its id. A row with a
// Key that was queued before is not queued again; the earlier id is
// returned. Call Wake after the transaction commits to deliver at once.
func (o *Outbox) Enqueue(tx store.Tx, row OutboxRow) (uint64, error) {
	if row.Key != "" {
		if id := tx.Get(bucketOutboxKeys, []byte(row.Key)); id != nil {
			return store.ParseU64(id), nil
		}
	}
	id, err := tx.NextSequence(bucketOutbox)
	if err != nil {
		return 0, fmt.Errorf("outbox id: %w", err)
	}
	now := o.now()
	row.ID, row.Status, row.Attempts, row.Created = id, StatusPending, 0, now
	if row.SendAt.IsZero() {
		row.SendAt = now
	}
	row.FirstDue = row.SendAt
	if err := store.PutJSON(tx, bucketOutbox, store.U64(id), row); err != nil {
		return 0, fmt.Errorf("queue outbound: %w", err)
	}
	tx.OnCommit(func() { o.remember(row) })
	if err := tx.Put(bucketOutboxDue, dueKey(row.SendAt, id), dueValue(row)); err != nil {
		return 0, err
	}
	if err := tx.Put(bucketOutboxChat, chatKey(row), nil); err != nil {
		return 0, err
	}
	if row.Key != "" {
		if err := tx.Put(bucketOutboxKeys, []byte(row.Key), store.U64(id)); err != nil {
			return 0, err
		}
	}
	return id, nil
}

func dueKey(at time.Time, id uint64) []byte {
	ns := at.UnixNano()
	if ns < 0 {
		ns = 0
	}
	return append(store.U64(uint64(ns)), store.U64(id)...)
}

// dueValue names a due row's chat, so that the worker can pass over the
// rows it cannot start (their chat or their channel is busy) without
// reading them.
func dueValue(row OutboxRow) []byte {
	return store.Key(row.Channel, row.ChatID)
}

func chatKey(row OutboxRow) []byte {
	return append(store.Prefix(row.Channel, row.ChatID), dueKey(row.FirstDue, row.ID)...)
}

// headOfChat reports whether row is the first pending row of its chat.
func headOfChat(tx store.Tx, row OutboxRow) (bool, error) {
	head := true
	err := tx.Scan(bucketOutboxChat, store.Prefix(row.Channel, row.ChatID), func(k, _ []byte) error {
		head = store.ParseU64(k[len(k)-8:]) == row.ID
		return store.ErrStop
	})
	return head, err
}

// Wake makes the worker look for due rows now.
func (o *Outbox) Wake() {
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// Alive reports whether the worker loop ran within the last few poll
// intervals, for /readyz.
func (o *Outbox) Alive() bool {
	last := o.heartbeat.Load()
	return last != 0 && time.Since(time.Unix(0, last)) < 5*o.opts.PollInterval+5*time.Second
}

// Run delivers due rows until ctx ends, then waits for deliveries in
// flight to finish (each bounded by SendTimeout).
func (o *Outbox) Run(ctx context.Context) {
	ticker := time.NewTicker(o.opts.PollInterval)
	defer ticker.Stop()
	defer o.wg.Wait()
	for {
		o.heartbeat.Store(time.Now().UnixNano())
		if err := o.deliverDue(ctx); err != nil {
			o.log.Error("outbox scan failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-o.wake:
		case <-ticker.C:
		}
	}
}

// scanBatch bounds one scan so a backlog of a million rows does not hold a
// read transaction for long.
const scanBatch = 512

func (o *Outbox) deliverDue(ctx context.Context) error {
	var due []OutboxRow
	end := dueKey(o.now().Add(time.Nanosecond), 0)
	// Under load most due rows cannot start: they are being delivered
	// (still due until their result is stored), or their chat has a
	// message in flight, or their channel is at its concurrency limit.
	// Reading and decoding each of them on every wake-up cost more than
	// the deliveries did, so they are passed over by id and by the chat
	// their due entry names. What changes after this snapshot is caught by
	// the wake-up that a freed slot or a finished delivery sends.
	// The snapshot's maps are the worker's own, kept between scans: made
	// anew each time they were an eighth of all the server allocated.
	busy, busyChat, room := o.scan.busy, o.scan.chat, o.scan.room
	clear(busy)
	clear(busyChat)
	clear(room) // free delivery slots per channel
	o.mu.Lock()
	for id := range o.inflight {
		busy[id] = true
	}
	for chat := range o.busyChat {
		busyChat[chat] = true
	}
	for ch, sem := range o.sems {
		room[ch] = cap(sem) - len(sem)
	}
	o.mu.Unlock()
	hasRoom := func(ch string) bool {
		r, ok := room[ch]
		return !ok || r > 0
	}
	err := o.store.View(func(tx store.Tx) error {
		return tx.ScanRange(bucketOutboxDue, nil, end, func(k, v []byte) error {
			if len(due) >= scanBatch {
				return store.ErrStop
			}
			if busy[store.ParseU64(k[8:16])] {
				return nil
			}
			if ch, _, ok := bytes.Cut(v, []byte{0}); ok {
				// m[string(b)] looks up without copying b.
				if r, known := room[string(ch)]; (known && r <= 0) || busyChat[string(v)] {
					return nil
				}
			}
			// A cached row may be newer than this snapshot; deliver
			// checks again whether it is still pending and due.
			row, found := o.cached(store.ParseU64(k[8:16]))
			if !found {
				var err error
				if found, err = store.GetJSON(tx, bucketOutbox, k[8:16], &row); err != nil || !found {
					return err
				}
			}
			if head, err := headOfChat(tx, row); err != nil || !head {
				return err // an earlier message of this chat goes first
			}
			if !hasRoom(row.Channel) {
				return nil
			}
			if _, ok := room[row.Channel]; !ok {
				room[row.Channel] = o.opts.Concurrency
			}
			room[row.Channel]--
			busyChat[string(store.Key(row.Channel, row.ChatID))] = true
			due = append(due, row)
			return nil
		})
	})
	if err != nil {
		return fmt.Errorf("scan due rows: %w", err)
	}
	// The scan keeps only the first pending row of each chat, so starting
	// rows in scan order keeps every chat's messages in order.
	for _, row := range due {
		if ctx.Err() != nil {
			return nil
		}
		o.start(ctx, row, string(store.Key(row.Channel, row.ChatID)))
	}
	return nil
}

// start launches delivery of row unless it is in flight, another message of
// its chat is in flight, or its channel is at its concurrency limit; a
// finishing delivery wakes the worker, which then tries again.
func (o *Outbox) start(ctx context.Context, row OutboxRow, chat string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.inflight[row.ID] || o.busyChat[chat] {
		return
	}
	sem := o.sems[row.Channel]
	if sem == nil {
		sem = make(chan struct{}, o.opts.Concurrency)
		o.sems[row.Channel] = sem
	}
	select {
	case sem <- struct{}{}:
	default:
		return
	}
	if o.limits != nil {
		// Platform limits use the real clock, not the injected one: they
		// are about requests per second on the wire.
		if wait := o.limits.reserve(row.Channel, row.ChatID, row.Group, time.Now()); wait > 0 {
			<-sem
			o.metrics.rateLimited.WithLabelValues(row.Channel).Inc()
			time.AfterFunc(wait, o.Wake)
			return
		}
	}
	o.inflight[row.ID] = true
	o.busyChat[chat] = true
	o.wg.Add(1)
	go func() {
		defer o.wg.Done()
		defer o.Wake() // the next message of this chat may be due
		defer o.release(row.ID, chat)
		// The channel's slot is freed as soon as the platform answered:
		// the limit is on requests to the platform, and holding the slot
		// while the result is committed would idle it for a whole commit.
		// The row and its chat stay busy until the result is stored.
		var once sync.Once
		free := func() {
			once.Do(func() {
				<-sem
				o.Wake() // another row can have the slot now
			})
		}
		defer free()
		o.deliver(ctx, row, free)
	}()
}

func (o *Outbox) release(id uint64, chat string) {
	o.mu.Lock()
	delete(o.inflight, id)
	delete(o.busyChat, chat)
	o.mu.Unlock()
}

// deliver sends row and stores the result; sent is called once the
// platform has answered (or when there is nothing to send).
func (o *Outbox) deliver(ctx context.Context, scanned OutboxRow, sent func()) {
	defer sent()
	// The scan's snapshot may predate the end of an earlier attempt of this
	// row, so confirm it is still pending and due before sending it. The
	// cache has every commit up to now: an attempt's result is committed
	// (and cached) before its row stops being in flight.
	row, found := o.cached(scanned.ID)
	if !found {
		var err error
		if row, found, err = o.Row(scanned.ID); err != nil {
			o.log.Error("outbox: reading row failed", "id", scanned.ID, "err", err)
			return
		}
	}
	if !found || row.Status != StatusPending || row.SendAt.After(o.now()) {
		return
	}
	row.Attempts++
	var sendErr error
	ch, ok := o.channels.Get(row.Channel)
	if !ok {
		sendErr = channels.Permanent(fmt.Errorf("channel %q is not enabled", row.Channel))
	} else {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), o.opts.SendTimeout)
		sendErr = safeSend(sctx, ch, channels.Outbound{
			ID: row.ID, Channel: row.Channel, ChatID: row.ChatID, UserID: row.UserID,
			Text: row.Text, Buttons: row.Buttons, ReplyToken: row.ReplyToken, Attempt: row.Attempts,
			Kind: row.Kind, Group: row.Group, ImageURL: row.ImageURL,
		})
		cancel()
	}
	sent()
	o.recordUntilStored(ctx, row, sendErr)
}

// maxRecordWait caps the pause between two tries to store a result.
const maxRecordWait = 5 * time.Second

// recordUntilStored stores the result of an attempt, trying again while
// the database refuses the write (a full disk). The row stays in flight
// meanwhile: were it released, it would still be pending and due, and the
// next wake-up would send the message again, over and over while the disk
// is full. If the outbox stops first, the row is left pending and is sent
// again after a restart; channels dedupe on row.ID where the platform
// allows it.
func (o *Outbox) recordUntilStored(ctx context.Context, row OutboxRow, sendErr error) {
	wait := max(o.opts.BaseBackoff, 10*time.Millisecond)
	limit := max(wait, min(o.opts.MaxBackoff, maxRecordWait))
	for tries := 1; ; tries++ {
		err := o.record(row, sendErr)
		if err == nil {
			if tries > 1 {
				o.log.Info("outbox: delivery recorded after the store failed", "id", row.ID, "tries", tries)
			}
			return
		}
		if tries == 1 {
			o.log.Error("outbox: recording delivery failed; holding the message back and trying again", "id", row.ID, "err", err)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			o.log.Error("outbox: stopping before the delivery was recorded; it will be sent again", "id", row.ID, "tries", tries, "err", err)
			return
		case <-t.C:
		}
		wait = min(2*wait, limit)
	}
}

// safeSend turns a panicking adapter into an error, so one bad message
// cannot stop the worker.
func safeSend(ctx context.Context, ch channels.Channel, msg channels.Outbound) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("channel %s panicked: %v", ch.Name(), p)
		}
	}()
	return ch.Send(ctx, msg)
}

// record stores the result of one attempt. Results of concurrent
// deliveries share a commit (store.Batch); the function may run more than
// once, so it decides the outcome from the row as stored and leaves the
// metrics and logs to after the commit, where outcome is the committed
// run's.
func (o *Outbox) record(sent OutboxRow, sendErr error) error {
	now := o.now()
	var outcome string
	err := o.store.Batch(func(tx store.Tx) error {
		outcome = ""
		var row OutboxRow
		found, err := store.GetJSON(tx, bucketOutbox, store.U64(sent.ID), &row)
		if err != nil {
			return err
		}
		if !found || row.Status != StatusPending {
			return nil
		}
		if err := tx.Delete(bucketOutboxDue, dueKey(row.SendAt, row.ID)); err != nil {
			return err
		}
		row.Attempts = sent.Attempts
		if sendErr == nil || errors.Is(sendErr, channels.ErrPermanent) || row.Attempts >= o.opts.MaxAttempts {
			if err := tx.Delete(bucketOutboxChat, chatKey(row)); err != nil {
				return err
			}
		}
		switch {
		case sendErr == nil:
			row.Status, row.DeliveredAt, row.LastError = StatusDelivered, now, ""
			row.ReplyToken = ""
			outcome = "delivered"
		case errors.Is(sendErr, channels.ErrPermanent) || row.Attempts >= o.opts.MaxAttempts:
			row.Status, row.LastError = StatusDead, sendErr.Error()
			if err := tx.Put(bucketOutboxDead, store.U64(row.ID), nil); err != nil {
				return err
			}
			outcome = "dead"
		default:
			row.LastError = sendErr.Error()
			row.SendAt = now.Add(o.backoff(row.Attempts, sendErr))
			// A reply token is short-lived: a retry goes out as a push.
			row.ReplyToken = ""
			if err := tx.Put(bucketOutboxDue, dueKey(row.SendAt, row.ID), dueValue(row)); err != nil {
				return err
			}
			outcome = "retry"
		}
		if err := store.PutJSON(tx, bucketOutbox, store.U64(row.ID), row); err != nil {
			return err
		}
		tx.OnCommit(func() { o.remember(row) })
		return nil
	})
	if err != nil {
		return fmt.Errorf("record delivery of %d: %w", sent.ID, err)
	}
	switch outcome {
	case "delivered":
		o.metrics.messagesOut.WithLabelValues(sent.Channel).Inc()
	case "retry":
		o.metrics.retries.WithLabelValues(sent.Channel).Inc()
		o.log.Warn("outbox: delivery failed, will retry", "id", sent.ID, "channel", sent.Channel, "attempt", sent.Attempts, "err", sendErr)
	case "dead":
		o.metrics.deadLetters.WithLabelValues(sent.Channel).Inc()
		o.log.Error("outbox: message moved to dead letters", "id", sent.ID, "channel", sent.Channel, "attempts", sent.Attempts, "err", sendErr)
	}
	return nil
}

// backoff is base·2^(attempt-1) capped at max, with jitter in [d/2, d] so
// that many failed messages do not retry in lockstep; a platform's
// retry-after wins when it asks for longer.
func (o *Outbox) backoff(attempt int, err error) time.Duration {
	d := o.opts.BaseBackoff
	for i := 1; i < attempt && d < o.opts.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, o.opts.MaxBackoff)
	d = d/2 + rand.N(d/2+1)
	var ra *channels.RetryAfterError
	if errors.As(err, &ra) && ra.After > d {
		d = ra.After
	}
	return d
}

// Row returns the stored outbox row id.
func (o *Outbox) Row(id uint64) (OutboxRow, bool, error) {
	var row OutboxRow
	var found bool
	err := o.store.View(func(tx store.Tx) error {
		var err error
		found, err = store.GetJSON(tx, bucketOutbox, store.U64(id), &row)
		return err
	})
	return row, found, err
}

// Depth returns the number of pending rows.
func (o *Outbox) Depth() int {
	n := 0
	_ = o.store.View(func(tx store.Tx) error { n = tx.Count(bucketOutboxDue); return nil })
	return n
}

// DeadLetters returns up to limit dead rows, newest first.
func (o *Outbox) DeadLetters(limit int) ([]OutboxRow, error) {
	return ReadDeadLetters(o.store, limit)
}

// ReadDeadLetters returns up to limit dead rows of the database st, newest
// first. It needs no running App, so a tool can read the dead letters of a
// stopped server (the load test does) from a read-only store.
func ReadDeadLetters(st *store.Store, limit int) ([]OutboxRow, error) {
	var rows []OutboxRow
	err := st.View(func(tx store.Tx) error {
		return tx.ScanReverse(bucketOutboxDead, nil, func(k, _ []byte) error {
			if len(rows) >= limit {
				return store.ErrStop
			}
			var row OutboxRow
			if _, err := store.GetJSON(tx, bucketOutbox, k, &row); err != nil {
				return err
			}
			rows = append(rows, row)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list dead letters: %w", err)
	}
	return rows, nil
}
