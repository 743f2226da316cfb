package telegram

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"

	"github.com/carebot/carebot/channels"
)

// Name is the channel name used in events and outbox rows.
const Name = "telegram"

// WebhookPath is where the bot's HTTP server mounts Handler; Run registers
// PublicURL + WebhookPath with Telegram.
const WebhookPath = "/webhook/telegram"

// Modes of receiving updates.
const (
	ModeWebhook = "webhook"
	ModePolling = "polling"
)

// DefaultAPIBase is the Bot API server used when Config.APIBase is empty.
const DefaultAPIBase = "https://api.telegram.org"

// allowedUpdates are the update kinds carebot handles. Naming them keeps
// edited messages, channel posts and reactions off the wire, and resets
// whatever an earlier setWebhook or getUpdates call asked for.
var allowedUpdates = []string{
	models.AllowedUpdateMessage,
	models.AllowedUpdateCallbackQuery,
	models.AllowedUpdateMyChatMember,
}

// Config is the typed Telegram configuration (bot maps configs.Telegram
// onto it).
type Config struct {
	// Token is the bot token from BotFather ("123456:ABC…").
	Token string
	// WebhookSecret is the secret_token Telegram sends back in the
	// X-Telegram-Bot-Api-Secret-Token header; required in webhook mode.
	WebhookSecret string
	// Mode is ModeWebhook or ModePolling; empty means webhook when
	// WebhookSecret or PublicURL is set, polling otherwise.
	Mode string
	// PublicURL is the HTTPS base where Telegram reaches carebot; in
	// webhook mode Run registers PublicURL + WebhookPath.
	PublicURL string
	// APIBase is the Bot API server; empty means DefaultAPIBase.
	APIBase string
}

// Options are the collaborators of a Channel.
type Options struct {
	// Logger receives the adapter's logs; nil discards them.
	Logger *slog.Logger
	// HTTPClient makes every Bot API call; it should have a timeout.
	// nil means a client with a 60-second timeout.
	HTTPClient *http.Client
	// KV keeps the polling offset, long button payloads and the progress
	// of split messages. Required.
	KV channels.KV
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// PollTimeout is how long one getUpdates call waits for updates in
	// polling mode; zero means 25 s. It is shortened to stay 5 s under
	// HTTPClient.Timeout.
	PollTimeout time.Duration
}

// Channel is the Telegram channel.
type Channel struct {
	cfg      Config
	dispatch channels.Dispatch
	log      *slog.Logger
	http     *http.Client
	kv       channels.KV
	now      func() time.Time
	bot      *bot.Bot
	botID    int64

	pollTimeout time.Duration
	// minBackoff and maxBackoff bound the waits of Run after a failure;
	// tests shorten them.
	minBackoff, maxBackoff time.Duration

	mu       sync.Mutex
	username string // the bot's @username without "@", once learnt

	running atomic.Bool
}

// New returns a Telegram channel that hands inbound events to dispatch.
// It makes no network call: the bot's username, needed to recognise
// mentions in groups, is fetched with getMe when first needed.
func New(cfg Config, dispatch channels.Dispatch, opts Options) (*Channel, error) {
	cfg, err := cfg.check()
	if err != nil {
		return nil, err
	}
	if dispatch == nil {
		return nil, errors.New("telegram: dispatch is nil")
	}
	if opts.KV == nil {
		return nil, errors.New("telegram: Options.KV is required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: 60 * time.Second}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	poll := opts.PollTimeout
	if poll <= 0 {
		poll = 25 * time.Second
	}
	if t := opts.HTTPClient.Timeout; t > 0 && poll > t-5*time.Second {
		poll = t - 5*time.Second
	}
	if cfg.Mode == ModePolling && poll < time.Second {
		return nil, fmt.Errorf("telegram: HTTP client timeout %s is too short for long polling (need at least 6s)", opts.HTTPClient.Timeout)
	}
	c := &Channel{
		cfg:         cfg,
		dispatch:    dispatch,
		log:         opts.Logger.With("channel", Name),
		http:        opts.HTTPClient,
		kv:          opts.KV,
		now:         opts.Now,
		pollTimeout: poll,
		minBackoff:  time.Second,
		maxBackoff:  30 * time.Second,
	}
	c.bot, err = bot.New(cfg.Token,
		bot.WithSkipGetMe(),
		bot.WithServerURL(cfg.APIBase),
		bot.WithHTTPClient(poll, opts.HTTPClient),
		bot.WithErrorsHandler(func(err error) { c.log.Error("telegram sdk", "err", err) }),
		// Updates never go through the SDK's queue (Handler and Run
		// handle them), but keep its default handler quiet anyway.
		bot.WithDefaultHandler(func(context.Context, *bot.Bot, *models.Update) {}),
	)
	if err != nil {
		return nil, fmt.Errorf("telegram: %w", err)
	}
	c.botID = c.bot.ID()
	if c.botID <= 0 {
		// The id before ":" identifies the bot's own messages in groups.
		return nil, errors.New(`telegram: the token does not look like BotFather's "<bot id>:<secret>"`)
	}
	return c, nil
}

// check validates cfg and fills in defaults.
func (cfg Config) check() (Config, error) {
	if strings.TrimSpace(cfg.Token) == "" {
		return cfg, errors.New("telegram: token is empty")
	}
	switch cfg.Mode {
	case "":
		// The same default as configs.Telegram.EffectiveMode.
		cfg.Mode = ModePolling
		if cfg.WebhookSecret != "" || cfg.PublicURL != "" {
			cfg.Mode = ModeWebhook
		}
	case ModeWebhook, ModePolling:
	default:
		return cfg, fmt.Errorf("telegram: mode %q is neither %s nor %s", cfg.Mode, ModeWebhook, ModePolling)
	}
	if cfg.Mode == ModeWebhook && cfg.WebhookSecret == "" {
		// Without the secret anyone who guesses the URL could inject
		// updates, so webhook mode refuses to start.
		return cfg, errors.New("telegram: webhook mode needs a webhook secret")
	}
	cfg.APIBase = strings.TrimRight(cfg.APIBase, "/")
	if cfg.APIBase == "" {
		cfg.APIBase = DefaultAPIBase
	}
	return cfg, nil
}

// Name returns "telegram".
func (c *Channel) Name() string { return Name }

// Typing shows "typing…" in chatID for about five seconds or until the
// bot's next message arrives; call it again for longer answers.
func (c *Channel) Typing(ctx context.Context, chatID string) error {
	id, err := parseChatID(chatID)
	if err != nil {
		return err
	}
	_, err = c.bot.SendChatAction(ctx, &bot.SendChatActionParams{ChatID: id, Action: models.ChatActionTyping})
	if err != nil {
		return classify("sendChatAction", err)
	}
	return nil
}

// botUsername returns the bot's username, asking getMe the first time.
func (c *Channel) botUsername(ctx context.Context) (string, error) {
	c.mu.Lock()
	name := c.username
	c.mu.Unlock()
	if name != "" {
		return name, nil
	}
	me, err := c.bot.GetMe(ctx)
	if err != nil {
		return "", fmt.Errorf("telegram: getMe: %w", err)
	}
	if me.Username == "" {
		return "", errors.New("telegram: getMe returned no username")
	}
	c.mu.Lock()
	c.username = me.Username
	c.mu.Unlock()
	return me.Username, nil
}
