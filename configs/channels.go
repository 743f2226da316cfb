package configs

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
)

// Channels configures the chat platforms. A channel is on when its
// credentials are set; see docs/channels/*.md for each platform's setup.
type Channels struct {
	Telegram Telegram `yaml:"telegram"`
	LINE     LINE     `yaml:"line"`
	WeChat   WeChat   `yaml:"wechat"`
	WeCom    WeCom    `yaml:"wecom"`
}

// Telegram configures the Telegram bot (go-telegram/bot).
type Telegram struct {
	Token         string `yaml:"token" env:"CAREBOT_TELEGRAM_TOKEN" secret:"true"`
	WebhookSecret string `yaml:"webhook_secret" env:"CAREBOT_TELEGRAM_WEBHOOK_SECRET" secret:"true"`
	// Mode is webhook or polling; empty picks webhook when a webhook
	// secret or public URL is set, polling otherwise.
	Mode string `yaml:"mode" env:"CAREBOT_TELEGRAM_MODE"`
	// PublicURL is the HTTPS base where Telegram reaches carebot; when set,
	// carebot calls setWebhook with PublicURL + /webhook/telegram.
	PublicURL string `yaml:"public_url" env:"CAREBOT_TELEGRAM_PUBLIC_URL"`
	APIBase   string `yaml:"api_base" env:"CAREBOT_TELEGRAM_API_BASE"`
}

// Enabled reports whether the Telegram channel is on.
func (t Telegram) Enabled() bool { return t.Token != "" }

// EffectiveMode is the mode in force: the configured one, or the default.
func (t Telegram) EffectiveMode() string {
	if t.Mode != "" {
		return t.Mode
	}
	if t.WebhookSecret != "" || t.PublicURL != "" {
		return "webhook"
	}
	return "polling"
}

// LINE configures the LINE Messaging API channel (line-bot-sdk-go/v8).
type LINE struct {
	ChannelSecret string `yaml:"channel_secret" env:"CAREBOT_LINE_CHANNEL_SECRET" secret:"true"`
	ChannelToken  string `yaml:"channel_token" env:"CAREBOT_LINE_CHANNEL_TOKEN" secret:"true"`
	APIBase       string `yaml:"api_base" env:"CAREBOT_LINE_API_BASE"`
}

// Enabled reports whether the LINE channel is on.
func (l LINE) Enabled() bool { return l.ChannelSecret != "" && l.ChannelToken != "" }

// WeChat configures a WeChat Official Account (silenceper/wechat/v2).
type WeChat struct {
	AppID          string `yaml:"app_id" env:"CAREBOT_WECHAT_APP_ID"`
	AppSecret      string `yaml:"app_secret" env:"CAREBOT_WECHAT_APP_SECRET" secret:"true"`
	Token          string `yaml:"token" env:"CAREBOT_WECHAT_TOKEN" secret:"true"`
	EncodingAESKey string `yaml:"encoding_aes_key" env:"CAREBOT_WECHAT_AES_KEY" secret:"true"`
	// TemplateIDs name a template message per message kind (care, followup,
	// csat …) for messages outside the 48-hour customer-service window.
	TemplateIDs map[string]string `yaml:"template_ids"`
	APIBase     string            `yaml:"api_base" env:"CAREBOT_WECHAT_API_BASE"`
}

// Enabled reports whether the WeChat channel is on.
func (w WeChat) Enabled() bool { return w.AppID != "" && w.AppSecret != "" && w.Token != "" }

// WeCom configures WeCom customer service (微信客服, silenceper/wechat/v2 work/kf).
type WeCom struct {
	CorpID         string `yaml:"corp_id" env:"CAREBOT_WECOM_CORP_ID"`
	Secret         string `yaml:"secret" env:"CAREBOT_WECOM_SECRET" secret:"true"`
	Token          string `yaml:"token" env:"CAREBOT_WECOM_TOKEN" secret:"true"`
	EncodingAESKey string `yaml:"encoding_aes_key" env:"CAREBOT_WECOM_AES_KEY" secret:"true"`
	OpenKfID       string `yaml:"open_kfid"`
	APIBase        string `yaml:"api_base" env:"CAREBOT_WECOM_API_BASE"`
}

// Enabled reports whether the WeCom channel is on.
func (w WeCom) Enabled() bool {
	return w.CorpID != "" && w.Secret != "" && w.Token != "" && w.EncodingAESKey != ""
}

var telegramSecretRe = regexp.MustCompile(`^[A-Za-z0-9_-]{1,256}$`)

// Validate checks the channels section, naming the key.
func (c Channels) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("channels.%s: %s", key, fmt.Sprintf(format, args...)))
	}
	baseURL := func(key, v string) {
		if v == "" {
			return
		}
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad(key, "%q is not an http(s) URL", v)
		}
	}
	t := c.Telegram
	if t.Mode != "" && t.Mode != "webhook" && t.Mode != "polling" {
		bad("telegram.mode", "%q is neither webhook nor polling", t.Mode)
	}
	if t.WebhookSecret != "" && !telegramSecretRe.MatchString(t.WebhookSecret) {
		bad("telegram.webhook_secret", "must be 1–256 characters of A–Z a–z 0–9 _ - (Telegram's rule)")
	}
	if t.Enabled() && t.EffectiveMode() == "webhook" && t.WebhookSecret == "" {
		bad("telegram.webhook_secret", "is required in webhook mode: without it anyone could post updates to /webhook/telegram")
	}
	baseURL("telegram.public_url", t.PublicURL)
	baseURL("telegram.api_base", t.APIBase)
	if (c.LINE.ChannelSecret == "") != (c.LINE.ChannelToken == "") {
		bad("line", "set both channel_secret and channel_token, or neither")
	}
	baseURL("line.api_base", c.LINE.APIBase)
	if w := c.WeChat; (w.AppID != "" || w.AppSecret != "" || w.Token != "") && !w.Enabled() {
		bad("wechat", "set app_id, app_secret and token together")
	}
	if k := c.WeChat.EncodingAESKey; k != "" && len(k) != 43 {
		bad("wechat.encoding_aes_key", "must be the 43 characters WeChat generates, got %d", len(k))
	}
	baseURL("wechat.api_base", c.WeChat.APIBase)
	if w := c.WeCom; (w.CorpID != "" || w.Secret != "" || w.Token != "" || w.EncodingAESKey != "") && !w.Enabled() {
		bad("wecom", "set corp_id, secret, token and encoding_aes_key together")
	}
	if k := c.WeCom.EncodingAESKey; k != "" && len(k) != 43 {
		bad("wecom.encoding_aes_key", "must be the 43 characters WeCom generates, got %d", len(k))
	}
	baseURL("wecom.api_base", c.WeCom.APIBase)
	return errors.Join(errs...)
}
