package bot

import (
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/carebot/carebot/channels/line/linetest"
	"github.com/carebot/carebot/channels/telegram/telegramtest"
	"github.com/carebot/carebot/configs"
)

// telegramServer is carebot with Telegram on, against a fake Bot API.
func telegramServer(t *testing.T) (*careServer, *telegramtest.Server) {
	t.Helper()
	const token = "123456:TEST-token_abc"
	fake := telegramtest.NewServer(token, "CarebotTestBot")
	t.Cleanup(fake.Close)
	s := startCareServer(t, func(c *configs.Config) {
		c.Channels.Telegram.Token = token
		c.Channels.Telegram.WebhookSecret = "s3cret-hook"
		c.Channels.Telegram.APIBase = fake.URL
	})
	return s, fake
}

func (s *careServer) telegram(secret string, update []byte) int {
	s.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.base+"/webhook/telegram", bytes.NewReader(update))
	req.Header.Set("Content-Type", "application/json")
	if secret != "" {
		req.Header.Set("X-Telegram-Bot-Api-Secret-Token", secret)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func sentTo(fake *telegramtest.Server, chat, want string) bool {
	for _, m := range fake.SentMessages() {
		if m.ChatID == chat && strings.Contains(m.Text, want) {
			return true
		}
	}
	return false
}

func TestTelegramEndToEnd(t *testing.T) {
	s, fake := telegramServer(t)
	ann := telegramtest.User{ID: 42, FirstName: "Ann", LanguageCode: "zh-hans"}
	refund, _ := s.app.Knowledge().Entry("refund-time")

	// A question in private gets the FAQ answer through the Bot API.
	if code := s.telegram("s3cret-hook", telegramtest.TextUpdate(1001, 42, ann, "退款多久能到账")); code != 200 {
		t.Fatalf("webhook: %d", code)
	}
	waitFor(t, func() bool { s.app.Outbox().Wake(); return sentTo(fake, "42", refund.AnswerFor("zh-Hans")[:30]) })

	// The same update again is answered once; a wrong secret changes nothing.
	if code := s.telegram("s3cret-hook", telegramtest.TextUpdate(1001, 42, ann, "退款多久能到账")); code != 200 {
		t.Fatalf("redelivery: %d", code)
	}
	if code := s.telegram("wrong", telegramtest.TextUpdate(1002, 42, ann, "运费")); code != 401 {
		t.Fatalf("bad secret: %d, want 401", code)
	}
	time.Sleep(100 * time.Millisecond)
	n := 0
	for _, m := range fake.SentMessages() {
		if m.ChatID == "42" {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("customer got %d messages, want 1", n)
	}

	// In a group: silent unless mentioned; points go to the private chat.
	const group = -1001234567890
	s.telegram("s3cret-hook", telegramtest.TextUpdate(1003, group, ann, "今天天气真好"))
	s.telegram("s3cret-hook", telegramtest.TextUpdate(1004, group, ann, "积分"))
	waitFor(t, func() bool { s.app.Outbox().Wake(); return sentTo(fake, "42", "可用积分") })
	waitFor(t, func() bool { return sentTo(fake, "-1001234567890", "私信") })
	for _, m := range fake.SentMessages() {
		if m.ChatID == "-1001234567890" && (strings.Contains(m.Text, "可用积分") || strings.Contains(m.Text, "天气")) {
			t.Fatalf("group got %q", m.Text)
		}
	}
	s.telegram("s3cret-hook", telegramtest.TextUpdate(1005, group, ann, "@CarebotTestBot 退款多久能到账"))
	waitFor(t, func() bool {
		s.app.Outbox().Wake()
		return sentTo(fake, "-1001234567890", refund.AnswerFor("zh-Hans")[:30])
	})

	// A button press: the greeting's FAQ button answers, and the callback
	// query is answered.
	s.telegram("s3cret-hook", telegramtest.TextUpdate(1006, 42, ann, "你好"))
	waitFor(t, func() bool { s.app.Outbox().Wake(); return sentTo(fake, "42", "carebot") })
	s.telegram("s3cret-hook", telegramtest.CallbackUpdate(1007, 42, ann, "q-1", "faq:refund-time"))
	waitFor(t, func() bool {
		s.app.Outbox().Wake()
		n := 0
		for _, m := range fake.SentMessages() {
			if m.ChatID == "42" && strings.Contains(m.Text, refund.AnswerFor("zh-Hans")[:30]) {
				n++
			}
		}
		return n == 2
	})
	if len(fake.Calls("answerCallbackQuery")) != 1 {
		t.Fatalf("callback queries answered: %d", len(fake.Calls("answerCallbackQuery")))
	}
}

func lineEvent(id, replyToken, source, text string) []byte {
	return []byte(fmt.Sprintf(`{"destination":"Ubot","events":[{"replyToken":%q,"type":"message","mode":"active","timestamp":%d,
"source":%s,"webhookEventId":%q,"deliveryContext":{"isRedelivery":false},
"message":{"id":"4%s","type":"text","quoteToken":"q","text":%q}}]}`, replyToken, time.Now().UnixMilli(), source, id, id, text))
}

func TestLINEEndToEnd(t *testing.T) {
	const secret, token = "line-channel-secret", "line-channel-token"
	fake := linetest.NewServer(token)
	t.Cleanup(fake.Close)
	s := startCareServer(t, func(c *configs.Config) {
		c.Channels.LINE = configs.LINE{ChannelSecret: secret, ChannelToken: token, APIBase: fake.URL}
	})
	post := func(body []byte, sig string) int {
		req, _ := http.NewRequest(http.MethodPost, s.base+"/webhook/line", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if sig != "" {
			req.Header.Set("X-Line-Signature", sig)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	user := `{"type":"user","userId":"U1234567890abcdef1234567890abcdef"}`
	invoice, _ := s.app.Knowledge().Entry("invoice")
	fake.IssueReplyToken("rt-1")
	body := lineEvent("01HEVENT0001", "rt-1", user, "可以開發票嗎")
	if code := post(body, linetest.Sign(secret, body)); code != 200 {
		t.Fatalf("webhook: %d", code)
	}
	replied := func() []linetest.Delivery {
		var out []linetest.Delivery
		for _, d := range fake.Deliveries() {
			if d.Via == "reply" && d.ReplyToken == "rt-1" {
				out = append(out, d)
			}
		}
		return out
	}
	waitFor(t, func() bool { s.app.Outbox().Wake(); return len(replied()) == 1 })
	if got := replied()[0].Messages[0].Text; got != invoice.AnswerFor("zh-Hant") {
		t.Fatalf("LINE answer %q, want the zh-Hant invoice answer", got)
	}
	// Redelivered: answered once. Badly signed: 401 and nothing happens.
	post(body, linetest.Sign(secret, body))
	bad := lineEvent("01HEVENT0002", "rt-2", user, "運費")
	if code := post(bad, linetest.Sign("not-the-secret", bad)); code != 401 {
		t.Fatalf("bad signature: %d, want 401", code)
	}
	time.Sleep(100 * time.Millisecond)
	if n := len(fake.Deliveries()); n != 1 {
		t.Fatalf("%d deliveries, want 1", n)
	}
}

// wechatFake is the smallest WeChat API the end-to-end test needs: an
// access token and customer-service messages, in WeChat's JSON shapes.
type wechatFake struct {
	mu   sync.Mutex
	sent []map[string]any
}

func (f *wechatFake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	switch r.URL.Path {
	case "/cgi-bin/token", "/cgi-bin/stable_token":
		fmt.Fprint(w, `{"access_token":"ACCESS","expires_in":7200}`)
	case "/cgi-bin/message/custom/send":
		var m map[string]any
		json.NewDecoder(r.Body).Decode(&m)
		f.mu.Lock()
		f.sent = append(f.sent, m)
		f.mu.Unlock()
		fmt.Fprint(w, `{"errcode":0,"errmsg":"ok"}`)
	default:
		fmt.Fprint(w, `{"errcode":0,"errmsg":"ok"}`)
	}
}

func (f *wechatFake) texts(to string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, m := range f.sent {
		if m["touser"] == to {
			if t, ok := m["text"].(map[string]any); ok {
				out = append(out, fmt.Sprint(t["content"]))
			}
		}
	}
	return out
}

func TestWeChatEndToEnd(t *testing.T) {
	fake := &wechatFake{}
	api := httptest.NewServer(fake)
	t.Cleanup(api.Close)
	const token = "wechat-server-token"
	s := startCareServer(t, func(c *configs.Config) {
		c.Channels.WeChat = configs.WeChat{AppID: "wx0123456789abcdef", AppSecret: "secret", Token: token, APIBase: api.URL}
	})
	sign := func(ts, nonce string) string {
		parts := []string{token, ts, nonce}
		sort.Strings(parts)
		sum := sha1.Sum([]byte(strings.Join(parts, "")))
		return hex.EncodeToString(sum[:])
	}
	post := func(sig, body string) (int, string) {
		ts, nonce := fmt.Sprint(time.Now().Unix()), "n0nce"
		if sig == "" {
			sig = sign(ts, nonce)
		}
		resp, err := http.Post(s.base+"/webhook/wechat?signature="+sig+"&timestamp="+ts+"&nonce="+nonce, "text/xml", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	msg := `<xml><ToUserName><![CDATA[gh_shop]]></ToUserName><FromUserName><![CDATA[oCustomer1]]></FromUserName><CreateTime>` +
		fmt.Sprint(time.Now().Unix()) + `</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[退款多久能到账]]></Content><MsgId>24000000001</MsgId></xml>`
	if code, body := post("", msg); code != 200 || body != "success" {
		t.Fatalf("webhook: %d %q", code, body)
	}
	refund, _ := s.app.Knowledge().Entry("refund-time")
	waitFor(t, func() bool { s.app.Outbox().Wake(); return len(fake.texts("oCustomer1")) == 1 })
	if got := fake.texts("oCustomer1")[0]; got != refund.AnswerFor("zh-Hans") {
		t.Fatalf("WeChat answer %q", got)
	}
	// WeChat retries the same message: answered once. A forged request: 401.
	post("", msg)
	if code, _ := post("0000000000000000000000000000000000000000", msg); code != 401 {
		t.Fatalf("bad signature: %d, want 401", code)
	}
	time.Sleep(100 * time.Millisecond)
	if n := len(fake.texts("oCustomer1")); n != 1 {
		t.Fatalf("customer got %d messages, want 1", n)
	}
}

func TestTelegramRateLimitAndUndeliverableReplies(t *testing.T) {
	s, fake := telegramServer(t)
	ann := telegramtest.User{ID: 42, FirstName: "Ann", LanguageCode: "zh-hans"}
	// Telegram answers 429 with retry_after: the outbox waits and succeeds.
	fake.FailNext("sendMessage", telegramtest.Failure{Code: 429, Description: "Too Many Requests: retry after 1", RetryAfter: 1})
	s.telegram("s3cret-hook", telegramtest.TextUpdate(2001, 42, ann, "质量太差了，我要投诉"))
	waitFor(t, func() bool { return len(fake.Calls("sendMessage")) >= 1 })
	if sentTo(fake, "42", "人工客服") {
		t.Fatal("delivered despite the 429")
	}
	// The outbox records the failure (and schedules the retry) just after
	// the call returns, so move the app's clock on in steps until the retry
	// after retry_after is due, rather than once at a moment that may come
	// before the retry was scheduled.
	waitFor(t, func() bool {
		s.clock.Add(500 * time.Millisecond)
		s.app.Outbox().Wake()
		return sentTo(fake, "42", "人工客服")
	})
	// The customer blocks the bot; the agent's reply is undeliverable, and
	// the console shows it with the reason.
	conv, _, _ := s.app.Engine().Conversation("telegram", "42", 1)
	id := conv.State.Handoff.Ticket
	// While the agent types, the customer sees the typing indicator.
	if code := s.api(s.agentTok, "POST", fmt.Sprintf("/api/v1/tickets/%d/typing", id), nil, nil); code != 204 {
		t.Fatalf("typing: %d", code)
	}
	if calls := fake.Calls("sendChatAction"); len(calls) != 1 || calls[0].Params["action"] != "typing" || calls[0].Params["chat_id"] != "42" {
		t.Fatalf("sendChatAction calls: %+v", calls)
	}
	fake.Block("42")
	if code := s.api(s.agentTok, "POST", fmt.Sprintf("/api/v1/tickets/%d/messages", id), map[string]string{"text": "您好，我来处理"}, nil); code != 200 {
		t.Fatalf("reply: %d", code)
	}
	var view TicketView
	waitFor(t, func() bool {
		s.app.Outbox().Wake()
		s.api(s.agentTok, "GET", fmt.Sprintf("/api/v1/tickets/%d", id), nil, &view)
		last := view.Messages[len(view.Messages)-1]
		return last.Agent == "alice" && last.Delivery == StatusDead
	})
	if last := view.Messages[len(view.Messages)-1]; !strings.Contains(strings.ToLower(last.DeliveryError), "blocked") {
		t.Fatalf("undeliverable reason = %q", last.DeliveryError)
	}
}

func TestLinkButtonsReachTheWebChat(t *testing.T) {
	s := startCareServer(t)
	r := s.say("session-size-1", "尺码表在哪里看")
	if len(r) == 0 {
		t.Fatal("no reply")
	}
	var link string
	for _, b := range r[0].Buttons {
		if b.URL != "" {
			link = b.URL
		}
	}
	if link != "https://lumen-shop.example/help/size-chart" {
		t.Fatalf("size guide buttons: %+v", r[0].Buttons)
	}
}
