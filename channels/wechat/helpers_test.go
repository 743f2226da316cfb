package wechat

import (
	"bytes"
	"context"
	"encoding/xml"
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
	testAppID  = "wx5823bf96d3bd56c7"
	testSecret = "app-secret-0123456789"
	testToken  = "QDG6eK"
	// testAESKey is the example key of WeChat's encryption docs.
	testAESKey = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
	testOpenID = "oDF3iY9ffA-hqb2vVvbr7qxf6A0Q"
)

// recorder is the engine: it keeps the events dispatched to it.
type recorder struct {
	mu     sync.Mutex
	events []channels.Event
	err    error
	block  bool // wait for the context to end, as a stuck store would
}

func (r *recorder) dispatch(ctx context.Context, ev channels.Event) error {
	if r.block {
		<-ctx.Done()
		return ctx.Err()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return r.err
	}
	r.events = append(r.events, ev)
	return nil
}

func (r *recorder) got() []channels.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]channels.Event(nil), r.events...)
}

// env is one channel wired to a fake WeChat, a KV, a clock and a recorder.
type env struct {
	ch    *Channel
	api   *fakeWeChat
	kv    *wxapitest.MemKV
	clock *wxapitest.Clock
	rec   *recorder
	logs  *wxapitest.SyncBuffer
}

// newEnv builds a channel; mod may change the config before New.
func newEnv(t testing.TB, mod func(*Config)) *env {
	t.Helper()
	api := newFakeWeChat(t, testAppID, testSecret)
	cfg := Config{
		AppID:     testAppID,
		AppSecret: testSecret,
		Token:     testToken,
		APIBase:   api.srv.URL,
	}
	if mod != nil {
		mod(&cfg)
	}
	e := &env{
		api:   api,
		kv:    wxapitest.NewMemKV(),
		clock: wxapitest.NewClock(time.Date(2025, 3, 14, 10, 0, 0, 0, time.UTC)),
		rec:   &recorder{},
		logs:  &wxapitest.SyncBuffer{},
	}
	ch, err := New(cfg, e.rec.dispatch, Options{
		Logger: slog.New(slog.NewTextHandler(e.logs, nil)),
		KV:     e.kv,
		Now:    e.clock.Now,
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	e.ch = ch
	return e
}

// openWindow records a customer message d ago.
func (e *env) openWindow(openID string, ago time.Duration) {
	_ = e.kv.Set(keyLast+openID, fmt.Sprint(e.clock.Now().Add(-ago).Unix()))
}

// plainRequest is a plaintext-mode POST signed with token.
func plainRequest(token, body string) *http.Request {
	q := url.Values{}
	ts, nonce := "1409659813", "1372623149"
	q.Set("signature", signature(token, ts, nonce))
	q.Set("timestamp", ts)
	q.Set("nonce", nonce)
	q.Set("openid", testOpenID)
	return httptest.NewRequest(http.MethodPost, "/webhook/wechat?"+q.Encode(), strings.NewReader(body))
}

// safeRequest is a safe-mode POST: msg encrypted for appID and signed.
func safeRequest(t testing.TB, token, appID, msg string) *http.Request {
	enc := encryptMsg(t, msg, appID, testAESKey)
	body, err := xml.Marshal(struct {
		XMLName    xml.Name `xml:"xml"`
		ToUserName string   `xml:"ToUserName"`
		Encrypt    string   `xml:"Encrypt"`
	}{ToUserName: "gh_7f083739789a", Encrypt: enc})
	if err != nil {
		t.Fatal(err)
	}
	ts, nonce := "1409659813", "1372623149"
	q := url.Values{}
	q.Set("signature", signature(token, ts, nonce))
	q.Set("timestamp", ts)
	q.Set("nonce", nonce)
	q.Set("openid", testOpenID)
	q.Set("encrypt_type", "aes")
	q.Set("msg_signature", signature(token, ts, nonce, enc))
	return httptest.NewRequest(http.MethodPost, "/webhook/wechat?"+q.Encode(), bytes.NewReader(body))
}

func serve(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// Messages shaped like the examples of WeChat's 接收普通消息 and
// 接收事件推送 documentation.
func textXML(content string, msgID int64) string {
	return fmt.Sprintf(`<xml>
  <ToUserName><![CDATA[gh_7f083739789a]]></ToUserName>
  <FromUserName><![CDATA[%s]]></FromUserName>
  <CreateTime>1741946400</CreateTime>
  <MsgType><![CDATA[text]]></MsgType>
  <Content><![CDATA[%s]]></Content>
  <MsgId>%d</MsgId>
</xml>`, testOpenID, content, msgID)
}

func eventXML(event, key string) string {
	return fmt.Sprintf(`<xml>
  <ToUserName><![CDATA[gh_7f083739789a]]></ToUserName>
  <FromUserName><![CDATA[%s]]></FromUserName>
  <CreateTime>1741946400</CreateTime>
  <MsgType><![CDATA[event]]></MsgType>
  <Event><![CDATA[%s]]></Event>
  <EventKey><![CDATA[%s]]></EventKey>
</xml>`, testOpenID, event, key)
}

const imageXML = `<xml>
  <ToUserName><![CDATA[gh_7f083739789a]]></ToUserName>
  <FromUserName><![CDATA[` + testOpenID + `]]></FromUserName>
  <CreateTime>1741946400</CreateTime>
  <MsgType><![CDATA[image]]></MsgType>
  <PicUrl><![CDATA[http://mmbiz.qpic.cn/example.jpg]]></PicUrl>
  <MediaId><![CDATA[media_id]]></MediaId>
  <MsgId>1234567890123457</MsgId>
</xml>`

// errorIsPermanent reports errors.Is(err, channels.ErrPermanent).
func errorIsPermanent(err error) bool { return errors.Is(err, channels.ErrPermanent) }

var (
	signature  = wxapitest.Signature
	encryptMsg = wxapitest.EncryptMsg
)
