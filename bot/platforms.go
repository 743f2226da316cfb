package bot

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/carebot/carebot/channels"
	"github.com/carebot/carebot/channels/line"
	"github.com/carebot/carebot/channels/telegram"
	"github.com/carebot/carebot/channels/wechat"
	"github.com/carebot/carebot/channels/wecom"
	"github.com/carebot/carebot/configs"
)

// platform is a chat-platform adapter as bot wires it: a channel for the
// outbox, a webhook handler, and optionally a loop to run (polling, webhook
// registration).
type platform struct {
	channel channels.Channel
	path    string
	handler http.Handler
	run     func(ctx context.Context) error
}

// dispatchEvent is the adapters' channels.Dispatch: the event is stored
// and answered (or found to be a redelivery) when it returns nil.
func (a *App) dispatchEvent(ctx context.Context, ev channels.Event) error {
	_, err := a.engine.Dispatch(ctx, ev)
	return err
}

// platformClient is the HTTP client of the adapters: platform APIs can
// hang, and the SDKs' defaults have no timeout. The default transport
// keeps two idle connections per host, so with more deliveries in flight
// than that most sends would open (and the platform accept) a new TCP and
// TLS connection; it keeps as many as the outbox can have in flight.
func platformClient(inflight int, timeout time.Duration) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = max(inflight, 2)
	tr.MaxIdleConns = max(tr.MaxIdleConns, 4*inflight)
	return &http.Client{Timeout: timeout, Transport: tr}
}

// newPlatforms builds the adapters whose credentials are configured.
func (a *App) newPlatforms(cfg configs.Channels, inflight int) ([]platform, error) {
	var out []platform
	if t := cfg.Telegram; t.Enabled() {
		ch, err := telegram.New(telegram.Config{Token: t.Token, WebhookSecret: t.WebhookSecret, Mode: t.Mode, PublicURL: t.PublicURL, APIBase: t.APIBase},
			a.dispatchEvent, telegram.Options{Logger: a.log.With("channel", telegram.Name), HTTPClient: platformClient(inflight, time.Minute),
				KV: channelKV{st: a.store, channel: telegram.Name}, Now: a.now})
		if err != nil {
			return nil, fmt.Errorf("channels.telegram: %w", err)
		}
		out = append(out, platform{channel: ch, path: telegram.WebhookPath, handler: ch.Handler(), run: ch.Run})
	}
	if l := cfg.LINE; l.Enabled() {
		ch, err := line.New(line.Config{ChannelSecret: l.ChannelSecret, ChannelToken: l.ChannelToken, APIBase: l.APIBase},
			a.dispatchEvent, line.Options{Logger: a.log.With("channel", line.Name), HTTPClient: platformClient(inflight, time.Minute), Now: a.now})
		if err != nil {
			return nil, fmt.Errorf("channels.line: %w", err)
		}
		out = append(out, platform{channel: ch, path: "/webhook/line", handler: ch.Handler()})
	}
	if w := cfg.WeChat; w.Enabled() {
		ch, err := wechat.New(wechat.Config{AppID: w.AppID, AppSecret: w.AppSecret, Token: w.Token, EncodingAESKey: w.EncodingAESKey, APIBase: w.APIBase, TemplateIDs: w.TemplateIDs},
			a.dispatchEvent, wechat.Options{Logger: a.log.With("channel", wechat.Name), HTTPClient: platformClient(inflight, 10*time.Second),
				KV: channelKV{st: a.store, channel: wechat.Name}, Now: a.now})
		if err != nil {
			return nil, fmt.Errorf("channels.wechat: %w", err)
		}
		out = append(out, platform{channel: ch, path: "/webhook/wechat", handler: ch.Handler()})
	}
	if w := cfg.WeCom; w.Enabled() {
		ch, err := wecom.New(wecom.Config{CorpID: w.CorpID, Secret: w.Secret, Token: w.Token, EncodingAESKey: w.EncodingAESKey, OpenKfID: w.OpenKfID, APIBase: w.APIBase},
			a.dispatchEvent, wecom.Options{Logger: a.log.With("channel", wecom.Name), HTTPClient: platformClient(inflight, 10*time.Second),
				KV: channelKV{st: a.store, channel: wecom.Name}, Now: a.now})
		if err != nil {
			return nil, fmt.Errorf("channels.wecom: %w", err)
		}
		// Messages that came while carebot was down produced callbacks
		// nobody answered: fetch them once at start.
		run := func(ctx context.Context) error {
			defer ch.Close()
			if err := ch.Sync(ctx); err != nil {
				a.log.Warn("wecom: catching up after start failed; the next callback retries", "err", err)
			}
			<-ctx.Done()
			return nil
		}
		out = append(out, platform{channel: ch, path: "/webhook/wecom", handler: ch.Handler(), run: run})
	}
	return out, nil
}

// runPlatforms runs the adapters' loops until ctx ends; a loop that fails
// is logged, and its channel keeps sending.
func (a *App) runPlatforms(ctx context.Context) {
	done := make(chan struct{}, len(a.platforms))
	for _, p := range a.platforms {
		if p.run == nil {
			done <- struct{}{}
			continue
		}
		go func() {
			defer func() { done <- struct{}{} }()
			if err := p.run(ctx); err != nil {
				a.log.Error("channel loop stopped", "channel", p.channel.Name(), "err", err)
			}
		}()
	}
	for range a.platforms {
		<-done
	}
}
