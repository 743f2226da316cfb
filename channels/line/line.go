package line

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/line/line-bot-sdk-go/v8/linebot/messaging_api"

	"github.com/carebot/carebot/channels"
)

// Name is the channel name used in events and outbox rows.
const Name = "line"

// DefaultAPIBase is where the Messaging API lives when Config.APIBase is empty.
const DefaultAPIBase = "https://api.line.me"

// MaxBody is the largest webhook body the handler reads. LINE batches a few
// events per request, each at most a 5,000-character text, so a megabyte is
// generous; anything larger is refused before its signature is checked.
const MaxBody = 1 << 20

// Config is the LINE part of carebot's configuration (configs.LINE).
type Config struct {
	// ChannelSecret verifies webhook signatures (Basic settings tab).
	ChannelSecret string
	// ChannelToken is the long-lived channel access token (Messaging API tab).
	ChannelToken string
	// APIBase is the Messaging API's base URL; empty means DefaultAPIBase.
	APIBase string
}

// Options tune a Channel; the zero value is ready for production.
type Options struct {
	// Logger receives rejected webhooks, failed dispatches and fallbacks;
	// nil means slog.Default().
	Logger *slog.Logger
	// HTTPClient calls the Messaging API. It should have a timeout: the
	// SDK's default, http.DefaultClient, has none. Nil means a client with
	// a 30-second timeout (the outbox's own deadline is usually shorter).
	HTTPClient *http.Client
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// ReplyTokenTTL is how long after its arrival a reply token is still
	// used. LINE documents "about a minute" without a guarantee and the
	// real limit has been measured near 30 s, so zero means 25 s.
	ReplyTokenTTL time.Duration
	// TypingFor is how long Typing shows the loading animation; LINE takes
	// 5–60 s in steps of 5 and hides it early when the bot's message
	// arrives. Zero means 20 s; other values are rounded up to a step.
	TypingFor time.Duration
}

// Channel is the LINE channel: a webhook handler and a sender.
type Channel struct {
	cfg      Config
	dispatch channels.Dispatch
	opts     Options
	log      *slog.Logger
	memo     *memo
}

// New returns a LINE channel that hands inbound events to dispatch. It does
// not call the network.
func New(cfg Config, dispatch channels.Dispatch, opts Options) (*Channel, error) {
	if cfg.ChannelSecret == "" || cfg.ChannelToken == "" {
		return nil, errors.New("line: channel secret and channel token are required")
	}
	if dispatch == nil {
		return nil, errors.New("line: dispatch is nil")
	}
	if cfg.APIBase == "" {
		cfg.APIBase = DefaultAPIBase
	}
	if u, err := url.Parse(cfg.APIBase); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("line: api base %q is not an http(s) URL", cfg.APIBase)
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.ReplyTokenTTL <= 0 {
		opts.ReplyTokenTTL = 25 * time.Second
	}
	opts.TypingFor = loadingStep(opts.TypingFor)
	c := &Channel{
		cfg:      cfg,
		dispatch: dispatch,
		opts:     opts,
		log:      opts.Logger.With("channel", Name),
		memo:     newMemo(opts.ReplyTokenTTL),
	}
	// Fail at start-up, not at the first send, if the SDK rejects the
	// configuration.
	if _, err := c.api(context.Background()); err != nil {
		return nil, err
	}
	return c, nil
}

// Name returns "line".
func (c *Channel) Name() string { return Name }

// api returns a Messaging API client bound to ctx. It is built per call on
// purpose: the SDK creates requests without a context, and its only way to
// attach one, WithContext, mutates the client it is called on, so calling
// it on a shared client would race and leak one send's deadline into
// another's. Building the client is a struct and a URL parse.
func (c *Channel) api(ctx context.Context) (*messaging_api.MessagingApiAPI, error) {
	api, err := messaging_api.NewMessagingApiAPI(c.cfg.ChannelToken,
		messaging_api.WithEndpoint(c.cfg.APIBase),
		messaging_api.WithHTTPClient(c.opts.HTTPClient))
	if err != nil {
		return nil, fmt.Errorf("line: client: %w", err)
	}
	return api.WithContext(ctx), nil
}

// loadingStep maps d to a loading time LINE accepts, in seconds.
func loadingStep(d time.Duration) time.Duration {
	if d <= 0 {
		return 20 * time.Second
	}
	steps := (d + 5*time.Second - 1) / (5 * time.Second)
	return min(max(steps, 1), 12) * 5 * time.Second
}

// Sizes of the in-memory bookkeeping. Both maps only hold what the outbox
// can still ask about within minutes, so a cap protects memory against a
// flood without costing anything in normal operation: a token that cannot
// be remembered is simply answered with a push.
const (
	maxTokens  = 100_000
	maxReplied = 100_000
	// repliedTTL is how long the memo remembers that a row's first batch
	// went out as a reply; the outbox retries well within it.
	repliedTTL = time.Hour
)

// memo is the channel's short-term memory: when each reply token arrived,
// and which outbox rows were (partly) delivered with a reply. Replies carry
// no idempotency key, unlike pushes, so this is what keeps a retried row
// from showing its first messages twice.
type memo struct {
	ttl time.Duration

	mu        sync.Mutex
	tokens    map[string]time.Time // reply token → arrival
	replied   map[uint64]time.Time // outbox row id → when the reply went out
	lastPrune time.Time
}

func newMemo(ttl time.Duration) *memo {
	return &memo{ttl: ttl, tokens: make(map[string]time.Time), replied: make(map[uint64]time.Time)}
}

// prune drops what has expired; callers hold mu. It runs at most once per
// TTL, so its cost is spread over all the calls in between.
func (m *memo) prune(now time.Time) {
	if now.Sub(m.lastPrune) < m.ttl {
		return
	}
	m.lastPrune = now
	for tok, at := range m.tokens {
		if now.Sub(at) >= m.ttl {
			delete(m.tokens, tok)
		}
	}
	for id, at := range m.replied {
		if now.Sub(at) >= repliedTTL {
			delete(m.replied, id)
		}
	}
}

// rememberToken records that tok arrived at now.
func (m *memo) rememberToken(tok string, now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.prune(now)
	if len(m.tokens) < maxTokens {
		m.tokens[tok] = now
	}
}

// freshToken reports whether tok arrived less than the TTL before now.
func (m *memo) freshToken(tok string, now time.Time) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.prune(now)
	at, ok := m.tokens[tok]
	return ok && now.Sub(at) < m.ttl
}

// forgetToken drops tok: it was used, or LINE refused it.
func (m *memo) forgetToken(tok string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.tokens, tok)
}

// markReplied records that row id's first batch went out as a reply.
func (m *memo) markReplied(id uint64, now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.prune(now)
	if len(m.replied) < maxReplied {
		m.replied[id] = now
	}
}

// wasReplied reports whether row id's first batch went out as a reply.
func (m *memo) wasReplied(id uint64) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.replied[id]
	return ok
}
