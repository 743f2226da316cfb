package wechat

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/carebot/carebot/channels"
	"github.com/carebot/carebot/channels/internal/wxapi"
)

const (
	pathCustom   = "/cgi-bin/message/custom/send"
	pathTemplate = "/cgi-bin/message/template/send"
	pathTyping   = "/cgi-bin/message/custom/typing"
)

func out(id uint64, text string) channels.Outbound {
	return channels.Outbound{ID: id, Channel: Name, ChatID: testOpenID, UserID: testOpenID, Text: text, Kind: "reply", Attempt: 1}
}

func TestSendInsideWindow(t *testing.T) {
	e := newEnv(t, nil)
	e.openWindow(testOpenID, 47*time.Hour)
	for i := range 2 {
		if err := e.ch.Send(context.Background(), out(uint64(i+1), "您的积分是 1200 分。")); err != nil {
			t.Fatalf("Send: %v", err)
		}
	}
	got := e.api.customSent()
	if len(got) != 2 {
		t.Fatalf("custom/send got %d messages", len(got))
	}
	if b := got[0]; b.ToUser != testOpenID || b.MsgType != "text" || b.Text == nil || b.Text.Content != "您的积分是 1200 分。" {
		t.Errorf("custom/send body %+v", b)
	}
	if n := e.api.tokenFetches(); n != 1 {
		t.Errorf("token fetched %d times, want once (cached)", n)
	}
	if n := len(e.api.templatesSent()); n != 0 {
		t.Errorf("%d template messages inside the window", n)
	}
}

func TestSendAfterFollowUsesShortWindow(t *testing.T) {
	e := newEnv(t, nil)
	e.clock.Set(time.Unix(1741946400, 0).Add(30 * time.Second))
	serve(e.ch.Handler(), plainRequest(testToken, eventXML("subscribe", "")))
	if err := e.ch.Send(context.Background(), out(1, "欢迎关注！")); err != nil {
		t.Fatalf("welcome inside the follow's minute: %v", err)
	}
	e.clock.Advance(time.Minute)
	err := e.ch.Send(context.Background(), out(2, "还在吗？"))
	if !errorIsPermanent(err) {
		t.Fatalf("a minute after a follow: %v, want undeliverable", err)
	}
}

func TestSendMenuThenNumberReply(t *testing.T) {
	e := newEnv(t, nil)
	e.openWindow(testOpenID, time.Hour)
	m := out(7, "请选择服务：")
	m.Buttons = []channels.Button{{Label: "查积分", Payload: "points"}, {Label: "转人工", Payload: "agent"}}
	if err := e.ch.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	sent := e.api.customSent()
	want := "请选择服务：\n\n回复数字：\n1. 查积分\n2. 转人工"
	if len(sent) != 1 || sent[0].Text.Content != want {
		t.Fatalf("menu text %q, want %q", sent[0].Text.Content, want)
	}

	reply := func(content string, id int64) channels.Event {
		t.Helper()
		serve(e.ch.Handler(), plainRequest(testToken, textXML(content, id)))
		got := e.rec.got()
		return got[len(got)-1]
	}
	if ev := reply("2", 100); ev.Payload != "agent" || ev.Text != "" {
		t.Errorf(`"2" → %+v, want payload agent`, ev)
	}
	if ev := reply(" １ ", 101); ev.Payload != "points" {
		t.Errorf(`full-width "１" → %+v, want payload points`, ev)
	}
	if ev := reply("3", 102); ev.Payload != "" || ev.Text != "3" {
		t.Errorf(`"3" (no such button) → %+v, want text`, ev)
	}
	// A tapped msgmenu item arrives with bizmsgmenuid.
	tapped := strings.Replace(textXML("转人工", 103), "</xml>", "<bizmsgmenuid>2</bizmsgmenuid></xml>", 1)
	serve(e.ch.Handler(), plainRequest(testToken, tapped))
	if got := e.rec.got(); got[len(got)-1].Payload != "agent" {
		t.Errorf("bizmsgmenuid 2 → %+v", got[len(got)-1])
	}

	// A later message without buttons: a number answers that, not the menu.
	if err := e.ch.Send(context.Background(), out(8, "请问您要兑换几张券？")); err != nil {
		t.Fatal(err)
	}
	if ev := reply("2", 104); ev.Payload != "" || ev.Text != "2" {
		t.Errorf(`"2" after a message without menu → %+v, want text`, ev)
	}
}

func TestSendMenuExpires(t *testing.T) {
	e := newEnv(t, nil)
	e.openWindow(testOpenID, time.Hour)
	m := out(1, "Choose:")
	m.Buttons = []channels.Button{{Label: "Points", Payload: "points"}}
	if err := e.ch.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	if got := e.api.customSent()[0].Text.Content; got != "Choose:\n\nReply with a number:\n1. Points" {
		t.Errorf("English menu %q", got)
	}
	m.Buttons = []channels.Button{{Label: "1. Coffee", Payload: "c"}, {Label: "2. Tea", Payload: "t"}}
	if err := e.ch.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	if got := e.api.customSent()[1].Text.Content; got != "Choose:\n\nReply with a number:\n1. Coffee\n2. Tea" {
		t.Errorf("numbered labels %q", got)
	}
	e.clock.Advance(menuTTL + time.Minute)
	serve(e.ch.Handler(), plainRequest(testToken, textXML("1", 5)))
	if ev := e.rec.got()[0]; ev.Payload != "" || ev.Text != "1" {
		t.Errorf("a number after the menu expired → %+v", ev)
	}
}

func TestSendOutsideWindow(t *testing.T) {
	t.Run("template configured", func(t *testing.T) {
		e := newEnv(t, func(c *Config) {
			c.TemplateIDs = map[string]string{"care": "ngqIpbwh8bUfcSsECmogfXcV14J0tQlEpBO27izEYtY"}
		})
		e.openWindow(testOpenID, 49*time.Hour)
		m := out(41, "生日快乐！\n送您一张 20 元券。")
		m.Kind = "care"
		m.Buttons = []channels.Button{{Label: "领取", Payload: "claim"}}
		if err := e.ch.Send(context.Background(), m); err != nil {
			t.Fatalf("Send: %v", err)
		}
		if n := e.api.callsTo(pathCustom); n != 0 {
			t.Errorf("%d customer-service calls outside the window", n)
		}
		got := e.api.templatesSent()
		if len(got) != 1 {
			t.Fatalf("template/send got %d", len(got))
		}
		tpl := got[0]
		if tpl.ToUser != testOpenID || tpl.TemplateID != "ngqIpbwh8bUfcSsECmogfXcV14J0tQlEpBO27izEYtY" || tpl.ClientMsgID != "carebot-41" {
			t.Errorf("template message %+v", tpl)
		}
		text := "生日快乐！ 送您一张 20 元券。"
		for field, want := range map[string]string{"first": text, "keyword1": text, "keyword2": "2025-03-14 18:00", "remark": text} {
			if v := tpl.Data[field]["value"]; v != want {
				t.Errorf("data.%s = %q, want %q", field, v, want)
			}
		}
	})
	t.Run("no template", func(t *testing.T) {
		e := newEnv(t, nil)
		m := out(42, "您好")
		m.Kind = "followup"
		err := e.ch.Send(context.Background(), m)
		if !errorIsPermanent(err) {
			t.Fatalf("err %v, want permanent", err)
		}
		for _, want := range []string{"undeliverable", "outside WeChat's 48-hour window", `"followup"`} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("reason %q lacks %q", err, want)
			}
		}
		if n := e.api.callsTo(pathCustom) + e.api.callsTo(pathTemplate); n != 0 {
			t.Errorf("%d API calls for an undeliverable message", n)
		}
	})
}

func TestSendTemplateFields(t *testing.T) {
	e := newEnv(t, func(c *Config) {
		c.TemplateIDs = map[string]string{"csat": "TPL_1 thing2=text time3=time character_string4=kind"}
	})
	m := out(3, "请为本次服务评分")
	m.Kind = "csat"
	if err := e.ch.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	tpl := e.api.templatesSent()[0]
	if len(tpl.Data) != 3 || tpl.Data["thing2"]["value"] != "请为本次服务评分" ||
		tpl.Data["time3"]["value"] != "2025-03-14 18:00" || tpl.Data["character_string4"]["value"] != "csat" {
		t.Errorf("data %v", tpl.Data)
	}
}

func TestSendTokenRejectedIsRefetched(t *testing.T) {
	e := newEnv(t, nil)
	e.openWindow(testOpenID, time.Hour)
	if err := e.ch.Send(context.Background(), out(1, "one")); err != nil {
		t.Fatal(err)
	}
	// Another server fetched a new token: WeChat answers 40001 to ours.
	e.api.mu.Lock()
	e.api.rotateToken()
	e.api.mu.Unlock()
	if err := e.ch.Send(context.Background(), out(2, "two")); err != nil {
		t.Fatalf("Send after the token was invalidated: %v", err)
	}
	if n := e.api.tokenFetches(); n != 2 {
		t.Errorf("token fetched %d times, want 2", n)
	}
	if n := e.api.callsTo(pathCustom); n != 3 {
		t.Errorf("custom/send called %d times, want 3 (one refused, retried once)", n)
	}
	if got := e.api.customSent(); len(got) != 2 || got[1].Text.Content != "two" {
		t.Errorf("delivered %+v", got)
	}
}

func TestSendOutOfWindowAnswerFallsBack(t *testing.T) {
	for _, code := range []int{45015, 45047} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			e := newEnv(t, func(c *Config) { c.TemplateIDs = map[string]string{"agent": "TPL_AGENT"} })
			e.openWindow(testOpenID, time.Hour) // the KV thinks the window is open
			e.api.answer(pathCustom, code)
			m := out(5, "客服回复：已为您处理。")
			m.Kind = "agent"
			if err := e.ch.Send(context.Background(), m); err != nil {
				t.Fatalf("Send: %v", err)
			}
			if got := e.api.templatesSent(); len(got) != 1 || got[0].TemplateID != "TPL_AGENT" {
				t.Fatalf("templates %+v", got)
			}

			e.api.answer(pathCustom, code)
			m.Kind = "reply"
			err := e.ch.Send(context.Background(), m)
			if !errorIsPermanent(err) || !strings.Contains(err.Error(), fmt.Sprintf("errcode %d", code)) ||
				!strings.Contains(err.Error(), `no template for kind "reply"`) {
				t.Errorf("without a template: %v", err)
			}
		})
	}
}

func TestSendErrors(t *testing.T) {
	tests := []struct {
		name      string
		code      int // errcode, or 0 with status
		status    int
		permanent bool
		retry     time.Duration
		reason    string
	}{
		{name: "daily quota", code: 45009, retry: 6 * time.Hour, reason: "errcode=45009"},
		{name: "unfollowed", code: 43004, permanent: true, reason: "no longer follows"},
		{name: "unverified account", code: 48001, permanent: true, reason: "verified service account"},
		{name: "system busy", code: -1, reason: "errcode=-1"},
		{name: "HTTP 502", status: http.StatusBadGateway, reason: "statusCode=502"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil)
			e.openWindow(testOpenID, time.Hour)
			if tt.status != 0 {
				e.api.failNext(tt.status)
			} else {
				e.api.answer(pathCustom, tt.code)
			}
			err := e.ch.Send(context.Background(), out(9, "hi"))
			if err == nil {
				t.Fatal("no error")
			}
			if errorIsPermanent(err) != tt.permanent {
				t.Errorf("permanent = %v, want %v: %v", !tt.permanent, tt.permanent, err)
			}
			var ra *channels.RetryAfterError
			if errors.As(err, &ra) != (tt.retry > 0) || (ra != nil && ra.After != tt.retry) {
				t.Errorf("retry-after %v, want %v: %v", ra, tt.retry, err)
			}
			if !strings.Contains(err.Error(), tt.reason) {
				t.Errorf("%q lacks %q", err, tt.reason)
			}
			if strings.Contains(err.Error(), "ACCESS_TOKEN_") {
				t.Errorf("the access token leaks into the error: %v", err)
			}
		})
	}
}

func TestSendBadSecretIsPermanentAndRedacted(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.AppSecret = "wrong-secret" })
	e.openWindow(testOpenID, time.Hour)
	err := e.ch.Send(context.Background(), out(1, "hi"))
	if !errorIsPermanent(err) || !strings.Contains(err.Error(), "40125") {
		t.Fatalf("err %v, want permanent 40125", err)
	}
	e.api.failNext(http.StatusInternalServerError)
	err = e.ch.Send(context.Background(), out(1, "hi"))
	if err == nil || strings.Contains(err.Error(), "wrong-secret") {
		t.Errorf("the app secret leaks into the error: %v", err)
	}
}

func TestSendLongTextResumesAfterFailure(t *testing.T) {
	e := newEnv(t, nil)
	e.openWindow(testOpenID, time.Hour)
	sentence := "感谢您的耐心等待，我们已经为您核实了订单信息。"
	long := strings.Repeat(sentence, 150) // about 10 KB
	e.api.answer(pathCustom, 0, -1)       // part 1 arrives, part 2 fails
	if err := e.ch.Send(context.Background(), out(77, long)); err == nil || errorIsPermanent(err) {
		t.Fatalf("first attempt: %v, want a temporary error", err)
	}
	if err := e.ch.Send(context.Background(), out(77, long)); err != nil {
		t.Fatalf("retry: %v", err)
	}
	got := e.api.customSent()
	var joined strings.Builder
	for i, b := range got {
		c := b.Text.Content
		if len(c) > wxapi.MaxTextBytes || !utf8.ValidString(c) {
			t.Errorf("part %d: %d bytes, valid UTF-8 %v", i, len(c), utf8.ValidString(c))
		}
		if !strings.HasSuffix(c, "。") {
			t.Errorf("part %d does not end on a sentence: …%s", i, c[len(c)-9:])
		}
		joined.WriteString(c)
	}
	if joined.String() != long {
		t.Errorf("parts do not add up to the text (%d parts): a part was lost or repeated", len(got))
	}
}

func TestTyping(t *testing.T) {
	e := newEnv(t, nil)
	if err := e.ch.Typing(context.Background(), testOpenID); err != nil {
		t.Fatal(err)
	}
	if n := e.api.callsTo(pathTyping); n != 0 {
		t.Errorf("typing sent outside the window")
	}
	e.openWindow(testOpenID, time.Hour)
	if err := e.ch.Typing(context.Background(), testOpenID); err != nil {
		t.Fatal(err)
	}
	if got := e.api.typingSent(); len(got) != 1 || got[0].ToUser != testOpenID || got[0].Command != "Typing" {
		t.Errorf("typing %+v", got)
	}
	e.api.answer(pathTyping, 45015)
	if err := e.ch.Typing(context.Background(), testOpenID); err != nil {
		t.Errorf("typing refused for the window: %v, want nil (best effort)", err)
	}
	e.api.answer(pathTyping, 43004)
	if err := e.ch.Typing(context.Background(), testOpenID); !errorIsPermanent(err) {
		t.Errorf("typing to an unfollowed customer: %v", err)
	}
}

func TestSendRefusesBadMessages(t *testing.T) {
	e := newEnv(t, nil)
	for name, m := range map[string]channels.Outbound{
		"no openid": {Text: "hi"},
		"group":     {ChatID: "g1", Group: true, Text: "hi"},
		"empty":     {ChatID: testOpenID, Text: "  "},
	} {
		if err := e.ch.Send(context.Background(), m); !errorIsPermanent(err) {
			t.Errorf("%s: %v, want permanent", name, err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	e.openWindow(testOpenID, time.Hour)
	if err := e.ch.Send(ctx, out(1, "hi")); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: %v", err)
	}
}

func TestSendWithoutKV(t *testing.T) {
	api := newFakeWeChat(t, testAppID, testSecret)
	ch, err := New(Config{AppID: testAppID, AppSecret: testSecret, Token: testToken, APIBase: api.srv.URL},
		func(context.Context, channels.Event) error { return nil }, Options{})
	if err != nil {
		t.Fatal(err)
	}
	m := out(1, "hi")
	m.Buttons = []channels.Button{{Label: "A", Payload: "a"}}
	if err := ch.Send(context.Background(), m); err != nil {
		t.Fatalf("without a KV the API decides: %v", err)
	}
	api.answer(pathCustom, 45015)
	if err := ch.Send(context.Background(), out(2, "hi")); !errorIsPermanent(err) {
		t.Errorf("45015 without a template: %v", err)
	}
}

// TestSendConcurrent runs sends from several workers at once, as the
// outbox does; under -race it checks the token cache and the SDK objects.
func TestSendConcurrent(t *testing.T) {
	e := newEnv(t, nil)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 16 {
		openID := fmt.Sprintf("openid-%02d", i)
		e.openWindow(openID, time.Hour)
		wg.Go(func() {
			m := out(uint64(i+1), "hi")
			m.ChatID = openID
			if i%2 == 0 {
				m.Buttons = []channels.Button{{Label: "A", Payload: "a"}}
			}
			errs <- e.ch.Send(context.Background(), m)
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if n := len(e.api.customSent()); n != 16 {
		t.Errorf("%d delivered", n)
	}
}

func TestNewValidates(t *testing.T) {
	ok := Config{AppID: testAppID, AppSecret: testSecret, Token: testToken}
	tests := []struct {
		name string
		mod  func(*Config)
		want string
	}{
		{"no app id", func(c *Config) { c.AppID = "" }, "channels.wechat.app_id"},
		{"no secret", func(c *Config) { c.AppSecret = "" }, "channels.wechat.app_secret"},
		{"no token", func(c *Config) { c.Token = "" }, "channels.wechat.token"},
		{"short key", func(c *Config) { c.EncodingAESKey = "abc" }, "channels.wechat.encoding_aes_key"},
		{"bad base", func(c *Config) { c.APIBase = "ftp://x" }, "channels.wechat.api_base"},
		{"empty template", func(c *Config) { c.TemplateIDs = map[string]string{"care": " "} }, "channels.wechat.template_ids.care"},
		{"bad field", func(c *Config) { c.TemplateIDs = map[string]string{"csat": "T1 thing2"} }, "template_ids.csat"},
		{"bad source", func(c *Config) { c.TemplateIDs = map[string]string{"csat": "T1 thing2=name"} }, `source "name"`},
	}
	for _, tt := range tests {
		cfg := ok
		tt.mod(&cfg)
		_, err := New(cfg, func(context.Context, channels.Event) error { return nil }, Options{})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want an error naming %s", tt.name, err, tt.want)
		}
	}
	if _, err := New(ok, nil, Options{}); err == nil {
		t.Error("nil dispatch accepted")
	}
}

func TestUntilChinaMidnight(t *testing.T) {
	if d := untilChinaMidnight(time.Date(2025, 3, 14, 15, 30, 0, 0, time.UTC)); d != 30*time.Minute {
		t.Errorf("23:30 in Beijing: %v", d)
	}
	if d := untilChinaMidnight(time.Date(2025, 3, 14, 15, 59, 59, 0, time.UTC)); d != time.Minute {
		t.Errorf("a second before midnight: %v, want the one-minute floor", d)
	}
}
