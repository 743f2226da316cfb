package line

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/carebot/carebot/channels"
	"github.com/carebot/carebot/channels/line/linetest"
)

// receive posts a signed text event from testUser carrying token, as LINE
// would, and lets the fake accept that token once.
func (h *harness) receive(t *testing.T, token string) {
	t.Helper()
	body := fmt.Sprintf(`{"destination":"U0","events":[{"type":"message","mode":"active","timestamp":%d,`+
		`"source":{"type":"user","userId":%q},"webhookEventId":"E-%s","replyToken":%q,`+
		`"deliveryContext":{"isRedelivery":false},"message":{"type":"text","id":"1","text":"hi"}}]}`,
		h.clock.Now().UnixMilli(), testUser, token, token)
	if w := h.postSigned([]byte(body)); w.Code != http.StatusOK {
		t.Fatalf("webhook: status %d", w.Code)
	}
	h.fake.IssueReplyToken(token)
}

func TestSendReplyWithQuickReplies(t *testing.T) {
	h := newHarness(t)
	h.receive(t, "tok-1")
	out := channels.Outbound{
		ID: 1, Channel: Name, ChatID: testUser, ReplyToken: "tok-1", Attempt: 1,
		Text: "您想了解哪一項？",
		Buttons: []channels.Button{
			{Label: "退貨政策", Payload: "faq:return"},
			{Label: "A label that is far longer than twenty characters", Payload: "faq:long"},
		},
	}
	if err := h.ch.Send(context.Background(), out); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if n := len(h.fake.Requests(linetest.PathPush)); n != 0 {
		t.Errorf("%d pushes, want none: a fresh token is answered with a reply", n)
	}
	reqs := h.fake.Requests(linetest.PathReply)
	if len(reqs) != 1 || reqs[0].Status != http.StatusOK {
		t.Fatalf("reply requests: %+v", reqs)
	}
	wire := decodeWire(t, reqs[0].Body)
	if wire.ReplyToken != "tok-1" || len(wire.Messages) != 1 || wire.Messages[0].Type != "text" || wire.Messages[0].Text != out.Text {
		t.Fatalf("reply body: %s", reqs[0].Body)
	}
	want := []map[string]any{
		{"type": "action", "action": map[string]any{"type": "postback", "label": "退貨政策", "data": "faq:return", "displayText": "退貨政策"}},
		{"type": "action", "action": map[string]any{"type": "postback", "label": "A label that is far ", "data": "faq:long", "displayText": "A label that is far longer than twenty characters"}},
	}
	if got := wire.Messages[0].QuickReply.Items; !reflect.DeepEqual(got, want) {
		t.Errorf("quick reply items:\n got %v\nwant %v", got, want)
	}
	if got := h.fake.Requests(linetest.PathReply)[0].Header.Get("Authorization"); got != "Bearer "+testToken {
		t.Errorf("Authorization %q", got)
	}
}

func TestSendQuickReplyLimits(t *testing.T) {
	var buttons []channels.Button
	for i := range 15 {
		buttons = append(buttons, channels.Button{Label: fmt.Sprintf("choice %d", i), Payload: fmt.Sprintf("p%d", i)})
	}
	buttons[3].Payload = "" // no payload: the press says the label
	msgs, err := buildMessages("pick one", buttons)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(msgs[0])
	var m linetest.Message
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if n := len(m.QuickReply.Items); n != 13 {
		t.Errorf("%d items, want LINE's maximum of 13", n)
	}
	if a := m.QuickReply.Items[3].Action; a.Type != "message" || a.Text != "choice 3" {
		t.Errorf("button without payload: %+v", a)
	}
	if _, err := buildMessages("x", []channels.Button{{Label: "ok", Payload: strings.Repeat("p", 301)}}); err == nil {
		t.Error("a payload over 300 characters was accepted")
	}
	if _, err := buildMessages(" \n", nil); err == nil {
		t.Error("an empty text was accepted")
	}
}

func TestSendExpiredTokenPushesWithRetryKey(t *testing.T) {
	h := newHarness(t)
	h.receive(t, "tok-old")
	h.clock.Advance(26 * time.Second) // past the 25 s default TTL
	out := channels.Outbound{ID: 42, Channel: Name, ChatID: testUser, ReplyToken: "tok-old", Text: "Your parcel left the warehouse."}
	if err := h.ch.Send(context.Background(), out); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if n := len(h.fake.Requests(linetest.PathReply)); n != 0 {
		t.Errorf("%d replies with an expired token, want none", n)
	}
	pushes := h.fake.Requests(linetest.PathPush)
	if len(pushes) != 1 {
		t.Fatalf("%d pushes, want 1", len(pushes))
	}
	key := pushes[0].Header.Get("X-Line-Retry-Key")
	if key == "" || key != retryKey(42, testUser, 0) {
		t.Fatalf("X-Line-Retry-Key %q, want %q", key, retryKey(42, testUser, 0))
	}

	// The outbox retries the row (say the result was not recorded): the
	// same key goes out, LINE answers 409, and that counts as delivered.
	out.ReplyToken, out.Attempt = "", 2
	if err := h.ch.Send(context.Background(), out); err != nil {
		t.Fatalf("second Send: %v", err)
	}
	pushes = h.fake.Requests(linetest.PathPush)
	if len(pushes) != 2 || pushes[1].Header.Get("X-Line-Retry-Key") != key || pushes[1].Status != http.StatusConflict {
		t.Fatalf("second push: %+v", pushes)
	}
	if d := h.fake.Deliveries(); len(d) != 1 || d[0].Via != "push" || d[0].To != testUser || d[0].Messages[0].Text != out.Text {
		t.Errorf("deliveries %+v, want the push once", d)
	}
	// Another row gets another key.
	if err := h.ch.Send(context.Background(), channels.Outbound{ID: 43, ChatID: testUser, Text: "next"}); err != nil {
		t.Fatal(err)
	}
	if d := h.fake.Deliveries(); len(d) != 2 || d[1].RetryKey == key {
		t.Errorf("row 43: deliveries %+v", d)
	}
}

func TestSendUnknownTokenPushes(t *testing.T) {
	// A token the channel never saw arrive (a restart, a redelivered
	// event) is not tried: its age is unknown.
	h := newHarness(t)
	body := readFixture(t, "redelivered.json")
	if w := h.postSigned(body); w.Code != http.StatusOK {
		t.Fatal(w.Code)
	}
	h.fake.IssueReplyToken("redelivered-token")
	for i, tok := range []string{"redelivered-token", "never-seen"} {
		if err := h.ch.Send(context.Background(), channels.Outbound{ID: uint64(i + 1), ChatID: testUser, ReplyToken: tok, Text: "hello"}); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(h.fake.Requests(linetest.PathReply)); n != 0 {
		t.Errorf("%d replies, want none", n)
	}
	h.deliveries(t, 2)
}

func TestSendInvalidReplyTokenFallsBackToPush(t *testing.T) {
	h := newHarness(t)
	h.receive(t, "tok-used")
	// LINE refuses the token (used elsewhere, or expired early).
	h.fake.Fail(linetest.PathReply, linetest.Response{Status: http.StatusBadRequest, Body: `{"message":"Invalid reply token"}`})
	out := channels.Outbound{ID: 7, ChatID: testUser, ReplyToken: "tok-used", Text: "Thanks for waiting."}
	if err := h.ch.Send(context.Background(), out); err != nil {
		t.Fatalf("Send: %v", err)
	}
	d := h.fake.Deliveries()
	if len(d) != 1 || d[0].Via != "push" || d[0].RetryKey != retryKey(7, testUser, 0) {
		t.Fatalf("deliveries %+v, want one push with the row's retry key", d)
	}
	if h.ch.memo.freshToken("tok-used", h.clock.Now()) {
		t.Error("a refused token is still considered fresh")
	}
}

// A reply that went out is not repeated when the outbox sends the row
// again (its result could not be recorded): replies have no retry key, so
// the channel remembers them.
func TestSendRepliedRowIsNotRepeated(t *testing.T) {
	h := newHarness(t)
	h.receive(t, "tok-2")
	out := channels.Outbound{ID: 9, ChatID: testUser, ReplyToken: "tok-2", Text: "Hello!"}
	for range 2 {
		if err := h.ch.Send(context.Background(), out); err != nil {
			t.Fatal(err)
		}
	}
	if d := h.fake.Deliveries(); len(d) != 1 || d[0].Via != "reply" {
		t.Errorf("deliveries %+v, want one reply", d)
	}
}

func TestSendErrors(t *testing.T) {
	tests := []struct {
		name      string
		resp      linetest.Response
		permanent bool
		after     time.Duration // > 0: want a *channels.RetryAfterError
	}{
		{"429 with Retry-After", linetest.Response{Status: 429, Header: http.Header{"Retry-After": {"7"}}, Body: `{"message":"Too many requests"}`}, false, 7 * time.Second},
		{"429 without Retry-After", linetest.Response{Status: 429, Body: `{"message":"You have reached your monthly limit."}`}, false, time.Second},
		{"400", linetest.Response{Status: 400, Body: `{"message":"The request body has 1 error(s)","details":[{"message":"May not be empty","property":"messages[0].text"}]}`}, true, 0},
		{"403", linetest.Response{Status: 403, Body: `{"message":"Access to this API is not available for your account"}`}, true, 0},
		{"404", linetest.Response{Status: 404, Body: `{"message":"Not found"}`}, true, 0},
		{"401", linetest.Response{Status: 401, Body: `{"message":"Authentication failed."}`}, false, 0},
		{"500", linetest.Response{Status: 500, Body: `{"message":"Internal server error"}`}, false, 0},
		{"502 not JSON", linetest.Response{Status: 502, Body: `<html>bad gateway</html>`}, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.fake.Fail(linetest.PathPush, tt.resp)
			err := h.ch.Send(context.Background(), channels.Outbound{ID: 1, ChatID: testUser, Text: "hi"})
			if err == nil {
				t.Fatal("Send succeeded")
			}
			if got := errors.Is(err, channels.ErrPermanent); got != tt.permanent {
				t.Errorf("permanent = %v, want %v: %v", got, tt.permanent, err)
			}
			var ra *channels.RetryAfterError
			if got := errors.As(err, &ra); got != (tt.after > 0) {
				t.Errorf("RetryAfterError = %v, want %v: %v", got, tt.after > 0, err)
			} else if got && ra.After != tt.after {
				t.Errorf("After = %v, want %v", ra.After, tt.after)
			}
			if !strings.Contains(err.Error(), "line: push: status") {
				t.Errorf("error does not say what failed: %v", err)
			}
		})
	}
}

func TestSendNetworkError(t *testing.T) {
	h := newHarness(t)
	h.fake.Close()
	err := h.ch.Send(context.Background(), channels.Outbound{ID: 1, ChatID: testUser, Text: "hi"})
	if err == nil || errors.Is(err, channels.ErrPermanent) {
		t.Fatalf("err = %v, want a temporary error", err)
	}
}

func TestSendHonoursContext(t *testing.T) {
	h := newHarness(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := h.ch.Send(ctx, channels.Outbound{ID: 1, ChatID: testUser, Text: "hi"})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if n := len(h.fake.Requests("")); n != 0 {
		t.Errorf("%d requests reached LINE after the context ended", n)
	}
}

func TestSendInvalidRows(t *testing.T) {
	h := newHarness(t)
	for name, out := range map[string]channels.Outbound{
		"no chat": {ID: 1, Text: "hi"},
		"no text": {ID: 2, ChatID: testUser, Buttons: []channels.Button{{Label: "a", Payload: "a"}}},
	} {
		if err := h.ch.Send(context.Background(), out); !errors.Is(err, channels.ErrPermanent) {
			t.Errorf("%s: err = %v, want permanent", name, err)
		}
	}
	if n := len(h.fake.Requests("")); n != 0 {
		t.Errorf("%d requests for rows that cannot be sent", n)
	}
}

// sentences returns a text of n characters made of numbered sentences.
func sentences(n int) string {
	var b strings.Builder
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "Sentence %05d says something useful about returns. ", i)
	}
	return b.String()[:n]
}

func TestSendLongText(t *testing.T) {
	h := newHarness(t)
	h.receive(t, "tok-long")
	text := sentences(12000)
	out := channels.Outbound{ID: 5, ChatID: testUser, ReplyToken: "tok-long", Text: text, Buttons: []channels.Button{{Label: "OK", Payload: "ok"}}}
	if err := h.ch.Send(context.Background(), out); err != nil {
		t.Fatalf("Send: %v", err)
	}
	d := h.fake.Deliveries()
	if len(d) != 1 || d[0].Via != "reply" {
		t.Fatalf("deliveries %+v, want one reply", d)
	}
	msgs := d[0].Messages
	if len(msgs) != 3 {
		t.Fatalf("%d messages, want 3", len(msgs))
	}
	var parts []string
	for i, m := range msgs {
		if len(m.Text) > maxTextLen {
			t.Errorf("message %d has %d characters", i, len(m.Text))
		}
		if !strings.HasSuffix(m.Text, ".") && i < len(msgs)-1 {
			t.Errorf("message %d does not end on a sentence: %q", i, m.Text[len(m.Text)-20:])
		}
		if (m.QuickReply != nil) != (i == len(msgs)-1) {
			t.Errorf("message %d: quick reply %v; want it on the last message only", i, m.QuickReply)
		}
		parts = append(parts, m.Text)
	}
	if got := strings.Join(parts, " "); got != strings.TrimSpace(text) {
		t.Error("the parts joined are not the text, in order")
	}
}

// Beyond 5 messages a row takes several requests: the first as a reply,
// the rest as pushes, each with its own retry key. If a push fails, the
// retry neither repeats the reply nor the pushes that went out.
func TestSendVeryLongText(t *testing.T) {
	h := newHarness(t)
	h.receive(t, "tok-huge")
	// 13 messages: a reply of 5, then pushes of 5 and 3.
	text := sentences(60000)
	h.fake.Fail(linetest.PathPush, linetest.Response{})            // the first push goes through…
	h.fake.Fail(linetest.PathPush, linetest.Response{Status: 503}) // …the second does not
	out := channels.Outbound{ID: 11, ChatID: testUser, ReplyToken: "tok-huge", Text: text, Attempt: 1}
	err := h.ch.Send(context.Background(), out)
	if err == nil || errors.Is(err, channels.ErrPermanent) {
		t.Fatalf("first attempt: err = %v, want temporary", err)
	}
	out.ReplyToken, out.Attempt = "", 2 // the outbox drops the token on retry
	if err := h.ch.Send(context.Background(), out); err != nil {
		t.Fatalf("second attempt: %v", err)
	}
	var vias, got []string
	d := h.fake.Deliveries()
	for _, x := range d {
		vias = append(vias, fmt.Sprintf("%s:%d", x.Via, len(x.Messages)))
		for _, m := range x.Messages {
			got = append(got, m.Text)
		}
	}
	if want := []string{"reply:5", "push:5", "push:3"}; !reflect.DeepEqual(vias, want) {
		t.Fatalf("deliveries %v, want %v", vias, want)
	}
	if strings.Join(got, " ") != strings.TrimSpace(text) {
		t.Error("the parts joined are not the text, in order")
	}
	var statuses []int
	for _, r := range h.fake.Requests(linetest.PathPush) {
		statuses = append(statuses, r.Status)
	}
	// ok, failed, then on retry: already accepted (409), ok.
	if want := []int{200, 503, 409, 200}; !reflect.DeepEqual(statuses, want) {
		t.Errorf("push statuses %v, want %v", statuses, want)
	}
	if d[1].RetryKey == d[2].RetryKey {
		t.Errorf("two pushes of one row share a retry key")
	}
}

func TestTyping(t *testing.T) {
	h := newHarness(t)
	if err := h.ch.Typing(context.Background(), testUser); err != nil {
		t.Fatalf("Typing: %v", err)
	}
	if err := h.ch.Typing(context.Background(), testGroup); err != nil {
		t.Fatalf("Typing in a group: %v", err)
	}
	got := h.fake.Loading()
	if want := []linetest.LoadingRequest{{ChatID: testUser, LoadingSeconds: 20}}; !reflect.DeepEqual(got, want) {
		t.Errorf("loading requests %+v, want %+v (none for the group)", got, want)
	}
	h.fake.Fail(linetest.PathLoading, linetest.Response{Status: 429, Body: `{"message":"Too many requests"}`})
	var ra *channels.RetryAfterError
	if err := h.ch.Typing(context.Background(), testUser); !errors.As(err, &ra) {
		t.Errorf("Typing on 429: %v", err)
	}
}

func TestLoadingStep(t *testing.T) {
	for in, want := range map[time.Duration]time.Duration{
		0: 20 * time.Second, time.Second: 5 * time.Second, 5 * time.Second: 5 * time.Second,
		11 * time.Second: 15 * time.Second, 2 * time.Minute: 60 * time.Second,
	} {
		if got := loadingStep(in); got != want {
			t.Errorf("loadingStep(%v) = %v, want %v", in, got, want)
		}
	}
}

func TestRetryKey(t *testing.T) {
	k := retryKey(1, testUser, 0)
	if k != retryKey(1, testUser, 0) {
		t.Fatal("retry key is not deterministic")
	}
	for _, other := range []string{retryKey(2, testUser, 0), retryKey(1, testUser, 1), retryKey(1, testGroup, 0)} {
		if other == k {
			t.Errorf("retry keys collide: %s", k)
		}
	}
	if len(k) != 36 || k[14] != '5' || !strings.ContainsRune("89ab", rune(k[19])) {
		t.Errorf("retry key %q is not a version 5 UUID", k)
	}
}

func TestNewValidates(t *testing.T) {
	dispatch := func(context.Context, channels.Event) error { return nil }
	for name, cfg := range map[string]Config{
		"no secret": {ChannelToken: "t"},
		"no token":  {ChannelSecret: "s"},
		"bad base":  {ChannelSecret: "s", ChannelToken: "t", APIBase: "api.line.me"},
	} {
		if _, err := New(cfg, dispatch, Options{}); err == nil {
			t.Errorf("%s: New succeeded", name)
		}
	}
	if _, err := New(Config{ChannelSecret: "s", ChannelToken: "t"}, nil, Options{}); err == nil {
		t.Error("nil dispatch accepted")
	}
	c, err := New(Config{ChannelSecret: "s", ChannelToken: "t"}, dispatch, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Name() != "line" || c.cfg.APIBase != DefaultAPIBase || c.opts.HTTPClient.Timeout == 0 || c.opts.ReplyTokenTTL != 25*time.Second {
		t.Errorf("defaults: %+v %+v", c.cfg, c.opts)
	}
}

// Sends and typing indicators from many goroutines share one channel; run
// with -race this shows the per-call client and the memo are safe.
func TestSendConcurrent(t *testing.T) {
	h := newHarness(t)
	for i := range 8 {
		h.receive(t, fmt.Sprintf("tok-c%d", i))
	}
	errs := make(chan error, 16)
	for i := range 8 {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			errs <- h.ch.Send(ctx, channels.Outbound{ID: uint64(100 + i), ChatID: testUser, ReplyToken: fmt.Sprintf("tok-c%d", i), Text: "hi"})
		}()
		go func() { errs <- h.ch.Typing(context.Background(), testUser) }()
	}
	for range 16 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	for _, d := range h.deliveries(t, 8) {
		if d.Via != "reply" {
			t.Errorf("delivery via %s, want reply", d.Via)
		}
	}
}
