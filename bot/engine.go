package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/carebot/carebot/channels"
	"github.com/carebot/carebot/dialog"
	"github.com/carebot/carebot/dialog/emotion"
	"github.com/carebot/carebot/knowledge"
	"github.com/carebot/carebot/stats"
	"github.com/carebot/carebot/store"
)

// Buckets owned by the engine.
var (
	bucketSeen       = store.RegisterBucket("bot", "events_seen")
	bucketSeenByTime = store.RegisterBucket("bot", "events_seen_by_time")
	bucketConvs      = store.RegisterBucket("bot", "conversations")
	bucketLog        = store.RegisterBucket("bot", "conversation_log")
)

// Conversation is the stored record of one chat on one channel.
type Conversation struct {
	Channel  string       `json:"channel"`
	ChatID   string       `json:"chat_id"`
	UserID   string       `json:"user_id"`
	State    dialog.State `json:"state"`
	Created  time.Time    `json:"created"`
	Updated  time.Time    `json:"updated"`
	Messages uint64       `json:"messages"`
	// Member and MemberTier identify the loyalty member behind the chat,
	// empty until the loyalty programme knows them.
	Member     string `json:"member,omitempty"`
	MemberTier string `json:"member_tier,omitempty"`
}

// LogEntry is one line of a conversation's log: a customer message or a
// message the bot queued.
type LogEntry struct {
	Seq      uint64         `json:"seq"`
	Dir      string         `json:"dir"` // "in" or "out"
	Text     string         `json:"text,omitempty"`
	Payload  string         `json:"payload,omitempty"`
	Route    string         `json:"route,omitempty"`
	Outcome  dialog.Outcome `json:"outcome,omitempty"`
	FAQ      string         `json:"faq,omitempty"`
	Score    float64        `json:"score,omitempty"`
	OutboxID uint64         `json:"outbox_id,omitempty"`
	EventID  string         `json:"event_id,omitempty"`
	// Emotion is the score of a customer message.
	Emotion *emotion.Result `json:"emotion,omitempty"`
	// Ticket is the ticket the message belongs to, if any.
	Ticket uint64 `json:"ticket,omitempty"`
	// Agent is the person who wrote an outgoing message.
	Agent string `json:"agent,omitempty"`
	// SendAt is when a scheduled message (a follow-up) goes out; zero for
	// messages sent at once.
	SendAt time.Time `json:"send_at,omitzero"`
	// Delivery and DeliveryError are filled in for the console from the
	// outbox row (pending, delivered, dead and why); they are not stored.
	Delivery      string    `json:"delivery,omitempty"`
	DeliveryError string    `json:"delivery_error,omitempty"`
	Time          time.Time `json:"time"`
}

// DispatchResult says what Dispatch did with an event.
type DispatchResult struct {
	// Duplicate is true when the event was seen before and ignored.
	Duplicate bool
	// OutboxIDs are the rows queued as replies, in order.
	OutboxIDs []uint64
	Route     string
	Outcome   dialog.Outcome
	// Emotion is the message's score; Ticket the ticket it opened or
	// belongs to (0 when none).
	Emotion *emotion.Result
	Ticket  uint64
	handoff string
}

// Engine turns inbound events into stored state and queued replies.
type Engine struct {
	store   *store.Store
	router  *dialog.Router
	outbox  *Outbox
	metrics *Metrics
	now     func() time.Time
	log     *slog.Logger
	seenTTL time.Duration
	care    *Care
	loyalty *loyaltyChat
	// stats keeps the daily aggregates of turns and emotion.
	stats *stats.Recorder
}

// maxStoredText bounds the text kept in logs; a 1 MB paste is not history.
const maxStoredText = 4000

// Dispatch handles one inbound event: it drops a redelivered event, runs the
// dialog, and in one transaction records the event as seen, appends the
// customer's message and the replies to the conversation log, saves the
// conversation state, logs an unanswered question, and queues the replies
// in the outbox. Either all of that is stored or none of it, and Dispatch
// returns only when it is durable. Concurrent dispatches are group
// committed (store.Batch): they run one after another, in arrival order,
// in one transaction with one fsync.
func (e *Engine) Dispatch(ctx context.Context, ev channels.Event) (DispatchResult, error) {
	if err := ctx.Err(); err != nil {
		return DispatchResult{}, err
	}
	if ev.Channel == "" || ev.ChatID == "" {
		return DispatchResult{}, errors.New("dispatch: event needs a channel and a chat id")
	}
	start := time.Now()
	now := e.now()
	if ev.Time.IsZero() {
		ev.Time = now
	}
	var res DispatchResult
	// Batch shares one commit (and its fsync) among the dispatches that
	// arrive together; each still returns only once its turn is durable.
	// dispatchTx may run more than once: it only reads and writes the
	// transaction and leaves what must happen once (metrics, logs, the
	// outbox's wake-up, ticket events through OnCommit) to after the
	// commit, and res is set by the run that was committed.
	err := e.store.Batch(func(tx store.Tx) error {
		var err error
		res, err = e.dispatchTx(tx, ev, now)
		return err
	})
	if err != nil {
		return DispatchResult{}, fmt.Errorf("dispatch %s event %q: %w", ev.Channel, ev.ID, err)
	}
	e.metrics.dispatchSeconds.Observe(time.Since(start).Seconds())
	if res.Duplicate {
		e.metrics.duplicates.WithLabelValues(ev.Channel).Inc()
		e.log.Debug("duplicate event dropped", "channel", ev.Channel, "event", ev.ID)
		return res, nil
	}
	e.metrics.messagesIn.WithLabelValues(ev.Channel).Inc()
	e.metrics.faq.WithLabelValues(string(res.Outcome)).Inc()
	if res.Emotion != nil {
		e.metrics.emotion.WithLabelValues(string(res.Emotion.Tier)).Inc()
	}
	if res.handoff != "" && res.handoff != dialog.HandoffMessage {
		e.metrics.tickets.WithLabelValues(res.handoff).Inc()
	}
	e.outbox.Wake()
	return res, nil
}

// markSeen records ev's id and reports whether it had been seen before.
func markSeen(tx store.Tx, ev channels.Event, now time.Time) (bool, error) {
	if ev.ID == "" {
		return false, nil
	}
	seenKey := store.Key(ev.Channel, ev.ID)
	if tx.Get(bucketSeen, seenKey) != nil {
		return true, nil
	}
	if err := tx.Put(bucketSeen, seenKey, store.U64(uint64(now.UnixNano()))); err != nil {
		return false, err
	}
	return false, tx.Put(bucketSeenByTime, append(store.U64(uint64(now.UnixNano())), seenKey...), nil)
}

// dispatchTx is the transaction of Dispatch.
func (e *Engine) dispatchTx(tx store.Tx, ev channels.Event, now time.Time) (DispatchResult, error) {
	if dup, err := markSeen(tx, ev, now); err != nil || dup {
		return DispatchResult{Duplicate: dup}, err
	}
	convKey := store.Key(ev.Channel, ev.ChatID)
	var conv Conversation
	found, err := store.GetJSON(tx, bucketConvs, convKey, &conv)
	if err != nil {
		return DispatchResult{}, fmt.Errorf("load conversation: %w", err)
	}
	if !found {
		conv = Conversation{Channel: ev.Channel, ChatID: ev.ChatID, UserID: ev.UserID, Created: now}
	}
	if ev.UserID != "" {
		conv.UserID = ev.UserID
	}
	if e.loyalty != nil {
		if _, err := e.loyalty.identify(tx, &conv); err != nil {
			return DispatchResult{}, err
		}
	}
	result := e.router.Respond(conv.State, dialog.Turn{Text: ev.Text, Payload: ev.Payload, Locale: ev.Locale, Time: ev.Time, MemberTier: conv.MemberTier, Group: ev.Group, Mentioned: ev.Mentioned, Event: ev.Type})
	conv.State, conv.Updated = result.State, now
	var ticket uint64
	replies := result.Replies
	if result.Handoff != nil && e.care != nil {
		t, extra, err := e.care.applyTurn(tx, &conv, clip(ev.Text), &result, now)
		if err != nil {
			return DispatchResult{}, err
		}
		ticket, replies = t, append(replies, extra...)
	}
	if result.CSAT != nil && e.care != nil {
		rs, t, err := e.care.recordCSAT(tx, &conv, result.CSAT, now)
		if err != nil {
			return DispatchResult{}, fmt.Errorf("record csat: %w", err)
		}
		replies = append(replies, rs...)
		ticket = max(ticket, t)
	}
	if result.Survey != nil && e.care != nil {
		rs, t, err := e.care.answerSurvey(tx, e.outbox, &conv, result.Survey, now)
		if err != nil {
			return DispatchResult{}, fmt.Errorf("survey answer: %w", err)
		}
		replies = append(replies, rs...)
		ticket = max(ticket, t)
	}
	var private []dialog.Reply
	if result.Loyalty != nil && e.loyalty != nil {
		rs, err := e.loyalty.chatTurn(tx, &conv, result.Loyalty, ev.Group)
		if err != nil {
			return DispatchResult{}, fmt.Errorf("loyalty %s: %w", result.Loyalty.Command, err)
		}
		if ev.Group {
			// Points and coupons are never shown in a group: they go to the
			// member's private chat, the group hears only that.
			private = rs
			replies = append(replies, dialog.Reply{Text: e.router.Text("loyalty_private_only", conv.State.Locale)})
		} else {
			replies = append(replies, rs...)
		}
	}
	in := LogEntry{Dir: "in", Text: clip(ev.Text), Payload: ev.Payload, Route: result.Route, Outcome: result.Outcome, EventID: ev.ID, Time: ev.Time, Emotion: result.Emotion, Ticket: ticket}
	if result.Match != nil {
		in.FAQ, in.Score = result.Match.Entry.ID, result.Match.Score
	}
	if err := appendLog(tx, &conv, in); err != nil {
		return DispatchResult{}, err
	}
	if err := e.recordTurn(tx, now, &result); err != nil {
		return DispatchResult{}, fmt.Errorf("turn stats: %w", err)
	}
	if result.Outcome == dialog.OutcomeUnanswered || result.Outcome == dialog.OutcomeClarify {
		if err := knowledge.RecordUnanswered(tx, knowledge.Unanswered{
			Query: result.Query, Text: clip(ev.Text), Locale: result.State.Locale,
			Outcome: string(result.Outcome), Channel: ev.Channel, Time: now, Nearest: result.Nearest,
		}); err != nil {
			return DispatchResult{}, fmt.Errorf("record unanswered: %w", err)
		}
	}
	res := DispatchResult{Route: result.Route, Outcome: result.Outcome, Emotion: result.Emotion, Ticket: ticket}
	if result.Handoff != nil && ticket != 0 {
		res.handoff = result.Handoff.Kind
	}
	for i, r := range replies {
		row := OutboxRow{Channel: ev.Channel, ChatID: ev.ChatID, UserID: ev.UserID, Text: r.Text, Buttons: toChannelButtons(r.Buttons), SendAt: now, Kind: "reply", Group: ev.Group, ImageURL: r.Image}
		if i == 0 {
			row.ReplyToken = ev.ReplyToken
		}
		id, err := e.outbox.Enqueue(tx, row)
		if err != nil {
			return DispatchResult{}, err
		}
		res.OutboxIDs = append(res.OutboxIDs, id)
		if err := appendLog(tx, &conv, LogEntry{Dir: "out", Text: clip(r.Text), Route: result.Route, OutboxID: id, Ticket: ticket, Time: now}); err != nil {
			return DispatchResult{}, err
		}
	}
	for _, r := range private {
		row := OutboxRow{Channel: ev.Channel, ChatID: ev.UserID, UserID: ev.UserID, Text: r.Text, Buttons: toChannelButtons(r.Buttons), SendAt: now, Kind: "reply"}
		id, err := e.outbox.Enqueue(tx, row)
		if err != nil {
			return DispatchResult{}, err
		}
		res.OutboxIDs = append(res.OutboxIDs, id)
	}
	return res, store.PutJSON(tx, bucketConvs, convKey, conv)
}

func appendLog(tx store.Tx, conv *Conversation, entry LogEntry) error {
	conv.Messages++
	entry.Seq = conv.Messages
	key := append(store.Prefix(conv.Channel, conv.ChatID), store.U64(entry.Seq)...)
	if err := store.PutJSON(tx, bucketLog, key, entry); err != nil {
		return fmt.Errorf("append conversation log: %w", err)
	}
	return nil
}

func clip(s string) string {
	if len(s) <= maxStoredText {
		return s
	}
	r := []rune(s)
	if len(r) <= maxStoredText {
		return s
	}
	return string(r[:maxStoredText]) + "…"
}

func toChannelButtons(bs []dialog.Button) []channels.Button {
	if len(bs) == 0 {
		return nil
	}
	out := make([]channels.Button, len(bs))
	for i, b := range bs {
		out[i] = channels.Button{Label: b.Label, Payload: b.Payload, URL: b.URL}
	}
	return out
}

// Conversation returns the stored conversation and its log (oldest first,
// at most limit entries from the end).
func (e *Engine) Conversation(channel, chatID string, limit int) (Conversation, []LogEntry, error) {
	var conv Conversation
	var entries []LogEntry
	err := e.store.View(func(tx store.Tx) error {
		if _, err := store.GetJSON(tx, bucketConvs, store.Key(channel, chatID), &conv); err != nil {
			return err
		}
		return tx.ScanReverse(bucketLog, store.Prefix(channel, chatID), func(_, v []byte) error {
			if len(entries) >= limit {
				return store.ErrStop
			}
			var le LogEntry
			if err := store.DecodeJSON(v, &le); err != nil {
				return err
			}
			entries = append(entries, le)
			return nil
		})
	})
	for i, j := 0, len(entries)-1; i < j; i, j = i+1, j-1 {
		entries[i], entries[j] = entries[j], entries[i]
	}
	if err != nil {
		return conv, nil, fmt.Errorf("read conversation: %w", err)
	}
	return conv, entries, nil
}

// ExpireSeenEvents forgets event ids older than the TTL, oldest first, at
// most limit per call so a large backlog does not hold the writer long.
func (e *Engine) ExpireSeenEvents(limit int) (int, error) {
	cutoff := store.U64(uint64(e.now().Add(-e.seenTTL).UnixNano()))
	n := 0
	err := e.store.Update(func(tx store.Tx) error {
		n = 0
		var keys [][]byte
		if err := tx.ScanRange(bucketSeenByTime, nil, cutoff, func(k, _ []byte) error {
			if len(keys) >= limit {
				return store.ErrStop
			}
			keys = append(keys, append([]byte(nil), k...))
			return nil
		}); err != nil {
			return err
		}
		for _, k := range keys {
			if err := tx.Delete(bucketSeen, k[8:]); err != nil {
				return err
			}
			if err := tx.Delete(bucketSeenByTime, k); err != nil {
				return err
			}
		}
		n = len(keys)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("expire seen events: %w", err)
	}
	return n, nil
}
