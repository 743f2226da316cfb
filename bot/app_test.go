package bot

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/carebot/carebot/channels"
	"github.com/carebot/carebot/configs"
	"github.com/carebot/carebot/store"
)

// testConfig returns the embedded defaults with a temporary data directory
// and fast timings.
func testConfig(t testing.TB, dataDir string) *configs.Config {
	t.Helper()
	cfg, err := configs.Load("", func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	cfg.Data.Dir = dataDir
	cfg.Server.Addr = "127.0.0.1:0"
	cfg.Outbox.PollInterval = configs.Duration(20 * time.Millisecond)
	cfg.Outbox.BaseBackoff = configs.Duration(10 * time.Millisecond)
	cfg.Outbox.MaxBackoff = configs.Duration(40 * time.Millisecond)
	cfg.Server.ShutdownTimeout = configs.Duration(5 * time.Second)
	// Tests talk faster than customers and often on a clock that does not
	// move; TestFloodControlInTheChat turns flood control back on.
	cfg.Dialog.FloodBurst = 0
	return cfg
}

// server is a running App on a loopback port.
type server struct {
	t    testing.TB
	app  *App
	base string
	stop func()
}

func startServer(t testing.TB, cfg *configs.Config, opts ...Option) *server {
	t.Helper()
	opts = append([]Option{WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))}, opts...)
	app, err := New(cfg, opts...)
	if err != nil {
		t.Fatalf("new app: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- app.Serve(ctx, ln) }()
	s := &server{t: t, app: app, base: "http://" + ln.Addr().String()}
	stopped := false
	s.stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
		if err := app.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	}
	t.Cleanup(s.stop)
	s.waitReady()
	return s
}

func (s *server) waitReady() {
	s.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(s.base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	s.t.Fatal("server never became ready")
}

type chatReply struct {
	Seq     uint64            `json:"seq"`
	Text    string            `json:"text"`
	Buttons []channels.Button `json:"buttons"`
}

type chatResponse struct {
	Seq     uint64      `json:"seq"`
	Replies []chatReply `json:"replies"`
	Error   string      `json:"error"`
	Field   string      `json:"field"`
}

// post sends a raw body and decodes the JSON answer.
func (s *server) post(body []byte) (int, chatResponse) {
	s.t.Helper()
	resp, err := http.Post(s.base+"/api/v1/webchat/messages", "application/json", bytes.NewReader(body))
	if err != nil {
		s.t.Fatalf("post: %v", err)
	}
	defer resp.Body.Close()
	var out chatResponse
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		s.t.Fatalf("decode answer (status %d): %v", resp.StatusCode, err)
	}
	return resp.StatusCode, out
}

// ask sends text from session in locale and returns the replies.
func (s *server) ask(session, id, text, locale string) []chatReply {
	s.t.Helper()
	body, _ := json.Marshal(map[string]string{"session": session, "id": id, "text": text, "locale": locale})
	status, out := s.post(body)
	if status != http.StatusOK {
		s.t.Fatalf("ask %q: status %d: %s", text, status, out.Error)
	}
	if len(out.Replies) == 0 {
		s.t.Fatalf("ask %q: no replies", text)
	}
	return out.Replies
}

func (s *server) get(path string) (int, []byte) {
	s.t.Helper()
	resp, err := http.Get(s.base + path)
	if err != nil {
		s.t.Fatalf("get %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func TestWebChatAnswersFAQInThreeLocales(t *testing.T) {
	s := startServer(t, testConfig(t, t.TempDir()))
	kb := s.app.Knowledge()
	tests := []struct {
		locale, question, entry string
	}{
		{"zh-Hans", "买多少钱可以包邮啊", "shipping-fee"},
		{"zh-Hans", "退款多久能到账", "refund-time"},
		{"zh-Hant", "退貨的運費要自己付嗎", "return-shipping-cost"},
		{"zh-Hant", "可以開發票嗎", "invoice"},
		{"en", "When will my order arrive?", "delivery-time"},
		{"en", "Which payment methods do you accept?", "payment-methods"},
	}
	for i, tt := range tests {
		t.Run(tt.locale+"/"+tt.question, func(t *testing.T) {
			e, ok := kb.Entry(tt.entry)
			if !ok {
				t.Fatalf("demo knowledge base has no entry %q", tt.entry)
			}
			replies := s.ask("e2e-session-"+tt.locale, "msg-id-000"+string(rune('a'+i)), tt.question, tt.locale)
			if replies[0].Text != e.AnswerFor(tt.locale) {
				t.Fatalf("answer to %q:\n got  %q\n want %q (entry %s)", tt.question, replies[0].Text, e.AnswerFor(tt.locale), tt.entry)
			}
		})
	}
}

func TestGreetingAndFallbackAndButtons(t *testing.T) {
	s := startServer(t, testConfig(t, t.TempDir()))
	replies := s.ask("session-buttons", "", "你好", "zh-Hans")
	if !strings.Contains(replies[0].Text, "carebot") || len(replies[0].Buttons) < 2 {
		t.Fatalf("greeting: %+v", replies[0])
	}
	// Press the first FAQ button of the greeting.
	b := replies[0].Buttons[0]
	body, _ := json.Marshal(map[string]string{"session": "session-buttons", "payload": b.Payload, "label": b.Label})
	status, out := s.post(body)
	if status != http.StatusOK || len(out.Replies) != 1 {
		t.Fatalf("button press: %d %+v", status, out)
	}
	id := strings.TrimPrefix(b.Payload, "faq:")
	e, ok := s.app.Knowledge().Entry(id)
	if !ok || out.Replies[0].Text != e.AnswerFor("zh-Hans") {
		t.Fatalf("button %q answered %q", b.Payload, out.Replies[0].Text)
	}
	// A near miss is met with likely entries to choose from, best first.
	// "invoice" is as close to "how do I get an invoice" as to "my invoice
	// was wrong": the bot asks instead of guessing.
	clarify := s.ask("session-buttons", "", "invoice", "en")
	var offered []string
	for _, b := range clarify[0].Buttons {
		offered = append(offered, b.Payload)
	}
	if !strings.Contains(clarify[0].Text, "not quite sure") || !slices.Contains(offered, "faq:invoice") || !slices.Contains(offered, "faq:invoice-reissue") {
		t.Fatalf("near miss: %+v", clarify[0])
	}
	fallback := s.ask("session-buttons", "", "量子纠缠的哲学意义是什么", "zh-Hans")
	if !strings.Contains(fallback[0].Text, "抱歉") {
		t.Fatalf("out-of-domain question got %q", fallback[0].Text)
	}
	// The apology offers what the bot can do and the way to a person.
	if b := fallback[0].Buttons; len(b) != 2 || b[0].Payload != "help" || b[1].Payload != "faq:contact-human" {
		t.Fatalf("fallback buttons: %+v", b)
	}
}

func TestRedeliveredMessageIsAnsweredOnce(t *testing.T) {
	s := startServer(t, testConfig(t, t.TempDir()))
	first := s.ask("session-dedupe", "same-client-id", "运费多少", "zh-Hans")
	second := s.ask("session-dedupe", "same-client-id", "运费多少", "zh-Hans")
	if len(first) != 1 || len(second) != 1 || first[0].Seq != second[0].Seq {
		t.Fatalf("retry got a different reply: %+v vs %+v", first, second)
	}
	_, log, err := s.app.Engine().Conversation("webchat", "session-dedupe", 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(log) != 2 { // one customer message, one reply
		t.Fatalf("conversation log has %d entries, want 2: %+v", len(log), log)
	}
}

func TestBadInputGetsClearErrorsAndServerKeepsServing(t *testing.T) {
	s := startServer(t, testConfig(t, t.TempDir()))
	long := strings.Repeat("我的快递到哪里了", 1250) // 10,000 characters
	tests := []struct {
		name       string
		body       []byte
		wantStatus int
		wantField  string
		wantReply  bool
	}{
		{"malformed JSON", []byte(`{"session": "abcdefgh", "text": `), 400, "", false},
		{"not an object", []byte(`[1,2,3]`), 400, "", false},
		{"missing session", []byte(`{"text": "hi"}`), 400, "session", false},
		{"bad session", []byte(`{"session": "a b", "text": "hi"}`), 400, "session", false},
		{"missing text", []byte(`{"session": "abcdefgh"}`), 400, "text", false},
		{"text is a number", []byte(`{"session": "abcdefgh", "text": 42}`), 400, "text", false},
		{"unknown locale", []byte(`{"session": "abcdefgh", "text": "hi", "locale": "fr"}`), 400, "locale", false},
		{"unknown field", []byte(`{"session": "abcdefgh", "text": "hi", "x": 1}`), 400, "", false},
		{"oversized body", []byte(`{"session": "abcdefgh", "text": "` + strings.Repeat("a", 70<<10) + `"}`), 413, "", false},
		{"empty text", []byte(`{"session": "abcdefgh", "text": ""}`), 200, "", true},
		{"whitespace text", []byte(`{"session": "abcdefgh", "text": "  \n\t "}`), 200, "", true},
		{"invalid UTF-8", append(append([]byte(`{"session": "abcdefgh", "text": "运费`), 0xff, 0xfe), []byte(`"}`)...), 200, "", true},
		{"10,000 characters", []byte(`{"session": "abcdefgh", "text": "` + long + `"}`), 200, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, out := s.post(tt.body)
			if status != tt.wantStatus {
				t.Fatalf("status %d, want %d (%+v)", status, tt.wantStatus, out)
			}
			if tt.wantStatus != 200 && out.Error == "" {
				t.Fatalf("error response without a message: %+v", out)
			}
			if out.Field != tt.wantField {
				t.Fatalf("field %q, want %q (%s)", out.Field, tt.wantField, out.Error)
			}
			if tt.wantReply && (len(out.Replies) == 0 || strings.TrimSpace(out.Replies[0].Text) == "") {
				t.Fatalf("no polite reply: %+v", out)
			}
		})
	}
	if status, _ := s.get("/api/v1/webchat/events?session=never-seen-session"); status != 404 {
		t.Errorf("events of unknown session: %d, want 404", status)
	}
	if status, _ := s.get("/api/v1/webchat/history?session=never-seen-session"); status != 404 {
		t.Errorf("history of unknown session: %d, want 404", status)
	}
	if status, _ := s.get("/api/v1/webchat/events?session=x"); status != 400 {
		t.Errorf("events with malformed session: %d, want 400", status)
	}
	if status, _ := s.get("/healthz"); status != 200 {
		t.Fatalf("server stopped serving after bad input: %d", status)
	}
	s.ask("abcdefgh", "", "运费怎么算", "zh-Hans")
}

func TestEventStreamResumesWithoutRepeats(t *testing.T) {
	s := startServer(t, testConfig(t, t.TempDir()))
	s.ask("session-stream", "", "你好", "zh-Hans")
	s.ask("session-stream", "", "运费怎么算", "zh-Hans") // journal: 1 in, 2 out, 3 in, 4 out

	events := readEvents(t, s.base+"/api/v1/webchat/events?session=session-stream", "2", 2)
	if events[0].Seq != 3 || events[1].Seq != 4 || events[0].Dir != "in" || events[1].Dir != "out" {
		t.Fatalf("resume after 2 got %+v", events)
	}

	// A message queued later (an agent reply, a scheduled message) reaches
	// an open stream.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.base+"/api/v1/webchat/events?session=session-stream", nil)
	req.Header.Set("Last-Event-ID", "4")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := s.app.Store().Update(func(tx store.Tx) error {
		_, err := s.app.Outbox().Enqueue(tx, OutboxRow{Channel: "webchat", ChatID: "session-stream", Text: "您好，我是客服小林，接下来由我为您服务。"})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	s.app.Outbox().Wake()
	got := parseEvents(t, resp.Body, 1)
	if got[0].Seq != 5 || !strings.Contains(got[0].Text, "小林") {
		t.Fatalf("pushed message: %+v", got)
	}
}

func TestHistoryShowsBothSides(t *testing.T) {
	s := startServer(t, testConfig(t, t.TempDir()))
	s.ask("session-history", "", "How long does delivery take?", "en")
	status, body := s.get("/api/v1/webchat/history?session=session-history")
	if status != 200 {
		t.Fatalf("history: %d %s", status, body)
	}
	var h struct {
		Messages []struct {
			Seq  uint64 `json:"seq"`
			Dir  string `json:"dir"`
			Text string `json:"text"`
		} `json:"messages"`
		LastSeq uint64 `json:"last_seq"`
	}
	if err := json.Unmarshal(body, &h); err != nil {
		t.Fatal(err)
	}
	if len(h.Messages) != 2 || h.Messages[0].Dir != "in" || h.Messages[0].Text != "How long does delivery take?" || h.Messages[1].Dir != "out" || h.LastSeq != 2 {
		t.Fatalf("history: %+v", h)
	}
}

func TestOperationsEndpoints(t *testing.T) {
	s := startServer(t, testConfig(t, t.TempDir()))
	s.ask("session-metrics", "", "运费怎么算", "zh-Hans")
	// The reply reaches the page just before the outbox records it.
	waitFor(t, func() bool {
		_, body := s.get("/metrics")
		return strings.Contains(string(body), `carebot_messages_out_total{channel="webchat"} 1`)
	})
	status, body := s.get("/metrics")
	if status != 200 {
		t.Fatalf("metrics: %d", status)
	}
	for _, want := range []string{
		`carebot_messages_in_total{channel="webchat"} 1`,
		`carebot_messages_out_total{channel="webchat"} 1`,
		`carebot_faq_total{outcome="answered"} 1`,
		"carebot_dispatch_seconds_count 1",
		"carebot_outbox_depth 0",
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	status, body = s.get("/")
	if status != 200 || !strings.Contains(string(body), "chat.js") {
		t.Errorf("chat page: %d", status)
	}
	status, _ = s.get("/api/v1/nothing-here")
	if status != 404 {
		t.Errorf("unknown API route: %d", status)
	}
	// Backup needs the admin token.
	status, _ = s.get("/api/v1/admin/backup")
	if status != 401 {
		t.Errorf("backup without token: %d, want 401", status)
	}
	req, _ := http.NewRequest(http.MethodGet, s.base+"/api/v1/admin/backup", nil)
	req.Header.Set("Authorization", "Bearer "+s.app.admin)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || n < 4096 {
		t.Errorf("backup with token: %d, %d bytes", resp.StatusCode, n)
	}
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
