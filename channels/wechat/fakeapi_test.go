package wechat

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/carebot/carebot/channels/internal/wxapi/wxapitest"
)

// fakeWeChat is a local stand-in for api.weixin.qq.com that speaks the
// wire format of the endpoints the channel uses: GET /cgi-bin/token and
// JSON POSTs to /cgi-bin/message/{custom/send,template/send,custom/typing}
// with ?access_token=…, answering {"errcode":…,"errmsg":…} like WeChat.
type fakeWeChat struct {
	t      testing.TB
	srv    *httptest.Server
	appID  string
	secret string

	mu          sync.Mutex
	tokenSerial int
	token       string // the one valid access token
	tokenCalls  int
	custom      []customBody   // accepted customer-service messages
	templates   []templateBody // accepted template messages
	typing      []typingBody
	calls       map[string]int // requests per path, accepted or not
	// script holds errcodes to answer, in order, per path; 0 accepts.
	script map[string][]int
	// status, when non-zero, is the HTTP status for the next request.
	status int
}

type customBody struct {
	ToUser  string `json:"touser"`
	MsgType string `json:"msgtype"`
	Text    *struct {
		Content string `json:"content"`
	} `json:"text"`
}

type templateBody struct {
	ToUser      string                       `json:"touser"`
	TemplateID  string                       `json:"template_id"`
	ClientMsgID string                       `json:"client_msg_id"`
	URL         string                       `json:"url"`
	Data        map[string]map[string]string `json:"data"`
}

type typingBody struct {
	ToUser  string `json:"touser"`
	Command string `json:"command"`
}

// errmsgs are WeChat's texts for the codes the tests use.
var errmsgs = map[int]string{
	-1:    "system error",
	40001: "invalid credential, access_token is invalid or not latest rid: 6523f0a1-1b2c3d4e",
	43004: "require subscribe rid: 6523f0a1-1b2c3d4e",
	45009: "reach max api daily quota limit rid: 6523f0a1-1b2c3d4e",
	45015: "response out of time limit or subscription is canceled rid: 6523f0a1-1b2c3d4e",
	45047: "out of response count limit rid: 6523f0a1-1b2c3d4e",
	48001: "api unauthorized rid: 6523f0a1-1b2c3d4e",
}

func newFakeWeChat(t testing.TB, appID, secret string) *fakeWeChat {
	f := &fakeWeChat{t: t, appID: appID, secret: secret, calls: map[string]int{}, script: map[string][]int{}}
	f.rotateToken()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /cgi-bin/token", f.handleToken)
	mux.HandleFunc("POST /cgi-bin/message/custom/send", f.handleAPI(func(body []byte) error {
		var b customBody
		if err := json.Unmarshal(body, &b); err != nil {
			return err
		}
		f.custom = append(f.custom, b)
		return nil
	}))
	mux.HandleFunc("POST /cgi-bin/message/template/send", f.handleAPI(func(body []byte) error {
		var b templateBody
		if err := json.Unmarshal(body, &b); err != nil {
			return err
		}
		f.templates = append(f.templates, b)
		return nil
	}))
	mux.HandleFunc("POST /cgi-bin/message/custom/typing", f.handleAPI(func(body []byte) error {
		var b typingBody
		if err := json.Unmarshal(body, &b); err != nil {
			return err
		}
		f.typing = append(f.typing, b)
		return nil
	}))
	f.srv = wxapitest.Serve(t, "fake WeChat", mux, writeErr)
	return f
}

func writeErr(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json; encoding=utf-8")
	_ = json.NewEncoder(w).Encode(map[string]any{"errcode": code, "errmsg": msg})
}

// rotateToken makes WeChat forget the current token, as when another
// server fetched a new one.
func (f *fakeWeChat) rotateToken() {
	f.tokenSerial++
	f.token = fmt.Sprintf("ACCESS_TOKEN_%d", f.tokenSerial)
}

func (f *fakeWeChat) handleToken(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tokenCalls++
	q := r.URL.Query()
	switch {
	case q.Get("grant_type") != "client_credential":
		writeErr(w, 40002, "invalid grant_type")
	case q.Get("appid") != f.appID:
		writeErr(w, 40013, "invalid appid")
	case q.Get("secret") != f.secret:
		writeErr(w, 40125, "invalid appsecret")
	default:
		w.Header().Set("Content-Type", "application/json; encoding=utf-8")
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": f.token, "expires_in": 7200})
	}
}

func (f *fakeWeChat) handleAPI(accept func(body []byte) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.calls[r.URL.Path]++
		if f.status != 0 {
			st := f.status
			f.status = 0
			http.Error(w, http.StatusText(st), st)
			return
		}
		if got := r.URL.Query().Get("access_token"); got != f.token {
			writeErr(w, 40001, errmsgs[40001])
			return
		}
		if ct := r.Header.Get("Content-Type"); ct != "application/json;charset=utf-8" {
			f.t.Errorf("fake WeChat: %s Content-Type %q", r.URL.Path, ct)
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			writeErr(w, 44002, "empty post data")
			return
		}
		if s := f.script[r.URL.Path]; len(s) > 0 {
			code := s[0]
			f.script[r.URL.Path] = s[1:]
			if code != 0 {
				writeErr(w, code, errmsgs[code])
				return
			}
		}
		if err := accept(body); err != nil {
			writeErr(w, 47001, "data format error")
			return
		}
		w.Header().Set("Content-Type", "application/json; encoding=utf-8")
		_, _ = io.WriteString(w, `{"errcode":0,"errmsg":"ok","msgid":200228332}`)
	}
}

// answer queues errcodes for the next requests to path.
func (f *fakeWeChat) answer(path string, codes ...int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.script[path] = append(f.script[path], codes...)
}

func (f *fakeWeChat) failNext(status int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.status = status
}

func (f *fakeWeChat) customSent() []customBody {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]customBody(nil), f.custom...)
}

func (f *fakeWeChat) templatesSent() []templateBody {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]templateBody(nil), f.templates...)
}

func (f *fakeWeChat) typingSent() []typingBody {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]typingBody(nil), f.typing...)
}

func (f *fakeWeChat) tokenFetches() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.tokenCalls
}

func (f *fakeWeChat) callsTo(path string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[path]
}
