package wechat

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// FuzzWebhook feeds arbitrary bodies to the webhook, correctly signed so
// that they reach the parser: as a plaintext message, as the plaintext
// inside a safe-mode envelope, and as the envelope itself. The handler
// must never panic, must answer one of its documented statuses, and must
// say "success" whenever it answers 200.
func FuzzWebhook(f *testing.F) {
	f.Add(textXML("你好", 1234567890123456), "")
	f.Add(eventXML("CLICK", "MENU_POINTS"), "")
	f.Add(eventXML("subscribe", "qrscene_1"), "")
	f.Add(imageXML, "aes")
	f.Add("<xml><ToUserName>gh</ToUserName><Encrypt>AAAA</Encrypt></xml>", "aes")
	f.Add("<xml><FromUserName>o</FromUserName><MsgType>text</MsgType><bizmsgmenuid>99999999999</bizmsgmenuid></xml>", "")
	f.Add("<xml><xml><xml>", "raw")
	f.Add("\x00\xff", "bogus")

	plain := newEnv(f, nil)
	safe := newEnv(f, func(c *Config) { c.EncodingAESKey = testAESKey })
	// Refusals are logged; kept in memory over a long fuzz run they would
	// only grow.
	plain.ch.log = slog.New(slog.DiscardHandler)
	safe.ch.log = slog.New(slog.DiscardHandler)
	allowed := map[int]bool{200: true, 400: true, 401: true, 403: true, 413: true, 503: true}

	f.Fuzz(func(t *testing.T, body, encryptType string) {
		reqs := []struct {
			ch *Channel
			r  *http.Request
		}{
			{plain.ch, plainRequest(testToken, body)},
			{safe.ch, safeRequest(t, testToken, testAppID, body)},
			{safe.ch, signedRaw(body, encryptType)},
			{plain.ch, signedRaw(body, encryptType)},
		}
		for i, rq := range reqs {
			w := httptest.NewRecorder()
			rq.ch.Handler().ServeHTTP(w, rq.r)
			if !allowed[w.Code] {
				t.Fatalf("request %d: status %d", i, w.Code)
			}
			if w.Code == http.StatusOK && w.Body.String() != "success" {
				t.Fatalf("request %d: 200 with %q", i, w.Body.String())
			}
		}
	})
}

// signedRaw posts body as is, with a valid signature and, when body holds
// an Encrypt element, a valid msg_signature over it.
func signedRaw(body, encryptType string) *http.Request {
	ts, nonce := "1409659813", "1372623149"
	q := url.Values{"signature": {signature(testToken, ts, nonce)}, "timestamp": {ts}, "nonce": {nonce}}
	if encryptType != "" {
		q.Set("encrypt_type", encryptType)
	}
	if _, rest, ok := strings.Cut(body, "<Encrypt>"); ok {
		enc, _, _ := strings.Cut(rest, "</Encrypt>")
		q.Set("msg_signature", signature(testToken, ts, nonce, enc))
	}
	return httptest.NewRequest(http.MethodPost, "/webhook/wechat?"+q.Encode(), strings.NewReader(body))
}
