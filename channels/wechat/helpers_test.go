package wechat

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/carebot/carebot/channels"
)

const (
	testAppID  = "wx5823bf96d3bd56c7"
	testSecret = "app-secret-0123456789"
	testToken  = "QDG6eK"
	// testAESKey is the example key of WeChat's encryption docs.
	testAESKey = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
	testOpenID = "oDF3iY9ffA-hqb2vVvbr7qxf6A0Q"
)

// memKV is channels.KV in memory.
type memKV struct {
	mu  sync.Mutex
	m   map[string]string
	err error // returned by every call when set
}

func newMemKV() *memKV { return &memKV{m: map[string]string{}} }

func (k *memKV) Get(key string) (string, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.m[key], k.err
}

func (k *memKV) Set(key, value string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.err != nil {
		return k.err
	}
	k.m[key] = value
	return nil
}

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

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
	kv    *memKV
	clock *clock
	rec   *recorder
	logs  *bytes.Buffer
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
		kv:    newMemKV(),
		clock: &clock{t: time.Date(2025, 3, 14, 10, 0, 0, 0, time.UTC)},
		rec:   &recorder{},
		logs:  &bytes.Buffer{},
	}
	ch, err := New(cfg, e.rec.dispatch, Options{
		Logger: slog.New(slog.NewTextHandler(&syncWriter{w: e.logs}, nil)),
		KV:     e.kv,
		Now:    e.clock.Now,
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	e.ch = ch
	return e
}

type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// openWindow records a customer message d ago.
func (e *env) openWindow(openID string, ago time.Duration) {
	_ = e.kv.Set(keyLast+openID, fmt.Sprint(e.clock.Now().Add(-ago).Unix()))
}

// signature is WeChat's: sha1 of the sorted strings, concatenated, in hex.
// It is written out here rather than taken from the SDK, so the tests
// check the wire format and not the SDK against itself.
func signature(parts ...string) string {
	s := append([]string(nil), parts...)
	sort.Strings(s)
	sum := sha1.Sum([]byte(strings.Join(s, "")))
	return hex.EncodeToString(sum[:])
}

// encryptMsg seals msg as WeChat does in safe mode: AES-256-CBC with the
// decoded EncodingAESKey and its first 16 bytes as IV, over random(16) ‖
// len(msg) as 4 bytes big-endian ‖ msg ‖ appID, PKCS#7-padded to 32.
func encryptMsg(t testing.TB, msg, appID, encodingAESKey string) string {
	key, err := base64.StdEncoding.DecodeString(encodingAESKey + "=")
	if err != nil {
		t.Fatal(err)
	}
	var plain bytes.Buffer
	plain.WriteString("0123456789abcdef")
	_ = binary.Write(&plain, binary.BigEndian, uint32(len(msg)))
	plain.WriteString(msg)
	plain.WriteString(appID)
	pad := 32 - plain.Len()%32
	plain.Write(bytes.Repeat([]byte{byte(pad)}, pad))
	block, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]byte, plain.Len())
	cipher.NewCBCEncrypter(block, key[:16]).CryptBlocks(out, plain.Bytes())
	return base64.StdEncoding.EncodeToString(out)
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
