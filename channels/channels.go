package channels

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"
)

// Button is a quick-reply choice shown under a message. Pressing it sends
// Payload back to the bot as an Event with Payload set.
type Button struct {
	Label   string `json:"label"`
	Payload string `json:"payload"`
	// URL makes the button a link that opens in the browser; Payload is
	// then empty. Adapters map it to the platform's link button, or list
	// it in the text where the platform has none.
	URL string `json:"url,omitempty"`
}

// Event is one inbound message or button press, normalised from any channel.
type Event struct {
	// Channel is the name of the adapter that received the event ("webchat").
	Channel string
	// ID identifies the event within its channel; the engine drops an event
	// whose (Channel, ID) it has seen before. Empty means "never redelivered".
	ID string
	// ChatID is where replies go: a user's private chat or a group.
	ChatID string
	// UserID is the customer who sent the event.
	UserID string
	// Text is what the customer typed; empty for a button press.
	Text string
	// Payload is the payload of a pressed button; empty for typed text.
	Payload string
	// Locale is the locale the channel knows for the customer
	// ("zh-Hans", "zh-Hant", "en"), or empty when it does not know.
	Locale string
	// Time is when the platform says the event happened.
	Time time.Time
	// ReplyToken is a short-lived token some platforms give for a free reply.
	ReplyToken string
	// Group is true when the message was written in a group chat (ChatID is
	// the group, UserID the member who wrote); private data such as points
	// is then sent to the user's private chat instead.
	Group bool
	// Type is what happened: EventMessage (the default when empty),
	// EventUnsupported (a sticker, a photo…: the bot says it reads text
	// only), EventFollow, EventUnfollow, EventJoin, EventLeave,
	// EventMemberJoined.
	Type string
	// Mentioned is true when a group message mentions the bot or replies
	// to one of its messages: in groups the bot answers only then.
	Mentioned bool
	// Members are the users who joined, for EventMemberJoined.
	Members []string
}

// Event types.
const (
	EventMessage      = "message"
	EventUnsupported  = "unsupported"
	EventFollow       = "follow"
	EventUnfollow     = "unfollow"
	EventJoin         = "join"  // the bot was added to a group
	EventLeave        = "leave" // the bot left or was removed from a group
	EventMemberJoined = "member_joined"
)

// Dispatch hands an inbound event to the engine; an error means it was
// not stored and the platform should redeliver it.
type Dispatch func(ctx context.Context, ev Event) error

// KV is a small durable key-value store an adapter keeps its cursors in
// (Telegram's last update id, WeCom's sync cursor, WeChat's last customer
// action per user); bot implements it over the database.
type KV interface {
	Get(key string) (string, error)
	Set(key, value string) error
}

// Outbound is one message the outbox delivers through a channel.
type Outbound struct {
	// ID is the outbox row id, unique and stable across retries; adapters use
	// it as an idempotency key where the platform accepts one.
	ID      uint64
	Channel string
	ChatID  string
	UserID  string
	Text    string
	Buttons []Button
	// ReplyToken, when set, lets the adapter answer with a free reply.
	ReplyToken string
	// Attempt counts delivery attempts, starting at 1.
	Attempt int
	// ImageURL is an https picture to send before the text, "" for none.
	ImageURL string
	// Kind says what the message is ("reply", "agent", "care", "followup",
	// "csat", "staff", "broadcast"); WeChat picks a template by it outside
	// the 48-hour window.
	Kind string
	// Group is true when ChatID is a group chat.
	Group bool
}

// Channel is a messaging channel adapter that can deliver outbound messages.
type Channel interface {
	// Name is the channel's stable identifier, as used in Event.Channel.
	Name() string
	// Send delivers one message. A nil error means the platform accepted it.
	// Errors are temporary (retried with backoff) unless wrapped with
	// Permanent or carrying a RetryAfter hint.
	Send(ctx context.Context, msg Outbound) error
}

// ErrPermanent marks a send error that retrying cannot fix (a blocked user,
// a malformed message); the outbox moves the message to the dead letters.
var ErrPermanent = errors.New("permanent delivery failure")

// Permanent wraps err so that errors.Is(err, ErrPermanent) holds.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%w: %w", ErrPermanent, err)
}

// RetryAfterError is a temporary error with the wait the platform asked for
// (Telegram's retry_after, an HTTP Retry-After header).
type RetryAfterError struct {
	After time.Duration
	Err   error
}

func (e *RetryAfterError) Error() string {
	return fmt.Sprintf("retry after %s: %v", e.After, e.Err)
}

func (e *RetryAfterError) Unwrap() error { return e.Err }

// Registry holds the channels that are switched on, by name.
type Registry struct {
	mu       sync.RWMutex
	channels map[string]Channel
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{channels: make(map[string]Channel)}
}

// Register adds ch; registering two channels with one name is an error.
func (r *Registry) Register(ch Channel) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.channels[ch.Name()]; ok {
		return fmt.Errorf("channel %q registered twice", ch.Name())
	}
	r.channels[ch.Name()] = ch
	return nil
}

// Get returns the channel called name.
func (r *Registry) Get(name string) (Channel, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	ch, ok := r.channels[name]
	return ch, ok
}

// Names lists the registered channels in sorted order.
func (r *Registry) Names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	names := make([]string, 0, len(r.channels))
	for n := range r.channels {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
