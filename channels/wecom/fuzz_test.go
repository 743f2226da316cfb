package wecom

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/silenceper/wechat/v2/work/kf/syncmsg"
)

// FuzzCallback feeds arbitrary bodies to the callback, signed so that they
// get past the signature: as the envelope itself, and as the plaintext
// inside a correctly encrypted envelope. The handler must never panic and
// must answer one of its documented statuses.
func FuzzCallback(f *testing.F) {
	f.Add(callbackXML(testKfID, "T"))
	f.Add(callbackXML("wk bad id", "T"))
	f.Add("<xml><ToUserName>ww</ToUserName><Encrypt>AAAA</Encrypt></xml>")
	f.Add("<xml><Encrypt>" + strings.Repeat("A", 64) + "</Encrypt></xml>")
	f.Add("<xml><Event>kf_msg_or_event</Event><OpenKfId></OpenKfId></xml>")
	f.Add("\x00\xff<")

	e := newEnv(f, nil)
	e.ch.log = slog.New(slog.DiscardHandler)
	allowed := map[int]bool{200: true, 400: true, 401: true, 403: true, 413: true}

	f.Fuzz(func(t *testing.T, body string) {
		for i, r := range []*http.Request{callback(t, testToken, testCorpID, body), signedEnvelope(body)} {
			w := httptest.NewRecorder()
			e.ch.Handler().ServeHTTP(w, r)
			if !allowed[w.Code] {
				t.Fatalf("request %d: status %d", i, w.Code)
			}
		}
		e.ch.syncWG.Wait()
	})
}

// signedEnvelope posts body as is, with a msg_signature over its Encrypt
// element (or over nothing when it has none).
func signedEnvelope(body string) *http.Request {
	enc := ""
	if _, rest, ok := strings.Cut(body, "<Encrypt>"); ok {
		enc, _, _ = strings.Cut(rest, "</Encrypt>")
	}
	ts, nonce := "1", "2"
	q := url.Values{"msg_signature": {signature(testToken, ts, nonce, enc)}, "timestamp": {ts}, "nonce": {nonce}}
	return httptest.NewRequest(http.MethodPost, "/webhook/wecom?"+q.Encode(), strings.NewReader(body))
}

// FuzzToEvent checks that any message sync_msg could return is normalised
// or skipped without a panic.
func FuzzToEvent(f *testing.F) {
	f.Add("msg-1", testKfID, testUser, uint64(now), "text", `{"text":{"content":"hi","menu_id":"cb-h-00"}}`)
	f.Add("", "", "", uint64(1<<63), "image", `{}`)
	e := newEnv(f, nil)
	f.Fuzz(func(t *testing.T, id, kfID, user string, sendTime uint64, msgType, raw string) {
		m := syncMessage(id, kfID, user, sendTime, msgType, raw)
		ev, ok := e.ch.toEvent(m)
		if ok && (ev.ChatID != kfID+"/"+user || ev.ID == "") {
			t.Fatalf("event %+v from %v", ev, m)
		}
	})
}

func syncMessage(id, kfID, user string, sendTime uint64, msgType, raw string) syncmsg.Message {
	return syncmsg.Message{
		MsgID: id, OpenKFID: kfID, ExternalUserID: user, SendTime: sendTime,
		Origin: originCustomer, MsgType: msgType, OriginData: []byte(raw),
	}
}
