package webchat

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sync"
	"time"

	"github.com/carebot/carebot/channels"
)

// Name is the channel name used in events and outbox rows.
const Name = "webchat"

// Directions of a journal message.
const (
	DirIn  = "in"
	DirOut = "out"
)

// Message is one entry of a session's journal.
type Message struct {
	Seq     uint64            `json:"seq"`
	Dir     string            `json:"dir"`
	Text    string            `json:"text"`
	Buttons []channels.Button `json:"buttons,omitempty"`
	// Image is the https URL of a picture shown above the text.
	Image string    `json:"image,omitempty"`
	Time  time.Time `json:"time"`
	// Key makes appends idempotent within a session: "in:<client id>" for
	// customer messages, "outbox:<row id>" for deliveries.
	Key string `json:"key,omitempty"`
}

// Journal stores the messages of each session in order.
type Journal interface {
	// Append stores msg under the next sequence number of session, unless a
	// message with the same Key exists; it returns the stored message and
	// whether it was new.
	Append(session string, msg Message) (Message, bool, error)
	// Since returns up to limit messages with Seq > after, oldest first.
	Since(session string, after uint64, limit int) ([]Message, error)
	// Recent returns the last n messages, oldest first.
	Recent(session string, n int) ([]Message, error)
	// Exists reports whether the session has any message.
	Exists(session string) (bool, error)
}

// Dispatcher hands a customer's event to the engine and returns the ids of
// the outbox rows queued as replies.
type Dispatcher func(ctx context.Context, ev channels.Event) ([]uint64, error)

// Options configure a Channel.
type Options struct {
	// ReplyWait bounds how long a POST waits for its replies.
	ReplyWait time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// KeepAlive is the SSE comment interval; zero means 15 s.
	KeepAlive time.Duration
}

// Channel is the web chat channel.
type Channel struct {
	journal  Journal
	dispatch Dispatcher
	opts     Options

	mu   sync.Mutex
	subs map[string]map[chan struct{}]struct{}
	done chan struct{}
	once sync.Once
}

// New returns a web chat channel over journal that hands customer messages
// to dispatch.
func New(journal Journal, dispatch Dispatcher, opts Options) *Channel {
	if opts.ReplyWait <= 0 {
		opts.ReplyWait = 3 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.KeepAlive <= 0 {
		opts.KeepAlive = 15 * time.Second
	}
	return &Channel{
		journal:  journal,
		dispatch: dispatch,
		opts:     opts,
		subs:     make(map[string]map[chan struct{}]struct{}),
		done:     make(chan struct{}),
	}
}

// Name returns "webchat".
func (c *Channel) Name() string { return Name }

// Send appends an outbound message to its session's journal and wakes the
// session's open streams. It is idempotent per outbox row, so a redelivery
// after a crash does not show a message twice.
func (c *Channel) Send(_ context.Context, out channels.Outbound) error {
	if !validID(out.ChatID) {
		return channels.Permanent(fmt.Errorf("webchat: invalid session %q", out.ChatID))
	}
	_, _, err := c.journal.Append(out.ChatID, Message{
		Dir:     DirOut,
		Text:    out.Text,
		Buttons: out.Buttons,
		Image:   out.ImageURL,
		Time:    c.opts.Now(),
		Key:     fmt.Sprintf("outbox:%d", out.ID),
	})
	if err != nil {
		return fmt.Errorf("webchat: journal: %w", err)
	}
	c.notify(out.ChatID)
	return nil
}

// Close ends every open event stream; call it when the server shuts down,
// because SSE requests otherwise keep a graceful shutdown waiting.
func (c *Channel) Close() {
	c.once.Do(func() { close(c.done) })
}

func (c *Channel) subscribe(session string) (chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	c.mu.Lock()
	if c.subs[session] == nil {
		c.subs[session] = make(map[chan struct{}]struct{})
	}
	c.subs[session][ch] = struct{}{}
	c.mu.Unlock()
	return ch, func() {
		c.mu.Lock()
		delete(c.subs[session], ch)
		if len(c.subs[session]) == 0 {
			delete(c.subs, session)
		}
		c.mu.Unlock()
	}
}

func (c *Channel) notify(session string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for ch := range c.subs[session] {
		select {
		case ch <- struct{}{}:
		default: // a wake-up is already pending
		}
	}
}

var idPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{8,64}$`)

// validID reports whether s is an acceptable session or message id.
func validID(s string) bool { return idPattern.MatchString(s) }

// errUnknownSession is returned for streams and history of sessions that
// never sent a message.
var errUnknownSession = errors.New("unknown session")
