package wechat

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/silenceper/wechat/v2/officialaccount"
	oaconfig "github.com/silenceper/wechat/v2/officialaccount/config"
	"github.com/silenceper/wechat/v2/officialaccount/customerservice"
	"github.com/silenceper/wechat/v2/officialaccount/message"

	"github.com/carebot/carebot/channels"
	"github.com/carebot/carebot/channels/internal/wxapi"
)

// Name is the channel name used in events and outbox rows.
const Name = "wechat"

// apiHost is the host the SDK's Official Account URLs point at; New routes
// it to Config.APIBase (see wxapi.InstallHTTP).
const apiHost = "api.weixin.qq.com"

// DefaultAPIBase is where the Official Account API lives.
const DefaultAPIBase = "https://" + apiHost

// Config is the Official Account's credentials and settings, as in the
// channels.wechat section of carebot.yaml.
type Config struct {
	AppID     string
	AppSecret string
	// Token is the server-configuration token (服务器配置 › 令牌) that
	// WeChat signs webhook requests with.
	Token string
	// EncodingAESKey is the 43-character message key; when set, the
	// webhook accepts only safe-mode (encrypted) messages.
	EncodingAESKey string
	// APIBase replaces https://api.weixin.qq.com, for a proxy or tests.
	APIBase string
	// TemplateIDs maps an Outbound.Kind to the template message used
	// outside the 48-hour window: "TEMPLATE_ID", optionally followed by
	// field=source pairs ("TEMPLATE_ID thing2=text time3=time"); see
	// docs/channels/wechat.md.
	TemplateIDs map[string]string
}

// Options are the channel's collaborators.
type Options struct {
	// Logger receives refused webhooks and delivery decisions; nil means
	// slog.Default().
	Logger *slog.Logger
	// HTTPClient's transport and timeout are used for every API call (the
	// SDK's client is process-wide, see wxapi.InstallHTTP); nil means a client
	// with a 10-second timeout.
	HTTPClient *http.Client
	// KV keeps per-customer state: the last action that opened the
	// customer-service window, the numbered menu last shown, and the
	// progress of a message sent in parts. Nil turns that off: every
	// message is tried as a customer-service message and bare numbers
	// are not mapped to buttons.
	KV channels.KV
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Channel is the WeChat Official Account channel.
type Channel struct {
	cfg      Config
	dispatch channels.Dispatch
	log      *slog.Logger
	kv       channels.KV
	now      func() time.Time

	cache *wxapi.TokenCache
	// The SDK's getters create these lazily without a lock, so they are
	// created once here rather than per call from concurrent workers.
	msgs      *message.Manager
	tpl       *message.Template
	cs        *customerservice.Manager
	templates map[string]templateSpec

	// dispatchTimeout bounds the hand-over to the engine (the package
	// constant; tests shorten it).
	dispatchTimeout time.Duration

	// mu serialises read-modify-write of a customer's KV records (the
	// window is a maximum, so two events must not race to lower it).
	mu sync.Mutex
}

// New returns the channel for cfg. It points the SDK's process-wide HTTP
// client at cfg.APIBase (see wxapi.InstallHTTP), so create channels before
// serving, not concurrently with sends.
func New(cfg Config, dispatch channels.Dispatch, opts Options) (*Channel, error) {
	if dispatch == nil {
		return nil, errors.New("wechat: dispatch is required")
	}
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("channels.wechat.%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if cfg.AppID == "" {
		bad("app_id", "is required")
	}
	if cfg.AppSecret == "" {
		bad("app_secret", "is required")
	}
	if cfg.Token == "" {
		bad("token", "is required")
	}
	if cfg.EncodingAESKey != "" && !wxapi.ValidAESKey(cfg.EncodingAESKey) {
		bad("encoding_aes_key", "must be the 43 characters WeChat generates (base64 of 32 bytes)")
	}
	base, err := wxapi.ParseBase(cfg.APIBase, DefaultAPIBase)
	if err != nil {
		bad("api_base", "%v", err)
	}
	templates := make(map[string]templateSpec, len(cfg.TemplateIDs))
	kinds := make([]string, 0, len(cfg.TemplateIDs))
	for kind := range cfg.TemplateIDs {
		kinds = append(kinds, kind)
	}
	sort.Strings(kinds)
	for _, kind := range kinds {
		spec, err := parseTemplate(cfg.TemplateIDs[kind])
		if err != nil {
			bad("template_ids."+kind, "%v", err)
			continue
		}
		templates[kind] = spec
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}

	log, now, cache := wxapi.Setup(Name, opts.Logger, opts.Now, opts.HTTPClient, apiHost, base)
	oa := officialaccount.NewOfficialAccount(&oaconfig.Config{
		AppID:          cfg.AppID,
		AppSecret:      cfg.AppSecret,
		Token:          cfg.Token,
		EncodingAESKey: cfg.EncodingAESKey,
		Cache:          cache,
	})
	return &Channel{
		cfg:       cfg,
		dispatch:  dispatch,
		log:       log,
		kv:        opts.KV,
		now:       now,
		cache:     cache,
		msgs:      oa.GetCustomerMessageManager(),
		tpl:       oa.GetTemplate(),
		cs:        oa.GetCustomerServiceManager(),
		templates: templates,

		dispatchTimeout: dispatchTimeout,
	}, nil
}

// Name returns "wechat".
func (c *Channel) Name() string { return Name }

// templateSpec is one parsed TemplateIDs value.
type templateSpec struct {
	id     string
	fields []templateField
}

type templateField struct {
	name, source string
}

// Template data sources.
const (
	srcText = "text" // the message text
	srcTime = "time" // when it is sent, China time
	srcKind = "kind" // the message kind ("care", "csat" …)
)

// defaultFields fill the classic layout (first, keyword1, keyword2,
// remark). Since May 2023 WeChat no longer shows first and remark and
// cuts each keyword to 20 characters, so templates from the current
// library need explicit fields.
var defaultFields = []templateField{
	{"first", srcText}, {"keyword1", srcText}, {"keyword2", srcTime}, {"remark", srcText},
}

var (
	templateIDRe    = regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`)
	templateFieldRe = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,31}$`)
)

// parseTemplate reads "ID [field=source …]".
func parseTemplate(v string) (templateSpec, error) {
	parts := strings.Fields(v)
	if len(parts) == 0 {
		return templateSpec{}, errors.New("is empty")
	}
	if !templateIDRe.MatchString(parts[0]) {
		return templateSpec{}, fmt.Errorf("%q is not a template id (letters, digits, - and _)", parts[0])
	}
	spec := templateSpec{id: parts[0]}
	seen := map[string]bool{}
	for _, p := range parts[1:] {
		name, src, ok := strings.Cut(p, "=")
		switch {
		case !ok || !templateFieldRe.MatchString(name):
			return templateSpec{}, fmt.Errorf("%q is not field=source (for example thing2=text)", p)
		case src != srcText && src != srcTime && src != srcKind:
			return templateSpec{}, fmt.Errorf("field %s: source %q is not one of text, time, kind", name, src)
		case seen[name]:
			return templateSpec{}, fmt.Errorf("field %s is set twice", name)
		}
		seen[name] = true
		spec.fields = append(spec.fields, templateField{name, src})
	}
	if len(spec.fields) == 0 {
		spec.fields = defaultFields
	}
	return spec, nil
}
