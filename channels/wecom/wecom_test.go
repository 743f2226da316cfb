package wecom

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/carebot/carebot/channels"
	"github.com/carebot/carebot/channels/internal/wxapi"
)

const (
	pathSync = "/cgi-bin/kf/sync_msg"
	pathSend = "/cgi-bin/kf/send_msg"
)

func TestVerifyURL(t *testing.T) {
	e := newEnv(t, nil)
	get := func(token string) *httptest.ResponseRecorder {
		echo := encryptMsg(t, "1616140317555161061", testCorpID, testAESKey)
		ts, nonce := "1741946400", "1372623149"
		q := url.Values{"msg_signature": {signature(token, ts, nonce, echo)}, "timestamp": {ts}, "nonce": {nonce}, "echostr": {echo}}
		return serve(e.ch.Handler(), httptest.NewRequest(http.MethodGet, "/webhook/wecom?"+q.Encode(), nil))
	}
	if w := get(testToken); w.Code != http.StatusOK || w.Body.String() != "1616140317555161061" {
		t.Errorf("valid: %d %q, want the decrypted echostr", w.Code, w.Body.String())
	}
	if w := get("wrong"); w.Code != http.StatusUnauthorized {
		t.Errorf("bad signature: %d", w.Code)
	}
}

func TestCallbackSyncsPagesAndKeepsCustomerMessages(t *testing.T) {
	e := newEnv(t, nil)
	e.api.pageSize = 2
	e.api.add(
		enterSession("evt-1", testUser, now-5),
		customerText("msg-1", testUser, "你好，我的订单还没到", now-4),
		servicerText("msg-2", testUser, now-3),
		customerImage("msg-3", testUser, now-2),
		customerText("msg-4", testUser, "在吗？", now-1),
	)
	e.deliver(t, "ENCApHxnGDNAVNY4AaSJKj4Tb5mwsEMzxhFmHVGcra996NR")

	got := e.rec.got()
	if len(got) != 3 {
		t.Fatalf("dispatched %v, want the 3 customer messages", e.rec.ids())
	}
	want := []channels.Event{
		{ID: "msg-1", Type: channels.EventMessage, Text: "你好，我的订单还没到", Time: time.Unix(now-4, 0)},
		{ID: "msg-3", Type: channels.EventUnsupported, Time: time.Unix(now-2, 0)},
		{ID: "msg-4", Type: channels.EventMessage, Text: "在吗？", Time: time.Unix(now-1, 0)},
	}
	for i, w := range want {
		g := got[i]
		if g.ID != w.ID || g.Type != w.Type || g.Text != w.Text || !g.Time.Equal(w.Time) ||
			g.Channel != Name || g.ChatID != testChat || g.UserID != testUser {
			t.Errorf("event %d\n got %+v\nwant %+v", i, g, w)
		}
	}
	// Three pages of two; the cursor was saved after each.
	if w := e.kv.Writes(keyCursor + testKfID); fmt.Sprint(w) != "[c2 c4 c5]" {
		t.Errorf("cursor writes %v, want one per page", w)
	}
	reqs := e.api.syncs()
	if len(reqs) != 3 || reqs[0].Cursor != "" || reqs[1].Cursor != "c2" || reqs[2].Cursor != "c4" {
		t.Fatalf("sync_msg requests %+v", reqs)
	}
	for _, r := range reqs {
		if r.Token != "ENCApHxnGDNAVNY4AaSJKj4Tb5mwsEMzxhFmHVGcra996NR" || r.OpenKfID != testKfID || r.Limit != 1000 {
			t.Errorf("sync_msg request %+v: want the callback's token and account, limit 1000", r)
		}
	}

	// The next callback resumes from the cursor.
	e.api.add(customerText("msg-5", testUser, "谢谢", now))
	e.deliver(t, "T2")
	if ids := e.rec.ids(); fmt.Sprint(ids) != "[msg-1 msg-3 msg-4 msg-5]" {
		t.Errorf("after a second callback: %v", ids)
	}
}

func TestSyncDispatchFailureKeepsCursor(t *testing.T) {
	e := newEnv(t, nil)
	e.api.pageSize = 2
	e.api.add(
		customerText("msg-1", testUser, "a", now), customerText("msg-2", testUser, "b", now),
		customerText("msg-3", testUser, "c", now), customerText("msg-4", testUser, "d", now),
	)
	e.rec.failAt = "msg-3"
	e.deliver(t, "T")
	if got := e.kv.Value(keyCursor + testKfID); got != "c2" {
		t.Fatalf("cursor %q, want c2: the failed page must be fetched again", got)
	}
	if !strings.Contains(e.logs.String(), "wecom sync failed") {
		t.Errorf("failure not logged: %s", e.logs.String())
	}
	e.rec.failAt = ""
	if err := e.ch.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if ids := e.rec.ids(); fmt.Sprint(ids) != "[msg-1 msg-2 msg-3 msg-4]" {
		t.Errorf("dispatched %v", ids)
	}
}

func TestFirstSyncSkipsOldMessages(t *testing.T) {
	e := newEnv(t, nil)
	e.api.add(
		customerText("old", testUser, "两天前的消息", now-2*24*3600),
		customerText("new", testUser, "刚刚的消息", now-60),
	)
	e.deliver(t, "T")
	if ids := e.rec.ids(); fmt.Sprint(ids) != "[new]" {
		t.Errorf("dispatched %v, want only the recent message", ids)
	}
	if got := e.kv.Value(keyCursor + testKfID); got != "c2" {
		t.Errorf("cursor %q: the skipped message must not come back", got)
	}
}

func TestCallbackRefusals(t *testing.T) {
	tests := []struct {
		name   string
		req    func(t *testing.T) *http.Request
		status int
		reason string
	}{
		{"bad msg_signature", func(t *testing.T) *http.Request {
			return callback(t, "wrong-token", testCorpID, callbackXML(testKfID, "T"))
		}, http.StatusUnauthorized, "bad msg_signature"},
		{"no msg_signature", func(t *testing.T) *http.Request {
			r := callback(t, testToken, testCorpID, callbackXML(testKfID, "T"))
			r.URL.RawQuery = "timestamp=1&nonce=2"
			return r
		}, http.StatusUnauthorized, "no msg_signature"},
		{"another enterprise's message", func(t *testing.T) *http.Request {
			return callback(t, testToken, "ww0000000000000000", callbackXML(testKfID, "T"))
		}, http.StatusForbidden, "cannot decrypt"},
		{"malformed envelope", func(t *testing.T) *http.Request {
			return httptest.NewRequest(http.MethodPost, "/webhook/wecom?msg_signature=abc&timestamp=1&nonce=2", strings.NewReader("<xml><Encrypt>"))
		}, http.StatusBadRequest, "malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil)
			e.api.add(customerText("msg-1", testUser, "hi", now))
			w := serve(e.ch.Handler(), tt.req(t))
			e.ch.syncWG.Wait()
			if w.Code != tt.status {
				t.Errorf("status %d, want %d", w.Code, tt.status)
			}
			if n := e.api.callsTo(pathSync); n != 0 {
				t.Errorf("%d syncs after a refused callback", n)
			}
			if !strings.Contains(e.logs.String(), tt.reason) {
				t.Errorf("log lacks %q: %s", tt.reason, e.logs.String())
			}
		})
	}
}

func TestCallbackForAnotherAccountIgnored(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.OpenKfID = "wkOTHER" })
	w := serve(e.ch.Handler(), callback(t, testToken, testCorpID, callbackXML(testKfID, "T")))
	e.ch.syncWG.Wait()
	if w.Code != http.StatusOK || e.api.callsTo(pathSync) != 0 {
		t.Errorf("answer %d, %d syncs: another account's callback is acknowledged and ignored", w.Code, e.api.callsTo(pathSync))
	}
}

// customerWrote delivers a customer message so the reply window opens.
func (e *env) customerWrote(t *testing.T, id string) {
	t.Helper()
	e.api.add(customerText(id, testUser, "你好", e.clock.Now().Unix()))
	e.deliver(t, "T")
}

func out(id uint64, text string) channels.Outbound {
	return channels.Outbound{ID: id, Channel: Name, ChatID: testChat, UserID: testUser, Text: text, Kind: "reply", Attempt: 1}
}

func TestSendText(t *testing.T) {
	e := newEnv(t, nil)
	e.customerWrote(t, "m1")
	if err := e.ch.Send(context.Background(), out(1, "您的订单已发出。")); err != nil {
		t.Fatal(err)
	}
	got := e.api.sentMsgs()
	if len(got) != 1 {
		t.Fatalf("sent %d", len(got))
	}
	m := got[0]
	if m["touser"] != testUser || m["open_kfid"] != testKfID || m["msgtype"] != "text" ||
		m["text"].(map[string]any)["content"] != "您的订单已发出。" {
		t.Errorf("send_msg body %v", m)
	}
	// With open_kfid configured, a bare external_userid is a chat too.
	e2 := newEnv(t, func(c *Config) { c.OpenKfID = testKfID })
	e2.customerWrote(t, "m1")
	m2 := out(2, "hi")
	m2.ChatID = testUser
	if err := e2.ch.Send(context.Background(), m2); err != nil {
		t.Errorf("bare user id with open_kfid set: %v", err)
	}
}

func TestSendFiveMessagesPerCustomerMessage(t *testing.T) {
	e := newEnv(t, nil)
	e.customerWrote(t, "m1")
	for i := range 5 {
		if err := e.ch.Send(context.Background(), out(uint64(i+1), "回复")); err != nil {
			t.Fatalf("message %d: %v", i+1, err)
		}
	}
	err := e.ch.Send(context.Background(), out(6, "第六条"))
	if !errorIsPermanent(err) || !strings.Contains(err.Error(), "5 messages within 48 hours") {
		t.Fatalf("sixth message: %v, want undeliverable with the reason", err)
	}
	if n := len(e.api.sentMsgs()); n != 5 {
		t.Errorf("%d reached WeCom", n)
	}
	e.clock.Advance(time.Minute)
	e.customerWrote(t, "m2") // the customer writes again: 5 more
	if err := e.ch.Send(context.Background(), out(7, "好的")); err != nil {
		t.Errorf("after the customer wrote again: %v", err)
	}
}

func TestSendOutsideWindow(t *testing.T) {
	e := newEnv(t, nil)
	err := e.ch.Send(context.Background(), out(1, "hi"))
	if !errorIsPermanent(err) || !strings.Contains(err.Error(), "48-hour window") {
		t.Errorf("no customer message: %v", err)
	}
	e.customerWrote(t, "m1")
	e.clock.Advance(48 * time.Hour)
	err = e.ch.Send(context.Background(), out(2, "hi"))
	if !errorIsPermanent(err) || !strings.Contains(err.Error(), "outside WeCom's 48-hour window") {
		t.Errorf("48 hours later: %v", err)
	}
	if n := e.api.callsTo(pathSend); n != 0 {
		t.Errorf("%d send_msg calls for undeliverable messages", n)
	}
}

func TestSendMenuRoundTrip(t *testing.T) {
	e := newEnv(t, nil)
	e.customerWrote(t, "m1")
	long := "loyalty:redeem:" + strings.Repeat("x", 80)
	m := out(1, "请选择：")
	m.Buttons = []channels.Button{{Label: "查积分", Payload: "points"}, {Label: "兑换", Payload: long}}
	items := e.sendMenu(t, m, 2)
	ids := make([]string, 2)
	for i, it := range items {
		click := it.(map[string]any)["click"].(map[string]any)
		if it.(map[string]any)["type"] != "click" || click["content"] != m.Buttons[i].Label {
			t.Errorf("item %d: %v", i, it)
		}
		ids[i] = click["id"].(string)
	}
	if ids[0] != "points" || len(ids[1]) > maxMenuID {
		t.Errorf("menu ids %q", ids)
	}
	// The customer taps both items: WeCom sends text messages with menu_id.
	e.api.add(menuReply("m2", testUser, "查积分", ids[0], now), menuReply("m3", testUser, "兑换", ids[1], now))
	e.deliver(t, "T")
	got := e.rec.got()
	if p := got[len(got)-2]; p.Payload != "points" || p.Text != "" {
		t.Errorf("tap 1: %+v", p)
	}
	if p := got[len(got)-1]; p.Payload != long {
		t.Errorf("tap 2: payload %q, want the long payload back", p.Payload)
	}
}

func TestSendLongTextInParts(t *testing.T) {
	e := newEnv(t, nil)
	e.customerWrote(t, "m1")
	long := strings.Repeat("您的积分将在月底到期，请及时兑换。", 300) // about 15 KB: 8 parts
	err := e.ch.Send(context.Background(), out(9, long))
	if !errorIsPermanent(err) || !strings.Contains(err.Error(), "this one needs") {
		t.Fatalf("a text needing more than 5 messages: %v", err)
	}
	mid := strings.Repeat("您的积分将在月底到期，请及时兑换。", 100) // 3 parts
	e.api.answer(pathSend, 0, -1)
	if err := e.ch.Send(context.Background(), out(10, mid)); err == nil || errorIsPermanent(err) {
		t.Fatalf("busy on part 2: %v, want a temporary error", err)
	}
	if err := e.ch.Send(context.Background(), out(10, mid)); err != nil {
		t.Fatalf("retry: %v", err)
	}
	var joined strings.Builder
	for _, m := range e.api.sentMsgs() {
		c := m["text"].(map[string]any)["content"].(string)
		if len(c) > wxapi.MaxTextBytes {
			t.Errorf("part of %d bytes", len(c))
		}
		joined.WriteString(c)
	}
	if joined.String() != mid {
		t.Error("the parts do not add up to the text: one was lost or repeated")
	}
	if _, sent, _ := e.ch.window(testChat); sent != 3 {
		t.Errorf("counted %d messages, want 3", sent)
	}
}

func TestSendTokenRejectedIsRefetched(t *testing.T) {
	e := newEnv(t, nil)
	e.customerWrote(t, "m1")
	e.api.mu.Lock()
	e.api.rotateToken()
	e.api.mu.Unlock()
	if err := e.ch.Send(context.Background(), out(1, "hi")); err != nil {
		t.Fatalf("Send after the token was invalidated: %v", err)
	}
	if n := e.api.tokenCalls; n != 2 {
		t.Errorf("token fetched %d times, want 2", n)
	}
	// sync_msg loses the code in the SDK too; it is read from the errmsg.
	e.api.mu.Lock()
	e.api.rotateToken()
	e.api.mu.Unlock()
	e.api.add(customerText("m2", testUser, "hi", now))
	if err := e.ch.Sync(context.Background()); err != nil {
		t.Fatalf("Sync after the token was invalidated: %v", err)
	}
}

func TestSendErrors(t *testing.T) {
	tests := []struct {
		name      string
		code      int
		status    int
		permanent bool
		retry     bool
		reason    string
	}{
		{name: "session closed", code: 95018, permanent: true, reason: "session state"},
		{name: "frequency", code: 45009, retry: true, reason: "接口请求次数超频"},
		{name: "busy", code: -1, reason: "system busy"},
		{name: "HTTP 502", status: 502, reason: "statusCode=502"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil)
			e.customerWrote(t, "m1")
			if tt.status != 0 {
				e.api.mu.Lock()
				e.api.status = tt.status
				e.api.mu.Unlock()
			} else {
				e.api.answer(pathSend, tt.code)
			}
			err := e.ch.Send(context.Background(), out(1, "hi"))
			if err == nil {
				t.Fatal("no error")
			}
			if errorIsPermanent(err) != tt.permanent {
				t.Errorf("permanent %v: %v", !tt.permanent, err)
			}
			var ra *channels.RetryAfterError
			if errors.As(err, &ra) != tt.retry {
				t.Errorf("retry-after %v: %v", ra, err)
			}
			if !strings.Contains(err.Error(), tt.reason) {
				t.Errorf("%q lacks %q", err, tt.reason)
			}
			if strings.Contains(err.Error(), "QY_TOKEN_") {
				t.Errorf("access token in the error: %v", err)
			}
		})
	}
}

func TestSendRefusesBadTargets(t *testing.T) {
	e := newEnv(t, nil)
	for name, m := range map[string]channels.Outbound{
		"no kf account": {ChatID: testUser, Text: "hi"},
		"bad ids":       {ChatID: "a/b/c", Text: "hi"},
		"group":         {ChatID: testChat, Group: true, Text: "hi"},
		"empty":         {ChatID: testChat, Text: " "},
	} {
		if err := e.ch.Send(context.Background(), m); !errorIsPermanent(err) {
			t.Errorf("%s: %v, want permanent", name, err)
		}
	}
}

func TestNewValidates(t *testing.T) {
	ok := Config{CorpID: testCorpID, Secret: testSecret, Token: testToken, EncodingAESKey: testAESKey}
	tests := []struct {
		mod  func(*Config)
		want string
	}{
		{func(c *Config) { c.CorpID = "" }, "channels.wecom.corp_id"},
		{func(c *Config) { c.Secret = "" }, "channels.wecom.secret"},
		{func(c *Config) { c.Token = "" }, "channels.wecom.token"},
		{func(c *Config) { c.EncodingAESKey = "" }, "channels.wecom.encoding_aes_key"},
		{func(c *Config) { c.OpenKfID = "wk 1" }, "channels.wecom.open_kfid"},
		{func(c *Config) { c.APIBase = "qyapi" }, "channels.wecom.api_base"},
	}
	for _, tt := range tests {
		cfg := ok
		tt.mod(&cfg)
		if _, err := New(cfg, func(context.Context, channels.Event) error { return nil }, Options{}); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v, want an error naming %s", err, tt.want)
		}
	}
}

func TestFailedSyncIsRetried(t *testing.T) {
	e := newEnv(t, nil)
	e.ch.retryDelay = time.Millisecond
	e.api.add(customerText("msg-1", testUser, "hi", now))
	e.rec.failAt = "msg-1"
	// Not e.deliver: waiting on the WaitGroup while the retry timer adds
	// to it is a misuse the race detector reports.
	serve(e.ch.Handler(), callback(t, testToken, testCorpID, callbackXML(testKfID, "T")))
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(e.logs.String(), "wecom sync failed") && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	e.rec.mu.Lock()
	e.rec.failAt = ""
	e.rec.mu.Unlock()
	for len(e.rec.got()) == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if ids := e.rec.ids(); fmt.Sprint(ids) != "[msg-1]" {
		t.Fatalf("dispatched %v after the retry", ids)
	}
	if reqs := e.api.syncs(); reqs[len(reqs)-1].Token != "" {
		t.Errorf("the retry reused the callback token %q (valid 10 minutes only)", reqs[len(reqs)-1].Token)
	}
}
