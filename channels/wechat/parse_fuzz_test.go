package wechat

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/carebot/carebot/channels"
)

// FuzzDecrypt checks safe mode's envelope: a message sealed for an AppID
// opens to the same message and AppID; opened with another key it never
// yields that message; and arbitrary ciphertexts and keys are refused
// with an error, never a panic.
func FuzzDecrypt(f *testing.F) {
	f.Add(textXML("你好", 1234567890123456), testAppID, "AAAA")
	f.Add(eventXML("subscribe", ""), testAppID, "not base64!")
	f.Add(imageXML, "wx", "")
	f.Add("x", "y", "MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTI=")
	const otherKey = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
	f.Fuzz(func(t *testing.T, msg, appID, garbage string) {
		if appID == "" {
			return // WeChat always seals an AppID; the SDK requires one
		}
		enc := encryptMsg(t, msg, appID, testAESKey)
		gotApp, raw, err := decrypt(enc, testAESKey)
		if err != nil {
			t.Fatalf("cannot open a sealed message: %v", err)
		}
		if string(gotApp) != appID || string(raw) != msg {
			t.Fatalf("opened %q for %q, sealed %q for %q", raw, gotApp, msg, appID)
		}
		if _, raw, err := decrypt(enc, otherKey); err == nil && len(msg) > 0 && bytes.Equal(raw, []byte(msg)) {
			t.Fatalf("another key opened the message")
		}
		// Garbage as ciphertext or key: an error at worst (the SDK panics
		// on some inputs; decrypt must not).
		for _, c := range [][2]string{{garbage, testAESKey}, {enc, garbage}, {garbage, garbage}} {
			_, _, _ = decrypt(c[0], c[1])
		}
	})
}

// FuzzParseMessage parses arbitrary message XML and normalises it: it
// must never panic, and a parsed message gives a complete event (its
// sender as chat and user, an id, a known type) or none; a numbered menu
// answer gives a payload from the stored menu.
func FuzzParseMessage(f *testing.F) {
	f.Add(textXML("你好", 1234567890123456))
	f.Add(textXML("2", 1))
	f.Add(textXML("", 0))
	f.Add(eventXML("CLICK", "MENU_POINTS"))
	f.Add(eventXML("subscribe", "qrscene_1"))
	f.Add(eventXML("unsubscribe", ""))
	f.Add(eventXML("VIEW", "https://example.com"))
	f.Add(imageXML)
	f.Add(fmt.Sprintf("<xml><FromUserName>%s</FromUserName><MsgType>text</MsgType><Content>1</Content><bizmsgmenuid>2</bizmsgmenuid></xml>", testOpenID))
	f.Add("<xml><FromUserName>o</FromUserName><MsgType>text</MsgType><bizmsgmenuid>99999999999</bizmsgmenuid><CreateTime>-5</CreateTime></xml>")
	f.Add("<xml><xml>")
	e := newEnv(f, nil)
	e.ch.log = slog.New(slog.DiscardHandler)
	menu := fmt.Sprintf(`{"at":%d,"p":["faq:a","faq:b","points:show"]}`, e.clock.Now().Unix())
	if err := e.kv.Set(keyMenu+testOpenID, menu); err != nil {
		f.Fatal(err)
	}
	types := map[string]bool{channels.EventMessage: true, channels.EventUnsupported: true, channels.EventFollow: true, channels.EventUnfollow: true}
	payloads := map[string]bool{"faq:a": true, "faq:b": true, "points:show": true}
	f.Fuzz(func(t *testing.T, raw string) {
		m, err := parseMessage([]byte(raw))
		if err != nil {
			return
		}
		ev, ok := e.ch.toEvent(m)
		if !ok {
			return
		}
		switch {
		case ev.Channel != Name || ev.ChatID != string(m.FromUserName) || ev.UserID != ev.ChatID || ev.ChatID == "":
			t.Fatalf("event %+v from sender %q", ev, m.FromUserName)
		case ev.ID == "":
			t.Fatalf("event without an id: %+v", ev)
		case !types[ev.Type]:
			t.Fatalf("event of type %q", ev.Type)
		case ev.Time.IsZero():
			t.Fatalf("event without a time")
		case m.MsgType == "text" && ev.Payload != "" && ev.Text != "":
			t.Fatalf("a text message became both text and a button: %+v", ev)
		case m.MsgType == "text" && ev.Payload != "" && !payloads[ev.Payload]:
			t.Fatalf("payload %q is not one of the menu's", ev.Payload)
		}
		if again, _ := e.ch.toEvent(m); fmt.Sprint(again) != fmt.Sprint(ev) {
			t.Fatalf("toEvent is not deterministic: %+v, then %+v", ev, again)
		}
	})
}

// FuzzVerifyURL sends arbitrary echostr, timestamp and nonce values to
// the URL check: signed, the echostr comes back unchanged (or, empty, is
// refused with 400); unsigned or signed with another token, it is refused
// with 401 and not echoed.
func FuzzVerifyURL(f *testing.F) {
	f.Add("4958127766311184590", "1409659813", "1372623149")
	f.Add("", "", "")
	f.Add("<script>", "0", "-")
	e := newEnv(f, nil)
	e.ch.log = slog.New(slog.DiscardHandler)
	f.Fuzz(func(t *testing.T, echo, ts, nonce string) {
		get := func(token string) *httptest.ResponseRecorder {
			q := url.Values{"signature": {signature(token, ts, nonce)}, "timestamp": {ts}, "nonce": {nonce}, "echostr": {echo}}
			return serve(e.ch.Handler(), httptest.NewRequest(http.MethodGet, "/webhook/wechat?"+q.Encode(), nil))
		}
		w := get(testToken)
		switch {
		case echo == "" && w.Code != http.StatusBadRequest:
			t.Fatalf("empty echostr: %d", w.Code)
		case echo != "" && (w.Code != http.StatusOK || w.Body.String() != echo):
			t.Fatalf("signed check: %d %q, want the echostr %q", w.Code, w.Body.String(), echo)
		}
		if w := get("another-token"); w.Code != http.StatusUnauthorized || w.Body.String() != http.StatusText(http.StatusUnauthorized)+"\n" {
			t.Fatalf("wrong token: %d %q", w.Code, w.Body.String())
		}
	})
}
