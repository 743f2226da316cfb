package wecom

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"sync"
	"time"

	"github.com/silenceper/wechat/v2/work/config"
	"github.com/silenceper/wechat/v2/work/kf"

	"github.com/carebot/carebot/channels"
	"github.com/carebot/carebot/channels/internal/wxapi"
)

// Name is the channel name used in events and outbox rows.
const Name = "wecom"

// apiHost is the host the SDK's WeCom URLs point at; New routes it to
// Config.APIBase (see wxapi.InstallHTTP).
const apiHost = "qyapi.weixin.qq.com"

// DefaultAPIBase is where the WeCom API lives.
const DefaultAPIBase = "https://" + apiHost

// Config is the WeCom customer-service (微信客服) settings, as in the
// channels.wecom section of carebot.yaml.
type Config struct {
	// CorpID is the enterprise ID (企业ID).
	CorpID string
	// Secret is the 微信客服 Secret (not an app's secret).
	Secret string
	// Token and EncodingAESKey are the callback settings (回调配置).
	Token          string
	EncodingAESKey string
	// OpenKfID, when set, limits the channel to one customer-service
	// account; when empty, it serves every account of the enterprise.
	OpenKfID string
	// APIBase replaces https://qyapi.weixin.qq.com, for a proxy or tests.
	APIBase string
}

// Options are the channel's collaborators.
type Options struct {
	// Logger receives refused callbacks and delivery decisions; nil means
	// slog.Default().
	Logger *slog.Logger
	// HTTPClient's transport and timeout are used for every API call (the
	// SDK's client is process-wide, see wxapi.InstallHTTP); nil means a client
	// with a 10-second timeout.
	HTTPClient *http.Client
	// KV keeps the sync_msg cursor and, per customer, the 48-hour window
	// and the messages sent in it. Without it the cursor lives in memory
	// (a restart fetches the last 3 days again, minus what is too old, see
	// firstSyncMaxAge) and the quota is left to WeCom.
	KV channels.KV
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Channel is the WeCom customer-service channel.
type Channel struct {
	cfg      Config
	dispatch channels.Dispatch
	log      *slog.Logger
	kv       channels.KV
	now      func() time.Time

	cache *wxapi.TokenCache
	kf    *kf.Client

	// dispatchTimeout bounds each hand-over to the engine; syncTimeout a
	// whole sync. Tests shorten them.
	dispatchTimeout time.Duration
	syncTimeout     time.Duration

	// mu serialises read-modify-write of KV records (the cursor when KV is
	// nil, a customer's window and count).
	mu         sync.Mutex
	memCursors map[string]string

	// syncMu guards the sync scheduler: one sync runs at a time, and
	// callbacks that arrive meanwhile leave their kf account in pending.
	syncMu     sync.Mutex
	pending    map[string]string // open_kfid → callback token
	running    bool
	closed     bool
	retries    map[string]*time.Timer // open_kfid → scheduled retry
	retryDelay time.Duration          // 0: no retry (tests)
	syncWG     sync.WaitGroup
	// syncRun makes Sync and the scheduled syncs take turns, so a cursor
	// never goes back.
	syncRun sync.Mutex
}

// New returns the channel for cfg. It points the SDK's process-wide HTTP
// client at cfg.APIBase (see wxapi.InstallHTTP), so create channels before
// serving, not concurrently with sends.
func New(cfg Config, dispatch channels.Dispatch, opts Options) (*Channel, error) {
	if dispatch == nil {
		return nil, errors.New("wecom: dispatch is required")
	}
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("channels.wecom.%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if cfg.CorpID == "" {
		bad("corp_id", "is required")
	}
	if cfg.Secret == "" {
		bad("secret", "is required")
	}
	if cfg.Token == "" {
		bad("token", "is required")
	}
	if !wxapi.ValidAESKey(cfg.EncodingAESKey) {
		bad("encoding_aes_key", "must be the 43 characters WeCom generates (base64 of 32 bytes)")
	}
	if cfg.OpenKfID != "" && !kfIDRe.MatchString(cfg.OpenKfID) {
		bad("open_kfid", "%q is not an open_kfid", cfg.OpenKfID)
	}
	base, err := wxapi.ParseBase(cfg.APIBase, DefaultAPIBase)
	if err != nil {
		bad("api_base", "%v", err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	log, now, cache := wxapi.Setup(Name, opts.Logger, opts.Now, opts.HTTPClient, apiHost, base)
	// kf.NewClient rather than work.NewWork(…).GetKF(): the work package
	// pulls in every WeCom API, the chat archive's cgo library included.
	client, err := kf.NewClient(&config.Config{
		CorpID:         cfg.CorpID,
		CorpSecret:     cfg.Secret,
		Token:          cfg.Token,
		EncodingAESKey: cfg.EncodingAESKey,
		Cache:          cache,
	})
	if err != nil {
		return nil, fmt.Errorf("wecom: %w", err)
	}
	return &Channel{
		cfg:             cfg,
		dispatch:        dispatch,
		log:             log,
		kv:              opts.KV,
		now:             now,
		cache:           cache,
		kf:              client,
		dispatchTimeout: dispatchTimeout,
		syncTimeout:     syncTimeout,
		retryDelay:      retryDelay,
		memCursors:      map[string]string{},
		pending:         map[string]string{},
		retries:         map[string]*time.Timer{},
	}, nil
}

// Name returns "wecom".
func (c *Channel) Name() string { return Name }

// kfIDRe matches WeCom's ids (open_kfid, external_userid, msgid).
var kfIDRe = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
