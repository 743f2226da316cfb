package wecom

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/carebot/carebot/channels/internal/wxapi/wxapitest"
)

// fakeQY is a local stand-in for qyapi.weixin.qq.com speaking the wire
// format of the endpoints the channel uses: GET /cgi-bin/gettoken, and
// JSON POSTs to /cgi-bin/kf/sync_msg and /cgi-bin/kf/send_msg with
// ?access_token=…, answering {"errcode":…,"errmsg":…} like WeCom, whose
// errmsg ends in "more info at https://open.work.weixin.qq.com/devtool/query?e=<code>".
type fakeQY struct {
	t      testing.TB
	srv    *httptest.Server
	corpID string
	secret string

	mu         sync.Mutex
	serial     int
	token      string
	tokenCalls int
	// messages is WeCom's message log; a cursor is "c<index>".
	messages []map[string]any
	pageSize int
	syncReqs []syncReq
	sent     []map[string]any
	calls    map[string]int
	script   map[string][]int // errcodes to answer next, per path; 0 accepts
	status   int
}

type syncReq struct {
	Cursor   string `json:"cursor"`
	Token    string `json:"token"`
	Limit    int    `json:"limit"`
	OpenKfID string `json:"open_kfid"`
}

var qyErrmsgs = map[int]string{
	-1:    "system busy",
	40014: "invalid access_token",
	42001: "access_token expired",
	45009: "api freq out of limit",
	95018: "send msg not allowed in the current session state",
	95001: "send msg count limit",
}

func newFakeQY(t testing.TB, corpID, secret string) *fakeQY {
	f := &fakeQY{t: t, corpID: corpID, secret: secret, pageSize: 1000, calls: map[string]int{}, script: map[string][]int{}}
	f.rotateToken()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /cgi-bin/gettoken", f.handleToken)
	mux.HandleFunc("POST /cgi-bin/kf/sync_msg", f.handleAPI(f.syncMsg))
	mux.HandleFunc("POST /cgi-bin/kf/send_msg", f.handleAPI(func(body []byte) (any, int) {
		var m map[string]any
		if err := json.Unmarshal(body, &m); err != nil {
			return nil, 40058
		}
		f.sent = append(f.sent, m)
		return map[string]any{"msgid": fmt.Sprintf("MSG%d", len(f.sent))}, 0
	}))
	f.srv = wxapitest.Serve(t, "fake WeCom", mux, qyErr)
	return f
}

func qyErr(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"errcode": code,
		"errmsg":  fmt.Sprintf("%s, hint: [1741946400_12_ab34], from ip: 203.0.113.7, more info at https://open.work.weixin.qq.com/devtool/query?e=%d", msg, code),
	})
}

func (f *fakeQY) rotateToken() {
	f.serial++
	f.token = fmt.Sprintf("QY_TOKEN_%d", f.serial)
}

func (f *fakeQY) handleToken(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tokenCalls++
	q := r.URL.Query()
	switch {
	case q.Get("corpid") != f.corpID:
		qyErr(w, 40013, "invalid corpid")
	case q.Get("corpsecret") != f.secret:
		qyErr(w, 40001, "invalid credential")
	default:
		w.Header().Set("Content-Type", "application/json; charset=UTF-8")
		_ = json.NewEncoder(w).Encode(map[string]any{"errcode": 0, "errmsg": "ok", "access_token": f.token, "expires_in": 7200})
	}
}

func (f *fakeQY) handleAPI(h func(body []byte) (any, int)) http.HandlerFunc {
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
		if r.URL.Query().Get("access_token") != f.token {
			qyErr(w, 40014, qyErrmsgs[40014])
			return
		}
		body, _ := io.ReadAll(r.Body)
		if s := f.script[r.URL.Path]; len(s) > 0 {
			f.script[r.URL.Path] = s[1:]
			if s[0] != 0 {
				qyErr(w, s[0], qyErrmsgs[s[0]])
				return
			}
		}
		res, code := h(body)
		if code != 0 {
			qyErr(w, code, "invalid parameter")
			return
		}
		out := map[string]any{"errcode": 0, "errmsg": "ok"}
		b, _ := json.Marshal(res)
		_ = json.Unmarshal(b, &out)
		w.Header().Set("Content-Type", "application/json; charset=UTF-8")
		_ = json.NewEncoder(w).Encode(out)
	}
}

// syncMsg pages through the log from the cursor.
func (f *fakeQY) syncMsg(body []byte) (any, int) {
	var req syncReq
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, 40058
	}
	f.syncReqs = append(f.syncReqs, req)
	from := 0
	if req.Cursor != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(req.Cursor, "c"))
		if err != nil || !strings.HasPrefix(req.Cursor, "c") {
			return nil, 95015 // invalid cursor
		}
		from = n
	}
	var list []map[string]any
	for _, m := range f.messages[min(from, len(f.messages)):] {
		if req.OpenKfID != "" && m["open_kfid"] != nil && m["open_kfid"] != req.OpenKfID {
			continue
		}
		list = append(list, m)
	}
	size := min(f.pageSize, req.Limit)
	more := 0
	if len(list) > size {
		list, more = list[:size], 1
	}
	next := from + len(list)
	return map[string]any{"next_cursor": fmt.Sprintf("c%d", next), "has_more": more, "msg_list": list}, 0
}

// add appends messages to WeCom's log.
func (f *fakeQY) add(msgs ...map[string]any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.messages = append(f.messages, msgs...)
}

func (f *fakeQY) answer(path string, codes ...int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.script[path] = append(f.script[path], codes...)
}

func (f *fakeQY) sentMsgs() []map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]map[string]any(nil), f.sent...)
}

func (f *fakeQY) syncs() []syncReq {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]syncReq(nil), f.syncReqs...)
}

func (f *fakeQY) callsTo(path string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[path]
}

// Messages shaped like the examples of WeCom's 读取消息 documentation.
func customerText(id, user, content string, at int64) map[string]any {
	return map[string]any{
		"msgid": id, "open_kfid": testKfID, "external_userid": user, "send_time": at,
		"origin": 3, "msgtype": "text", "text": map[string]any{"content": content},
	}
}

func menuReply(id, user, content, menuID string, at int64) map[string]any {
	m := customerText(id, user, content, at)
	m["text"] = map[string]any{"content": content, "menu_id": menuID}
	return m
}

func customerImage(id, user string, at int64) map[string]any {
	return map[string]any{
		"msgid": id, "open_kfid": testKfID, "external_userid": user, "send_time": at,
		"origin": 3, "msgtype": "image", "image": map[string]any{"media_id": "2iSLeVyqzk4eX0IB5kTi9Ljfa2rt9dwfq5WKRQ4Nvvgw"},
	}
}

func servicerText(id, user string, at int64) map[string]any {
	m := customerText(id, user, "您好，我是客服小王", at)
	m["origin"], m["servicer_userid"] = 5, "zhangsan"
	return m
}

func enterSession(id, user string, at int64) map[string]any {
	return map[string]any{
		"msgid": id, "send_time": at, "origin": 4, "msgtype": "event",
		"event": map[string]any{"event_type": "enter_session", "open_kfid": testKfID, "external_userid": user, "scene": "123", "welcome_code": "aaaaaa"},
	}
}
