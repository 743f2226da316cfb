package line

import (
	"errors"
	"net/http"
	"time"

	"github.com/line/line-bot-sdk-go/v8/linebot/webhook"

	"github.com/carebot/carebot/channels"
)

// Handler serves LINE's webhook (mount it at /webhook/line).
//
// It verifies X-Line-Signature before anything else and answers 401 to a
// request that fails, touching nothing; 400 to a signed body that is not a
// webhook payload; 413 to a body over MaxBody. Otherwise it dispatches every
// event it understands and answers 200 when all were stored, 500 when one
// was not, so that LINE redelivers the request (when redelivery is on in
// the console); events already stored are then dropped by the engine's
// deduplication on Event.ID.
func (c *Channel) Handler() http.Handler {
	return http.HandlerFunc(c.serveWebhook)
}

func (c *Channel) serveWebhook(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, MaxBody)
	cb, err := webhook.ParseRequest(c.cfg.ChannelSecret, r)
	var tooBig *http.MaxBytesError
	switch {
	case errors.Is(err, webhook.ErrInvalidSignature):
		reason := "signature does not match the body"
		if r.Header.Get("X-Line-Signature") == "" {
			reason = "X-Line-Signature header is missing"
		}
		c.log.Warn("line webhook rejected", "reason", reason, "remote", r.RemoteAddr)
		http.Error(w, "invalid signature", http.StatusUnauthorized)
		return
	case errors.As(err, &tooBig):
		c.log.Warn("line webhook rejected", "reason", "body too large", "limit", MaxBody, "remote", r.RemoteAddr)
		http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
		return
	case err != nil:
		// The SDK appends the whole body to its parse error; log only the
		// cause, which is enough to diagnose and keeps customer messages
		// out of the log.
		cause := err
		if inner := errors.Unwrap(err); inner != nil {
			cause = inner
		}
		c.log.Warn("line webhook rejected", "reason", "malformed body", "err", cause, "remote", r.RemoteAddr)
		http.Error(w, "malformed webhook body", http.StatusBadRequest)
		return
	}

	now := c.opts.Now()
	failed := 0
	for _, e := range cb.Events {
		ev, redelivered, ok := toEvent(e)
		if !ok {
			continue
		}
		// Remember the token before dispatching: the outbox may pick the
		// reply up before Dispatch returns. A redelivered event arrives
		// long after LINE issued its token, so it is answered with a push.
		if ev.ReplyToken != "" && !redelivered {
			c.memo.rememberToken(ev.ReplyToken, now)
		}
		if err := c.dispatch(r.Context(), ev); err != nil {
			failed++
			c.log.Error("line event not stored", "event", ev.ID, "type", ev.Type, "err", err)
		}
	}
	if failed > 0 {
		http.Error(w, "some events were not stored", http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// eventBase is what carebot reads of one LINE event: the fields every
// event type repeats, and what its type adds.
type eventBase struct {
	id, token   string
	timestamp   int64
	mode        webhook.EventMode
	source      webhook.SourceInterface
	delivery    *webhook.DeliveryContext
	kind        string // a channels.Event type
	text        string
	payload     string
	mentioned   bool
	members     []string
	buttonPress bool
}

// readEvent extracts eventBase from the event types carebot acts on; ok is
// false for the others (unknown types, unsend, memberLeft, beacon…).
// Events are value types in the SDK, never pointers.
func readEvent(e webhook.EventInterface) (b eventBase, ok bool) {
	switch e := e.(type) {
	case webhook.MessageEvent:
		b = eventBase{id: e.WebhookEventId, token: e.ReplyToken, timestamp: e.Timestamp, mode: e.Mode, source: e.Source, delivery: e.DeliveryContext}
		if m, isText := e.Message.(webhook.TextMessageContent); isText {
			b.kind, b.text, b.mentioned = channels.EventMessage, m.Text, mentionsSelf(m.Mention)
		} else {
			b.kind = channels.EventUnsupported // image, sticker, video… or none
		}
	case webhook.PostbackEvent:
		b = eventBase{id: e.WebhookEventId, token: e.ReplyToken, timestamp: e.Timestamp, mode: e.Mode, source: e.Source, delivery: e.DeliveryContext, kind: channels.EventMessage, buttonPress: true}
		if e.Postback != nil {
			b.payload = e.Postback.Data
		}
	case webhook.FollowEvent:
		b = eventBase{id: e.WebhookEventId, token: e.ReplyToken, timestamp: e.Timestamp, mode: e.Mode, source: e.Source, delivery: e.DeliveryContext, kind: channels.EventFollow}
	case webhook.UnfollowEvent:
		b = eventBase{id: e.WebhookEventId, timestamp: e.Timestamp, mode: e.Mode, source: e.Source, delivery: e.DeliveryContext, kind: channels.EventUnfollow}
	case webhook.JoinEvent:
		b = eventBase{id: e.WebhookEventId, token: e.ReplyToken, timestamp: e.Timestamp, mode: e.Mode, source: e.Source, delivery: e.DeliveryContext, kind: channels.EventJoin}
	case webhook.LeaveEvent:
		b = eventBase{id: e.WebhookEventId, timestamp: e.Timestamp, mode: e.Mode, source: e.Source, delivery: e.DeliveryContext, kind: channels.EventLeave}
	case webhook.MemberJoinedEvent:
		b = eventBase{id: e.WebhookEventId, token: e.ReplyToken, timestamp: e.Timestamp, mode: e.Mode, source: e.Source, delivery: e.DeliveryContext, kind: channels.EventMemberJoined}
		if e.Joined != nil {
			for _, m := range e.Joined.Members {
				if m.UserId != "" {
					b.members = append(b.members, m.UserId)
				}
			}
		}
	default:
		return b, false
	}
	return b, true
}

// toEvent normalises one LINE event. ok is false for events carebot does
// not act on (see readEvent), events without a chat, and standby-mode
// events: another channel owns the chat then, and answering would talk
// over it. redelivered reports LINE's deliveryContext.isRedelivery.
func toEvent(e webhook.EventInterface) (ev channels.Event, redelivered, ok bool) {
	b, ok := readEvent(e)
	if !ok || b.mode == webhook.EventMode_STANDBY {
		return ev, false, false
	}
	ev = channels.Event{
		Channel:    Name,
		ID:         b.id,
		ReplyToken: b.token,
		Type:       b.kind,
		Text:       b.text,
		Payload:    b.payload,
		Mentioned:  b.mentioned,
		Members:    b.members,
	}
	if b.timestamp > 0 {
		ev.Time = time.UnixMilli(b.timestamp)
	}
	switch s := b.source.(type) {
	case webhook.UserSource:
		ev.ChatID, ev.UserID = s.UserId, s.UserId
	case webhook.GroupSource:
		ev.ChatID, ev.UserID, ev.Group = s.GroupId, s.UserId, true
	case webhook.RoomSource:
		ev.ChatID, ev.UserID, ev.Group = s.RoomId, s.UserId, true
	}
	if ev.ChatID == "" {
		return ev, false, false // nowhere to answer, nobody to attribute it to
	}
	// Pressing one of the bot's own buttons in a group is talking to the
	// bot, like a mention.
	if ev.Group && b.buttonPress {
		ev.Mentioned = true
	}
	return ev, b.delivery != nil && b.delivery.IsRedelivery, true
}

// mentionsSelf reports whether a text mentions the bot itself.
func mentionsSelf(m *webhook.Mention) bool {
	if m == nil {
		return false
	}
	for _, who := range m.Mentionees {
		if u, ok := who.(webhook.UserMentionee); ok && u.IsSelf {
			return true
		}
	}
	return false
}
