package wechat

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/carebot/carebot/channels"
)

func TestWebhookPlaintext(t *testing.T) {
	created := time.Unix(1741946400, 0)
	tests := []struct {
		name string
		body string
		want *channels.Event // nil: answered but not dispatched
	}{
		{"text", textXML("会员积分怎么查？", 1234567890123456), &channels.Event{
			ID: "m1234567890123456", Type: channels.EventMessage, Text: "会员积分怎么查？"}},
		{"menu click", eventXML("CLICK", "MENU_POINTS"), &channels.Event{
			ID: testOpenID + "-1741946400-CLICK-MENU_POINTS", Type: channels.EventMessage, Payload: "MENU_POINTS"}},
		{"subscribe", eventXML("subscribe", ""), &channels.Event{
			ID: testOpenID + "-1741946400-subscribe", Type: channels.EventFollow}},
		{"subscribe by QR code", eventXML("subscribe", "qrscene_123123"), &channels.Event{
			ID: testOpenID + "-1741946400-subscribe-qrscene_123123", Type: channels.EventFollow}},
		{"unsubscribe", eventXML("unsubscribe", ""), &channels.Event{
			ID: testOpenID + "-1741946400-unsubscribe", Type: channels.EventUnfollow}},
		{"image", imageXML, &channels.Event{ID: "m1234567890123457", Type: channels.EventUnsupported}},
		{"menu link", eventXML("VIEW", "https://example.com/"), nil},
		{"template receipt", eventXML("TEMPLATESENDJOBFINISH", ""), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil)
			w := serve(e.ch.Handler(), plainRequest(testToken, tt.body))
			if w.Code != http.StatusOK || w.Body.String() != "success" {
				t.Fatalf("answer %d %q, want 200 success", w.Code, w.Body.String())
			}
			got := e.rec.got()
			if tt.want == nil {
				if len(got) != 0 {
					t.Fatalf("dispatched %+v, want nothing", got)
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("dispatched %d events, want 1", len(got))
			}
			want := *tt.want
			want.Channel, want.ChatID, want.UserID, want.Time = Name, testOpenID, testOpenID, created
			if !eventsEqual(got[0], want) {
				t.Errorf("event\n got %+v\nwant %+v", got[0], want)
			}
		})
	}
}

func eventsEqual(a, b channels.Event) bool {
	return a.Channel == b.Channel && a.ID == b.ID && a.ChatID == b.ChatID && a.UserID == b.UserID &&
		a.Text == b.Text && a.Payload == b.Payload && a.Type == b.Type && a.Time.Equal(b.Time) &&
		a.Group == b.Group && a.Locale == b.Locale
}

func TestWebhookRetryHasSameID(t *testing.T) {
	e := newEnv(t, nil)
	for range 2 {
		serve(e.ch.Handler(), plainRequest(testToken, eventXML("subscribe", "")))
		serve(e.ch.Handler(), plainRequest(testToken, textXML("hi", 42)))
	}
	got := e.rec.got()
	if len(got) != 4 || got[0].ID != got[2].ID || got[1].ID != got[3].ID {
		t.Fatalf("a retried delivery must keep its id for the engine's dedupe: %+v", got)
	}
}

func TestWebhookBadSignature(t *testing.T) {
	e := newEnv(t, nil)
	tests := map[string]*http.Request{
		"wrong token": plainRequest("not-the-token", textXML("hi", 1)),
		"no signature": httptest.NewRequest(http.MethodPost, "/webhook/wechat?timestamp=1&nonce=2",
			strings.NewReader(textXML("hi", 1))),
	}
	for name, r := range tests {
		t.Run(name, func(t *testing.T) {
			w := serve(e.ch.Handler(), r)
			if w.Code != http.StatusUnauthorized {
				t.Errorf("status %d, want 401", w.Code)
			}
			if strings.Contains(w.Body.String(), "success") {
				t.Errorf("body %q", w.Body.String())
			}
		})
	}
	if got := e.rec.got(); len(got) != 0 {
		t.Errorf("dispatched %+v", got)
	}
	if len(e.kv.All()) != 0 {
		t.Errorf("KV written: %v", e.kv.All())
	}
	if !strings.Contains(e.logs.String(), "bad signature") {
		t.Errorf("the reason is not logged: %s", e.logs.String())
	}
}

func TestWebhookVerifyURL(t *testing.T) {
	e := newEnv(t, nil)
	get := func(token string) *httptest.ResponseRecorder {
		q := url.Values{}
		q.Set("signature", signature(token, "1409659813", "1372623149"))
		q.Set("timestamp", "1409659813")
		q.Set("nonce", "1372623149")
		q.Set("echostr", "4958127766311184590")
		return serve(e.ch.Handler(), httptest.NewRequest(http.MethodGet, "/webhook/wechat?"+q.Encode(), nil))
	}
	if w := get(testToken); w.Code != http.StatusOK || w.Body.String() != "4958127766311184590" {
		t.Errorf("valid: %d %q, want the echostr", w.Code, w.Body.String())
	}
	if w := get("wrong"); w.Code != http.StatusUnauthorized || strings.Contains(w.Body.String(), "4958127766311184590") {
		t.Errorf("invalid: %d %q, want 401 without the echostr", w.Code, w.Body.String())
	}
	w := serve(e.ch.Handler(), httptest.NewRequest(http.MethodPut, "/webhook/wechat", nil))
	if w.Code != http.StatusMethodNotAllowed {
		t.Errorf("PUT: %d", w.Code)
	}
}

func TestWebhookSafeMode(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.EncodingAESKey = testAESKey })
	w := serve(e.ch.Handler(), safeRequest(t, testToken, testAppID, textXML("你好", 987654321)))
	// The SDK's Send would answer an encrypted empty payload here.
	if w.Code != http.StatusOK || w.Body.String() != "success" {
		t.Fatalf("answer %d %q, want 200 and exactly success", w.Code, w.Body.String())
	}
	got := e.rec.got()
	if len(got) != 1 || got[0].Text != "你好" || got[0].ID != "m987654321" || got[0].ChatID != testOpenID {
		t.Fatalf("dispatched %+v", got)
	}
}

func TestWebhookSafeModeRefusals(t *testing.T) {
	tests := []struct {
		name   string
		key    string
		req    func(t *testing.T) *http.Request
		status int
		reason string
	}{
		{"wrong AppID inside the ciphertext", testAESKey, func(t *testing.T) *http.Request {
			return safeRequest(t, testToken, "wx0000000000000000", textXML("hi", 1))
		}, http.StatusForbidden, "not channels.wechat.app_id"},
		{"bad msg_signature", testAESKey, func(t *testing.T) *http.Request {
			r := safeRequest(t, testToken, testAppID, textXML("hi", 1))
			q := r.URL.Query()
			q.Set("msg_signature", signature("x"))
			r.URL.RawQuery = q.Encode()
			return r
		}, http.StatusUnauthorized, "bad msg_signature"},
		{"ciphertext not from this key", testAESKey, func(t *testing.T) *http.Request {
			// Signed correctly (the attacker knows the token), but sealed
			// with another key.
			ts, nonce := "1409659813", "1372623149"
			enc := encryptMsg(t, textXML("hi", 1), testAppID, "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG")
			q := url.Values{"signature": {signature(testToken, ts, nonce)}, "timestamp": {ts}, "nonce": {nonce},
				"encrypt_type": {"aes"}, "msg_signature": {signature(testToken, ts, nonce, enc)}}
			return httptest.NewRequest(http.MethodPost, "/webhook/wechat?"+q.Encode(),
				strings.NewReader("<xml><ToUserName>gh</ToUserName><Encrypt>"+enc+"</Encrypt></xml>"))
		}, http.StatusForbidden, "cannot decrypt"},
		{"plaintext while a key is set", testAESKey, func(t *testing.T) *http.Request {
			return plainRequest(testToken, textXML("hi", 1))
		}, http.StatusForbidden, "plaintext message refused"},
		{"encrypted without a key", "", func(t *testing.T) *http.Request {
			return safeRequest(t, testToken, testAppID, textXML("hi", 1))
		}, http.StatusForbidden, "encoding_aes_key is not set"},
		{"bad outer signature", testAESKey, func(t *testing.T) *http.Request {
			return safeRequest(t, "wrong", testAppID, textXML("hi", 1))
		}, http.StatusUnauthorized, "bad signature"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, func(c *Config) { c.EncodingAESKey = tt.key })
			w := serve(e.ch.Handler(), tt.req(t))
			if w.Code != tt.status {
				t.Errorf("status %d, want %d", w.Code, tt.status)
			}
			if got := e.rec.got(); len(got) != 0 {
				t.Errorf("dispatched %+v", got)
			}
			if len(e.kv.All()) != 0 {
				t.Errorf("KV written: %v", e.kv.All())
			}
			if !strings.Contains(e.logs.String(), tt.reason) {
				t.Errorf("log lacks %q: %s", tt.reason, e.logs.String())
			}
		})
	}
}

func TestWebhookMalformed(t *testing.T) {
	tests := map[string]string{
		"not XML":        "{\"hello\": 1}",
		"truncated":      "<xml><ToUserName>",
		"empty":          "",
		"no sender":      "<xml><MsgType>text</MsgType><Content>hi</Content></xml>",
		"wrong CDATA":    "<xml><FromUserName><![CDATA[x]]></FromUserName><MsgType>text</MsgType><CreateTime>x</CreateTime></xml>",
		"binary garbage": "\x00\xff\xfe<xml>",
	}
	for name, body := range tests {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, nil)
			w := serve(e.ch.Handler(), plainRequest(testToken, body))
			if w.Code != http.StatusBadRequest {
				t.Errorf("status %d, want 400", w.Code)
			}
			if got := e.rec.got(); len(got) != 0 {
				t.Errorf("dispatched %+v", got)
			}
		})
	}
	t.Run("too large", func(t *testing.T) {
		e := newEnv(t, nil)
		w := serve(e.ch.Handler(), plainRequest(testToken, textXML(strings.Repeat("a", MaxBody), 1)))
		if w.Code != http.StatusRequestEntityTooLarge {
			t.Errorf("status %d, want 413", w.Code)
		}
	})
	t.Run("garbage ciphertext", func(t *testing.T) {
		e := newEnv(t, func(c *Config) { c.EncodingAESKey = testAESKey })
		for _, enc := range []string{"!!!", "YWJj", strings.Repeat("A", 44)} {
			ts, nonce := "1", "2"
			q := url.Values{"signature": {signature(testToken, ts, nonce)}, "timestamp": {ts}, "nonce": {nonce},
				"encrypt_type": {"aes"}, "msg_signature": {signature(testToken, ts, nonce, enc)}}
			r := httptest.NewRequest(http.MethodPost, "/webhook/wechat?"+q.Encode(),
				strings.NewReader("<xml><Encrypt>"+enc+"</Encrypt></xml>"))
			if w := serve(e.ch.Handler(), r); w.Code != http.StatusForbidden {
				t.Errorf("%q: status %d, want 403", enc, w.Code)
			}
		}
	})
}

func TestWebhookDispatchFailure(t *testing.T) {
	e := newEnv(t, nil)
	e.rec.err = errors.New("store: disk full")
	w := serve(e.ch.Handler(), plainRequest(testToken, textXML("hi", 1)))
	if w.Code != http.StatusServiceUnavailable {
		t.Errorf("status %d, want 503: a message that was not stored must not be acknowledged", w.Code)
	}
}

func TestWebhookDispatchTimeoutStillAnswers(t *testing.T) {
	e := newEnv(t, nil)
	e.ch.dispatchTimeout = 20 * time.Millisecond
	e.rec.block = true
	start := time.Now()
	w := serve(e.ch.Handler(), plainRequest(testToken, textXML("hi", 1)))
	if w.Code != http.StatusOK || w.Body.String() != "success" {
		t.Errorf("answer %d %q, want success", w.Code, w.Body.String())
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("answered after %s", d)
	}
}

func TestWebhookRecordsWindow(t *testing.T) {
	e := newEnv(t, nil)
	serve(e.ch.Handler(), plainRequest(testToken, textXML("hi", 1)))
	if got := e.kv.Value(keyLast + testOpenID); got != "1741946400" {
		t.Errorf("last action %q, want the message's CreateTime", got)
	}
	// An older event (a late retry) does not move the window back.
	old := strings.Replace(textXML("hi", 2), "1741946400", "1741940000", 1)
	serve(e.ch.Handler(), plainRequest(testToken, old))
	if got := e.kv.Value(keyLast + testOpenID); got != "1741946400" {
		t.Errorf("last action %q after an older event", got)
	}
	// A menu click opens only the one-minute window; a menu link none.
	serve(e.ch.Handler(), plainRequest(testToken, eventXML("VIEW", "https://example.com")))
	if _, ok := e.kv.Lookup(keyTap + testOpenID); ok {
		t.Error("VIEW recorded as an action")
	}
	serve(e.ch.Handler(), plainRequest(testToken, eventXML("CLICK", "K")))
	if got := e.kv.Value(keyTap + testOpenID); got != "1741946400" {
		t.Errorf("tap %q", got)
	}
}
