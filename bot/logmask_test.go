package bot

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/carebot/carebot/channels/webchat"
	"github.com/carebot/carebot/configs"
	"github.com/carebot/carebot/handoff"
	"github.com/carebot/carebot/loyalty"
	"github.com/carebot/carebot/store"
)

// logBuffer is a bytes.Buffer that a server's goroutines can write to
// while the test reads it.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// logLines decodes a JSON log into its records.
func logLines(t *testing.T, out string) []map[string]any {
	t.Helper()
	var recs []map[string]any
	for line := range strings.Lines(out) {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line is not JSON: %v: %q", err, line)
		}
		recs = append(recs, rec)
	}
	return recs
}

func TestMaskPhones(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"13812345678", "*******5678"},
		{"call 13812345678 now", "call *******5678 now"},
		{"手机：19912345678。", "手机：*******5678。"},
		{"+447911123456", "+********3456"},
		{"+86 13812345678", "+86 *******5678"},
		{"+8613812345678", "+*********5678"},
		{"tel:+12025550123,ext", "tel:+*******0123,ext"},
		{"a=13812345678&b=15912345678", "a=*******5678&b=*******5678"},
		// Not phone numbers: too short, too long, wrong prefix, no plus.
		{"12812345678", "12812345678"},
		{"138123456789", "138123456789"},
		{"1381234567", "1381234567"},
		{"order 8613812345678", "order 8613812345678"},
		{"+1234567", "+1234567"},
		{"+1234567890123456", "+1234567890123456"},
		{"ticket 42 at 2026-11-23T10:00:00Z", "ticket 42 at 2026-11-23T10:00:00Z"},
		{"", ""},
	} {
		if got := maskPhones(tc.in); got != tc.want {
			t.Errorf("maskPhones(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestMaskName(t *testing.T) {
	for in, want := range map[string]string{"王小明": "王*", "alice": "a*", "a": "a*", "": "", "\xffbad": "*"} {
		if got := maskName(in); got != want {
			t.Errorf("maskName(%q) = %q, want %q", in, got, want)
		}
	}
}

type stringer string

func (s stringer) String() string { return string(s) }

// TestMaskHandlerMasksEveryKindOfValue logs secrets and personal data in
// the message and in attributes of every kind through a JSON handler.
func TestMaskHandlerMasksEveryKindOfValue(t *testing.T) {
	const secret, escaped = "123456:tg/token secret", "123456%3Atg%2Ftoken+secret"
	var buf bytes.Buffer
	h := NewMaskHandler(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}), secret, "short")
	log := slog.New(h).With("channel", "telegram", "url", "https://api.example/bot"+secret+"/getMe")
	log = log.WithGroup("req")
	log.Info("calling "+secret+" for 13812345678",
		"err", fmt.Errorf("post https://api.example/bot%s/send?q=%s: refused", secret, escaped),
		"name", "王小明",
		"member_name", "Alice Smith",
		"phone", 13812345678,
		"uphone", uint64(15912345678),
		"count", 13,
		"stringer", stringer("+447911123456"),
		"list", []string{"ok", "13812345678"},
		slog.Group("member", "name", "李雷", "id", "m-1", "note", "short"),
		"plain", "nothing to hide",
	)
	h.AddSecrets("added-later-secret")
	log.Warn("x", "v", "token added-later-secret")

	out := buf.String()
	for _, leak := range []string{secret, escaped, "13812345678", "15912345678", "447911123456", "王小明", "Alice", "李雷", "added-later-secret"} {
		if strings.Contains(out, leak) {
			t.Errorf("log shows %q:\n%s", leak, out)
		}
	}
	recs := logLines(t, out)
	if len(recs) != 2 {
		t.Fatalf("%d records, want 2:\n%s", len(recs), out)
	}
	rec, req := recs[0], recs[0]["req"].(map[string]any)
	want := map[string]any{
		"msg": "calling *** for *******5678", "url": "https://api.example/bot***/getMe", "channel": "telegram",
	}
	for k, v := range want {
		if rec[k] != v {
			t.Errorf("%s = %v, want %v", k, rec[k], v)
		}
	}
	wantReq := map[string]any{
		"err":  "post https://api.example/bot***/send?q=***: refused",
		"name": "王*", "member_name": "A*", "phone": "*******5678", "uphone": "*******5678",
		"count": float64(13), "stringer": "+********3456", "list": "[ok *******5678]",
		"plain": "nothing to hide",
	}
	for k, v := range wantReq {
		if req[k] != v {
			t.Errorf("req.%s = %#v, want %#v", k, req[k], v)
		}
	}
	member := req["member"].(map[string]any)
	if member["name"] != "李*" || member["id"] != "m-1" || member["note"] != "short" {
		t.Errorf("group member = %v (names masked, short values are no secrets)", member)
	}
	if v := recs[1]["req"].(map[string]any)["v"]; v != "token ***" {
		t.Errorf("secret added later: v = %v", v)
	}
}

// TestMaskLoggerWrapsOnce checks that masking an already masking logger
// adds secrets to it instead of stacking handlers.
func TestMaskLoggerWrapsOnce(t *testing.T) {
	var buf bytes.Buffer
	log := MaskLogger(slog.New(slog.NewTextHandler(&buf, nil)), "first-secret")
	again := MaskLogger(log, "second-secret")
	if again != log {
		t.Fatal("MaskLogger wrapped a masking logger again")
	}
	again.Info("first-secret second-secret")
	if out := buf.String(); strings.Contains(out, "first-secret") || strings.Contains(out, "second-secret") {
		t.Fatalf("log shows a secret: %s", out)
	}
}

func TestConfigSecretsListsEveryTaggedField(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	cfg.Admin.Token = "admin-token"
	cfg.Channels.Telegram.Token = "tg-token"
	cfg.Channels.WeCom.EncodingAESKey = "wecom-aes"
	cfg.Console.Accounts = []configs.ConsoleAccount{{Name: "a", PasswordHash: "hash-a"}, {Name: "b", PasswordHash: "hash-b"}}
	got := strings.Join(ConfigSecrets(cfg), ",")
	for _, want := range []string{"admin-token", "tg-token", "wecom-aes", "hash-a", "hash-b"} {
		if !strings.Contains(got, want) {
			t.Errorf("ConfigSecrets = %s, lacks %s", got, want)
		}
	}
	if strings.Contains(got, "127.0.0.1") {
		t.Errorf("ConfigSecrets lists a field that is no secret: %s", got)
	}
}

// Secrets and personal data of the end-to-end log test.
const (
	maskAdminToken  = "admin-TOKEN-for-mask-test"
	maskTGToken     = "987654:TELEGRAM-secret-token"
	maskTGHook      = "tg-hook-SECRET-0002"
	maskLineSecret  = "line-channel-SECRET-0003"
	maskLineToken   = "line-channel-TOKEN-0004"
	maskWXSecret    = "wechat-app-SECRET-0005"
	maskWXToken     = "wechatTOKEN0006"
	maskWXAESKey    = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
	maskWCSecret    = "wecom-corp-SECRET-0007"
	maskWCToken     = "wecomTOKEN0008"
	maskWCAESKey    = "ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210zyxwvut"
	maskMobile      = "13812345678"
	maskMobileShown = "*******5678"
	maskIntl        = "+447911123456"
	maskIntlShown   = "+********3456"
)

// TestLogsKeepSecretsAndPersonalDataOut runs a server with every secret
// configured, every platform pointed at an API that is down (so that
// their errors, which quote request URLs, are logged), and a JSON logger
// at debug level; it drives requests that log, then reads the whole log.
func TestLogsKeepSecretsAndPersonalDataOut(t *testing.T) {
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close() // connections are refused: every API call fails and is logged
	hash, err := handoff.HashPassword("boss password")
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t, t.TempDir())
	cfg.Log.Level = "debug"
	cfg.Admin.Token = maskAdminToken
	cfg.Channels = configs.Channels{
		Telegram: configs.Telegram{Token: maskTGToken, WebhookSecret: maskTGHook, APIBase: down.URL},
		LINE:     configs.LINE{ChannelSecret: maskLineSecret, ChannelToken: maskLineToken, APIBase: down.URL},
		WeChat:   configs.WeChat{AppID: "wx0123456789abcdef", AppSecret: maskWXSecret, Token: maskWXToken, EncodingAESKey: maskWXAESKey, APIBase: down.URL},
		WeCom:    configs.WeCom{CorpID: "ww0123456789abcdef", Secret: maskWCSecret, Token: maskWCToken, EncodingAESKey: maskWCAESKey, APIBase: down.URL},
	}
	cfg.Console.Accounts = []configs.ConsoleAccount{{Name: "boss", Role: "admin", PasswordHash: hash}}
	cfg.Handoff.Staff = []configs.StaffChat{{Channel: webchat.Name, ChatID: "staff-room"}}
	cfg.Handoff.CheckInterval = configs.Duration(time.Hour)
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	logs := &logBuffer{}
	clock := &fakeClock{now: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}
	srv := startServer(t, cfg, WithClock(clock.Now),
		WithLogger(slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	s := &careServer{server: srv, clock: clock}
	s.agentTok = s.addAgent("alice", handoff.RoleAgent)
	manager := bearer(s.addAgent("mia", handoff.RoleManager))

	// A member whose id is her phone number, as many shops number them.
	err = s.app.Store().Update(func(tx store.Tx) error {
		_, err := s.app.loyalty.ImportMember(tx, loyalty.ImportRow{ID: maskMobile, Name: "王小明", Phone: maskIntl})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	post := func(path, contentType, body string, hdr map[string]string) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, s.base+path, strings.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	// Webhooks with bad signatures or secrets: refused and logged.
	if code := post("/webhook/telegram", "application/json", `{"update_id":1}`, map[string]string{"X-Telegram-Bot-Api-Secret-Token": "wrong"}); code != http.StatusUnauthorized {
		t.Errorf("telegram with a wrong secret: %d", code)
	}
	if code := post("/webhook/line", "application/json", `{"events":[]}`, map[string]string{"X-Line-Signature": "bm90IGEgc2lnbmF0dXJl"}); code != http.StatusUnauthorized {
		t.Errorf("LINE with a wrong signature: %d", code)
	}
	if code := post("/webhook/wechat?signature=bad&timestamp=1&nonce=2", "text/xml", "<xml/>", nil); code != http.StatusUnauthorized {
		t.Errorf("WeChat with a wrong signature: %d", code)
	}
	if code := post("/webhook/wecom?msg_signature=bad&timestamp=1&nonce=2", "text/xml", "<xml><Encrypt>AAAA</Encrypt></xml>", nil); code != http.StatusUnauthorized {
		t.Errorf("WeCom with a wrong signature: %d", code)
	}
	// Failed logins: an account name, and a phone number typed as one.
	for _, name := range []string{"boss", maskMobile} {
		if code := post("/api/v1/auth/login", "application/json", fmt.Sprintf(`{"name":%q,"password":"wrong password"}`, name), nil); code != http.StatusUnauthorized {
			t.Errorf("login as %s with a wrong password: %d", name, code)
		}
	}
	// The member, in the request log (her id is in the path) and in the
	// adjustment's audit line with a phone number in the reason.
	if code, out := s.agentCall("GET", "/api/v1/members/"+maskMobile, "", manager); code != http.StatusOK {
		t.Errorf("member: %d %v", code, out)
	}
	body := fmt.Sprintf(`{"points":10,"reason":"goodwill: called back on %s and %s"}`, maskMobile, maskIntl)
	if code, out := s.agentCall("POST", "/api/v1/members/"+maskMobile+"/adjust", body, manager); code != http.StatusOK {
		t.Errorf("adjust: %d %v", code, out)
	}
	// A complaint with a phone number opens a ticket an agent answers.
	s.say("session-mask-1", "质量太差了，我要投诉！打我电话 "+maskMobile)
	tk := s.ticketOf("session-mask-1")
	if code := s.api(s.agentTok, "POST", fmt.Sprintf("/api/v1/tickets/%d/claim", tk.ID), nil, nil); code != http.StatusOK {
		t.Errorf("claim: %d", code)
	}
	if code := s.api(s.agentTok, "POST", fmt.Sprintf("/api/v1/tickets/%d/messages", tk.ID), map[string]string{"text": "我们会打 " + maskMobile + " 联系您"}, nil); code != http.StatusOK {
		t.Errorf("ticket reply: %d", code)
	}

	// Telegram's loop logs its failed getMe (whose URL holds the token)
	// in the background.
	waitFor(t, func() bool { return strings.Contains(logs.String(), "telegram getMe failed") })
	s.stop()

	out := logs.String()
	for _, leak := range []string{
		maskAdminToken, maskTGToken, "TELEGRAM-secret-token", maskTGHook, maskLineSecret, maskLineToken,
		maskWXSecret, maskWXToken, maskWXAESKey, maskWCSecret, maskWCToken, maskWCAESKey, hash,
		maskMobile, "447911123456", "王小明",
	} {
		if strings.Contains(out, leak) {
			t.Errorf("the log shows %q", leak)
		}
	}
	// What was logged is there, masked.
	recs := logLines(t, out)
	found := map[string]bool{}
	for _, rec := range recs {
		msg, _ := rec["msg"].(string)
		switch {
		case msg == "telegram getMe failed; will retry when a group message needs it":
			found["telegram error"] = strings.Contains(fmt.Sprint(rec["err"]), "/bot***/getMe")
		case msg == "console login failed" && rec["name"] == "b*":
			found["login name"] = true
		case msg == "console login failed" && rec["name"] == "1*":
			found["login phone"] = true
		case msg == "request" && rec["path"] == "/api/v1/members/"+maskMobileShown:
			found["request path"] = true
		case msg == "loyalty points adjusted":
			found["adjust"] = rec["member"] == maskMobileShown &&
				rec["reason"] == "goodwill: called back on "+maskMobileShown+" and "+maskIntlShown
		case msg == "line webhook rejected", msg == "wechat webhook refused", msg == "wecom callback refused", msg == "telegram webhook rejected":
			found[msg] = true
		}
	}
	for _, want := range []string{"telegram error", "login name", "login phone", "request path", "adjust",
		"line webhook rejected", "wechat webhook refused", "wecom callback refused", "telegram webhook rejected"} {
		if !found[want] {
			t.Errorf("no masked %s in the log", want)
		}
	}
	if t.Failed() {
		t.Logf("log:\n%s", out)
	}
}

// TestMaskHandlerIsSafeForConcurrentUse logs from many goroutines while
// secrets are added (run with -race).
func TestMaskHandlerIsSafeForConcurrentUse(t *testing.T) {
	h := NewMaskHandler(slog.NewTextHandler(io.Discard, nil), "initial-secret")
	log := slog.New(h)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 200 {
				log.Info("x", "n", i*1000+j, "err", errors.New("initial-secret 13812345678"))
				if j%50 == 0 {
					h.AddSecrets(fmt.Sprintf("secret-%d-%d", i, j))
				}
			}
		})
	}
	wg.Wait()
	if !h.Enabled(context.Background(), slog.LevelInfo) {
		t.Fatal("the wrapped handler's level is not kept")
	}
}
