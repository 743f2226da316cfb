package wecom

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/carebot/carebot/channels"
	"github.com/carebot/carebot/channels/internal/wxapi/wxapitest"
)

const (
	testCorpID = "ww1436e0e65a779aee"
	testSecret = "kf-secret-0123456789"
	testToken  = "hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo"
	// testAESKey is the example key of WeCom's callback docs.
	testAESKey = "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt"
	testKfID   = "wkAJ2GCAAASSm4_FhToWMFea0xAFfd3Q"
	testUser   = "wmAJ2GCAAAme1XQRC-NI-q0_ZM9ukoAw"
	testChat   = testKfID + "/" + testUser
)

// recorder is the engine.
type recorder struct {
	mu     sync.Mutex
	events []channels.Event
	// failAt makes the dispatch of the event with this id fail.
	failAt string
}

func (r *recorder) dispatch(_ context.Context, ev channels.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if ev.ID == r.failAt {
		return errors.New("store: disk full")
	}
	r.events = append(r.events, ev)
	return nil
}

func (r *recorder) got() []channels.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]channels.Event(nil), r.events...)
}

func (r *recorder) ids() []string {
	var ids []string
	for _, ev := range r.got() {
		ids = append(ids, ev.ID)
	}
	return ids
}

type env struct {
	ch    *Channel
	api   *fakeQY
	kv    *wxapitest.MemKV
	clock *wxapitest.Clock
	rec   *recorder
	logs  *wxapitest.SyncBuffer
}

// now is the tests' start time, in unix seconds; messages are sent then.
const now = 1741946400

func newEnv(t testing.TB, mod func(*Config)) *env {
	t.Helper()
	api := newFakeQY(t, testCorpID, testSecret)
	cfg := Config{CorpID: testCorpID, Secret: testSecret, Token: testToken, EncodingAESKey: testAESKey, APIBase: api.srv.URL}
	if mod != nil {
		mod(&cfg)
	}
	e := &env{api: api, kv: wxapitest.NewMemKV(), clock: wxapitest.NewClock(time.Unix(now, 0)), rec: &recorder{}, logs: &wxapitest.SyncBuffer{}}
	ch, err := New(cfg, e.rec.dispatch, Options{
		Logger: slog.New(slog.NewTextHandler(e.logs, nil)),
		KV:     e.kv,
		Now:    e.clock.Now,
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ch.retryDelay = 0 // tests sync explicitly
	t.Cleanup(ch.Close)
	e.ch = ch
	return e
}

// callbackXML is the decrypted kf_msg_or_event callback of WeCom's docs.
func callbackXML(kfID, token string) string {
	return fmt.Sprintf(`<xml>
   <ToUserName><![CDATA[%s]]></ToUserName>
   <CreateTime>%d</CreateTime>
   <MsgType><![CDATA[event]]></MsgType>
   <Event><![CDATA[kf_msg_or_event]]></Event>
   <Token><![CDATA[%s]]></Token>
   <OpenKfId><![CDATA[%s]]></OpenKfId>
</xml>`, testCorpID, now, token, kfID)
}

// callback is a POST as WeCom sends it: msg encrypted for receiveID,
// signed with token.
func callback(t testing.TB, token, receiveID, msg string) *http.Request {
	enc := encryptMsg(t, msg, receiveID, testAESKey)
	body := fmt.Sprintf("<xml><ToUserName><![CDATA[%s]]></ToUserName><AgentID><![CDATA[]]></AgentID><Encrypt><![CDATA[%s]]></Encrypt></xml>", testCorpID, enc)
	ts, nonce := "1741946400", "1372623149"
	q := url.Values{"msg_signature": {signature(token, ts, nonce, enc)}, "timestamp": {ts}, "nonce": {nonce}}
	return httptest.NewRequest(http.MethodPost, "/webhook/wecom?"+q.Encode(), strings.NewReader(body))
}

func serve(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// deliver posts a valid callback and waits for the sync it starts.
func (e *env) deliver(t testing.TB, syncToken string) {
	t.Helper()
	w := serve(e.ch.Handler(), callback(t, testToken, testCorpID, callbackXML(testKfID, syncToken)))
	if w.Code != http.StatusOK || w.Body.String() != "success" {
		t.Fatalf("callback answered %d %q", w.Code, w.Body.String())
	}
	e.ch.syncWG.Wait()
}

func errorIsPermanent(err error) bool { return errors.Is(err, channels.ErrPermanent) }

// sendMenu sends m, which has buttons, and answers the items of the one
// msgmenu it must become: m's text as the head, and n items.
func (e *env) sendMenu(t *testing.T, m channels.Outbound, n int) []any {
	t.Helper()
	if err := e.ch.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	sent := e.api.sentMsgs()
	if len(sent) != 1 || sent[0]["msgtype"] != "msgmenu" {
		t.Fatalf("sent %v, want one msgmenu", sent)
	}
	menu := sent[0]["msgmenu"].(map[string]any)
	items := menu["list"].([]any)
	if menu["head_content"] != m.Text || len(items) != n {
		t.Fatalf("msgmenu %v", menu)
	}
	return items
}

var (
	signature  = wxapitest.Signature
	encryptMsg = wxapitest.EncryptMsg
)
