package bot

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/carebot/carebot/channels/line/linetest"
	"github.com/carebot/carebot/channels/telegram/telegramtest"
	"github.com/carebot/carebot/configs"
	"github.com/carebot/carebot/handoff"
)

// The tests of this file put the fake Telegram and LINE APIs behind a
// Front that breaks the network on demand (a request held until the
// client's timeout, a connection reset, an answer lost after the platform
// acted), next to the fakes' own error answers (FailNext, Fail): 5xx, 429
// with a retry-after. The app runs on a clock the test moves, so that
// backoff delays are read exactly and nothing is retried before its time.
//
// What was tested before this file: TestOutboxRetriesThenDeliversInOrder-
// AndDeadLetters (outbox_test.go) retries, orders and dead-letters through
// an in-process channel, with the metrics; TestTelegramRateLimitAnd-
// UndeliverableReplies (platforms_test.go) delivers after one Telegram 429
// and shows a blocked customer's dead reply in the ticket view; the
// adapters' own tests classify each status (send_test.go). Nothing ran
// the app against a failing LINE API, a hung or cut connection, or a
// platform failing until the message is given up.

const (
	faultToken  = "123456:FAULT-token_abc"
	faultSecret = "fault-hook-secret"
	lineSecret  = "line-fault-secret"
	lineToken   = "line-fault-token"
	faultBase   = time.Second // outbox.base_backoff in these tests
)

// platformRig is carebot serving Telegram and LINE through fronts of the
// fake APIs, on a clock the test moves.
type platformRig struct {
	*server
	t     *testing.T
	clock *fakeClock
	tg    *telegramtest.Server
	tgNet *telegramtest.Front
	line  *linetest.Server
	lnNet *linetest.Front
}

// startPlatformRig starts the fakes, their fronts and the app, with no
// platform rate limits, a 1 s base backoff, a 1 s send timeout and up to 8
// attempts; tune changes the configuration before the start.
func startPlatformRig(t *testing.T, tune ...func(*configs.Config)) *platformRig {
	t.Helper()
	r := &platformRig{t: t, tg: telegramtest.NewServer(faultToken, "CarebotFaultBot"), line: linetest.NewServer(lineToken)}
	r.tgNet, r.lnNet = telegramtest.NewFront(r.tg), linetest.NewFront(r.line)
	t.Cleanup(r.tg.Close)
	t.Cleanup(r.line.Close)
	t.Cleanup(r.tgNet.Close)
	t.Cleanup(r.lnNet.Close)
	cfg := testConfig(t, t.TempDir())
	cfg.Channels.Telegram = configs.Telegram{Token: faultToken, WebhookSecret: faultSecret, APIBase: r.tgNet.URL}
	cfg.Channels.LINE = configs.LINE{ChannelSecret: lineSecret, ChannelToken: lineToken, APIBase: r.lnNet.URL}
	// The platforms' rate limits run on the real clock; they are not what
	// these tests are about.
	cfg.Outbox.RateLimits = map[string]configs.RateLimit{"telegram": {}, "line": {}}
	cfg.Outbox.BaseBackoff = configs.Duration(faultBase)
	cfg.Outbox.MaxBackoff = configs.Duration(time.Minute)
	cfg.Outbox.MaxAttempts = 8
	cfg.Outbox.SendTimeout = configs.Duration(time.Second)
	cfg.Handoff.CheckInterval = configs.Duration(time.Hour)
	for _, f := range tune {
		f(cfg)
	}
	r.clock = &fakeClock{now: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}
	r.server = startServer(t, cfg, WithClock(r.clock.Now))
	return r
}

// update posts a Telegram update to the webhook and returns the status.
func (r *platformRig) update(update []byte) int {
	r.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, r.base+"/webhook/telegram", bytes.NewReader(update))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Telegram-Bot-Api-Secret-Token", faultSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// lineEvent posts a signed LINE webhook body and returns the status.
func (r *platformRig) lineEvent(body []byte) int {
	r.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, r.base+"/webhook/line", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Line-Signature", linetest.Sign(lineSecret, body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// rows returns the outbox rows queued as replies in a chat, oldest first.
func (r *platformRig) rows(channel, chat string) []OutboxRow {
	r.t.Helper()
	_, log, err := r.app.Engine().Conversation(channel, chat, 100)
	if err != nil {
		r.t.Fatal(err)
	}
	var out []OutboxRow
	for _, e := range log {
		if e.Dir != "out" || e.OutboxID == 0 {
			continue
		}
		row, found, err := r.app.Outbox().Row(e.OutboxID)
		if err != nil || !found {
			r.t.Fatalf("row %d: found %v, %v", e.OutboxID, found, err)
		}
		out = append(out, row)
	}
	return out
}

// head returns the first reply row of a chat, waiting for it to be queued.
func (r *platformRig) head(channel, chat string) OutboxRow {
	r.t.Helper()
	var rows []OutboxRow
	waitFor(r.t, func() bool { rows = r.rows(channel, chat); return len(rows) > 0 })
	return rows[0]
}

// attempt waits until row id has been tried n times and its failure is
// recorded, and returns it.
func (r *platformRig) attempt(id uint64, n int) OutboxRow {
	r.t.Helper()
	var row OutboxRow
	waitFor(r.t, func() bool {
		row, _, _ = r.app.Outbox().Row(id)
		return row.Attempts >= n && (row.Status != StatusPending || row.LastError != "")
	})
	if row.Attempts != n || row.Status != StatusPending {
		r.t.Fatalf("row %d after attempt %d: %+v", id, n, row)
	}
	return row
}

// still checks, for a while in real time, that row id is not tried again
// while the app's clock stands before its retry.
func (r *platformRig) still(id uint64, attempts int) {
	r.t.Helper()
	for range 5 {
		r.app.Outbox().Wake()
		time.Sleep(30 * time.Millisecond) // over the 20 ms poll interval
	}
	if row, _, _ := r.app.Outbox().Row(id); row.Attempts != attempts {
		r.t.Fatalf("row %d retried before its time: %d attempts, want %d (send_at %s, now %s)", id, row.Attempts, attempts, row.SendAt, r.clock.Now())
	}
}

// retryAt moves the clock to the row's retry and wakes the outbox.
func (r *platformRig) retryAt(row OutboxRow) {
	r.clock.Set(row.SendAt)
	r.app.Outbox().Wake()
}

// quiet waits until the outbox has nothing left to send or record.
func (r *platformRig) quiet() {
	r.t.Helper()
	r.settle(func() bool { return r.app.Outbox().Depth() == 0 })
}

// settle moves the clock on a second at a time until cond holds.
func (r *platformRig) settle(cond func() bool) {
	r.t.Helper()
	waitFor(r.t, func() bool {
		r.clock.Add(time.Second)
		r.app.Outbox().Wake()
		return cond()
	})
}

func sentToChat(api *telegramtest.Server, chat string) []string {
	var out []string
	for _, m := range api.SentMessages() {
		if m.ChatID == chat {
			out = append(out, m.Text)
		}
	}
	return out
}

// deliveredOnce checks that each row is delivered and the chat got each
// row's text exactly once, and nothing else.
func deliveredOnce(t *testing.T, rows []OutboxRow, got []string) {
	t.Helper()
	want := map[string]int{}
	for _, row := range rows {
		if row.Status != StatusDelivered {
			t.Errorf("row %d is %s (%s), want delivered", row.ID, row.Status, row.LastError)
		}
		want[row.Text]++
	}
	have := map[string]int{}
	for _, text := range got {
		have[text]++
	}
	if fmt.Sprint(have) != fmt.Sprint(want) {
		t.Fatalf("the chat received %q, want each of the %d queued replies once", got, len(rows))
	}
}

func (r *platformRig) metric(line string) bool {
	_, body := r.get("/metrics")
	return strings.Contains(string(body), line)
}

func TestTelegramFault500sRetriedWithBackoffUntilTheAPIRecovers(t *testing.T) {
	r := startPlatformRig(t)
	ann := telegramtest.User{ID: 5101, FirstName: "Ann", LanguageCode: "zh-hans"}
	for range 3 {
		r.tg.FailNext("sendMessage", telegramtest.Failure{Code: 500, Description: "Internal Server Error"})
	}
	if code := r.update(telegramtest.TextUpdate(51001, 5101, ann, "运费怎么算")); code != 200 {
		t.Fatalf("webhook: %d", code)
	}
	id := r.head("telegram", "5101").ID
	// Each failure schedules the next try base·2^(n-1) later, with jitter
	// in its upper half, and nothing goes out before then.
	for n := 1; n <= 3; n++ {
		row := r.attempt(id, n)
		if !strings.Contains(row.LastError, "Internal Server Error") {
			t.Errorf("attempt %d: last error %q", n, row.LastError)
		}
		step := faultBase << (n - 1)
		if wait := row.SendAt.Sub(r.clock.Now()); wait < step/2 || wait > step {
			t.Fatalf("attempt %d: next try in %s, want %s to %s", n, wait, step/2, step)
		}
		r.still(id, n)
		if calls := len(r.tg.Calls("sendMessage")); calls != n {
			t.Fatalf("after %d failures the API saw %d calls", n, calls)
		}
		r.retryAt(row)
	}
	waitFor(t, func() bool { row, _, _ := r.app.Outbox().Row(id); return row.Status == StatusDelivered })
	r.quiet()
	rows := r.rows("telegram", "5101")
	deliveredOnce(t, rows, sentToChat(r.tg, "5101"))
	if row, _, _ := r.app.Outbox().Row(id); row.Attempts != 4 || row.LastError != "" {
		t.Errorf("delivered row: %+v", row)
	}
	if !r.metric(`carebot_outbox_retries_total{channel="telegram"} 3`) {
		t.Error("metrics do not count the 3 retries")
	}
}

func TestTelegramFault429WaitsForRetryAfter(t *testing.T) {
	r := startPlatformRig(t)
	bo := telegramtest.User{ID: 5102, FirstName: "Bo", LanguageCode: "zh-hans"}
	// retry_after 30 s is far above the first backoff (at most 1 s): it wins.
	r.tg.FailNext("sendMessage", telegramtest.Failure{Code: 429, Description: "Too Many Requests: retry after 30", RetryAfter: 30})
	failedAt := r.clock.Now()
	r.update(telegramtest.TextUpdate(51002, 5102, bo, "退款多久能到账"))
	id := r.head("telegram", "5102").ID
	row := r.attempt(id, 1)
	if got := row.SendAt.Sub(failedAt); got != 30*time.Second {
		t.Fatalf("retry scheduled %s after the 429, want retry_after = 30s", got)
	}
	r.clock.Set(failedAt.Add(29 * time.Second))
	r.still(id, 1)
	r.retryAt(row)
	waitFor(t, func() bool { row, _, _ := r.app.Outbox().Row(id); return row.Status == StatusDelivered })
	deliveredOnce(t, r.rows("telegram", "5102"), sentToChat(r.tg, "5102"))
}

func TestTelegramFaultTimeoutAndResetConnectionAreRetried(t *testing.T) {
	r := startPlatformRig(t)
	cy := telegramtest.User{ID: 5103, FirstName: "Cy", LanguageCode: "zh-hans"}
	r.tgNet.FailNext("sendMessage", telegramtest.Hang)
	r.tgNet.FailNext("sendMessage", telegramtest.Reset)
	r.update(telegramtest.TextUpdate(51003, 5103, cy, "可以开发票吗"))
	id := r.head("telegram", "5103").ID

	row := r.attempt(id, 1) // held until outbox.send_timeout (1 s)
	r.still(id, 1)
	r.retryAt(row)
	row = r.attempt(id, 2) // connection closed without an answer
	r.still(id, 2)
	r.retryAt(row)
	waitFor(t, func() bool { row, _, _ := r.app.Outbox().Row(id); return row.Status == StatusDelivered })
	r.quiet()
	deliveredOnce(t, r.rows("telegram", "5103"), sentToChat(r.tg, "5103"))

	calls := r.tgNet.Calls("sendMessage")
	if len(calls) < 3 || calls[0].Fault != telegramtest.Hang || calls[1].Fault != telegramtest.Reset || calls[2].Status != 200 {
		t.Fatalf("calls through the network: %+v", calls)
	}
	if held := calls[0].End.Sub(calls[0].Start); held < 900*time.Millisecond || held > 5*time.Second {
		t.Errorf("the hung call was given up after %s, want about the 1s send timeout", held)
	}
	for _, c := range calls[:2] {
		if c.Status != 0 {
			t.Errorf("a %s call reached the API: %+v", c.Fault, c)
		}
	}
}

// TestTelegramFaultLostAnswerIsSentAgain pins a limit of the Bot API: it has no
// idempotency key, so when Telegram accepted a message but the answer was
// lost, the outbox cannot know and the retry sends it a second time. The
// message is never lost; it may come twice.
func TestTelegramFaultLostAnswerIsSentAgain(t *testing.T) {
	r := startPlatformRig(t)
	di := telegramtest.User{ID: 5104, FirstName: "Di", LanguageCode: "zh-hans"}
	r.tgNet.FailNext("sendMessage", telegramtest.LoseAnswer)
	r.update(telegramtest.TextUpdate(51004, 5104, di, "运费怎么算"))
	id := r.head("telegram", "5104").ID
	row := r.attempt(id, 1)
	if got := sentToChat(r.tg, "5104"); len(got) != 1 {
		t.Fatalf("after the lost answer the API holds %q, want the message once", got)
	}
	r.retryAt(row)
	waitFor(t, func() bool { row, _, _ := r.app.Outbox().Row(id); return row.Status == StatusDelivered })
	if got := sentToChat(r.tg, "5104"); len(got) != 2 || got[0] != got[1] {
		t.Fatalf("after the retry the chat holds %q, want the same message twice", got)
	}
}

func TestTelegramFaultDeadLettersInMetricsAndTicketThenRecovery(t *testing.T) {
	r := startPlatformRig(t, func(c *configs.Config) { c.Outbox.MaxAttempts = 3 })
	agent := bearer(newAgent(t, r.app.Store(), "alice", handoff.RoleAgent, r.clock.Now()))
	eve := telegramtest.User{ID: 5105, FirstName: "Eve", LanguageCode: "zh-hans"}
	// The API fails the first reply of the complaint on every attempt.
	for range 3 {
		r.tg.FailNext("sendMessage", telegramtest.Failure{Code: 502, Description: "Bad Gateway"})
	}
	if code := r.update(telegramtest.TextUpdate(51005, 5105, eve, "质量太差了，我要投诉")); code != 200 {
		t.Fatalf("webhook: %d", code)
	}
	first := r.head("telegram", "5105")
	r.settle(func() bool { row, _, _ := r.app.Outbox().Row(first.ID); return row.Status == StatusDead })
	r.quiet()
	dead, _, _ := r.app.Outbox().Row(first.ID)
	if dead.Attempts != 3 || !strings.Contains(dead.LastError, "Bad Gateway") {
		t.Fatalf("dead letter: %+v", dead)
	}
	letters, err := r.app.Outbox().DeadLetters(10)
	if err != nil || len(letters) != 1 || letters[0].ID != first.ID {
		t.Fatalf("dead letters: %+v %v", letters, err)
	}
	if !r.metric(`carebot_outbox_dead_letters_total{channel="telegram"} 1`) || !r.metric(`carebot_outbox_retries_total{channel="telegram"} 2`) {
		_, m := r.get("/metrics")
		t.Fatalf("metrics lack the dead letter and its 2 retries:\n%s", grepLines(string(m), "carebot_outbox_"))
	}
	// Replies queued after the dead one are not held back by it.
	deliveredOnce(t, r.rows("telegram", "5105")[1:], sentToChat(r.tg, "5105"))

	// The agent sees, in the ticket, which reply never arrived and why.
	conv, _, _ := r.app.Engine().Conversation("telegram", "5105", 1)
	ticket := conv.State.Handoff.Ticket
	if ticket == 0 {
		t.Fatalf("the complaint opened no ticket: %+v", conv.State.Handoff)
	}
	var view TicketView
	if code := r.agentCallJSON(agent, "GET", fmt.Sprintf("/api/v1/tickets/%d", ticket), nil, &view); code != 200 {
		t.Fatalf("ticket view: %d", code)
	}
	var shown *LogEntry
	for i := range view.Messages {
		if view.Messages[i].OutboxID == first.ID {
			shown = &view.Messages[i]
		}
	}
	if shown == nil || shown.Delivery != StatusDead || !strings.Contains(shown.DeliveryError, "Bad Gateway") {
		t.Fatalf("the ticket shows the dead reply as %+v", shown)
	}

	// The API is back: the agent's reply goes through at once.
	if code := r.agentCallJSON(agent, "POST", fmt.Sprintf("/api/v1/tickets/%d/messages", ticket), map[string]string{"text": "您好，我来处理这个问题"}, nil); code != 200 {
		t.Fatalf("agent reply: %d", code)
	}
	r.settle(func() bool {
		for _, text := range sentToChat(r.tg, "5105") {
			if text == "您好，我来处理这个问题" {
				return true
			}
		}
		return false
	})
	r.quiet()
	deliveredOnce(t, r.rows("telegram", "5105")[1:], sentToChat(r.tg, "5105"))
}

func TestLINEFault500Then429ThenDeliveredOnce(t *testing.T) {
	r := startPlatformRig(t)
	const user = "U5106aaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	r.line.IssueReplyToken("rt-5106")
	// The reply fails with a 500: the retry cannot use the reply token
	// again and pushes, which LINE first refuses with a 429.
	r.line.Fail(linetest.PathReply, linetest.Response{Status: 500})
	r.line.Fail(linetest.PathPush, linetest.Response{Status: 429, Header: http.Header{"Retry-After": {"7"}}, Body: `{"message":"Too many requests"}`})
	if code := r.lineEvent(lineEvent("01HFAULT5106", "rt-5106", `{"type":"user","userId":"`+user+`"}`, "可以開發票嗎")); code != 200 {
		t.Fatalf("webhook: %d", code)
	}
	id := r.head("line", user).ID
	row := r.attempt(id, 1)
	if wait := row.SendAt.Sub(r.clock.Now()); wait < faultBase/2 || wait > faultBase {
		t.Fatalf("after the 500: next try in %s", wait)
	}
	r.retryAt(row)
	row = r.attempt(id, 2)
	if wait := row.SendAt.Sub(r.clock.Now()); wait != 7*time.Second {
		t.Fatalf("after the 429: next try in %s, want Retry-After = 7s", wait)
	}
	r.clock.Add(6 * time.Second)
	r.still(id, 2)
	r.retryAt(row)
	waitFor(t, func() bool { row, _, _ := r.app.Outbox().Row(id); return row.Status == StatusDelivered })
	got := r.line.Deliveries()
	if len(got) != 1 || got[0].Via != "push" || got[0].To != user {
		t.Fatalf("LINE delivered %+v, want one push", got)
	}
}

func TestLINEFaultTimeoutAndLostAnswerDeliveredOnce(t *testing.T) {
	r := startPlatformRig(t)
	const user = "U5107bbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	// A redelivered event has no usable reply token: the answer is pushed.
	// The first push hangs until the send timeout; LINE accepts the second
	// but its answer is lost; the third carries the same retry key, so
	// LINE answers 409 and sends nothing again.
	r.lnNet.FailNext(linetest.PathPush, linetest.Hang)
	r.lnNet.FailNext(linetest.PathPush, linetest.LoseAnswer)
	body := strings.Replace(string(lineEvent("01HFAULT5107", "", `{"type":"user","userId":"`+user+`"}`, "運費怎麼算")), `"isRedelivery":false`, `"isRedelivery":true`, 1)
	if code := r.lineEvent([]byte(body)); code != 200 {
		t.Fatalf("webhook: %d", code)
	}
	id := r.head("line", user).ID
	r.retryAt(r.attempt(id, 1))
	r.retryAt(r.attempt(id, 2))
	waitFor(t, func() bool { row, _, _ := r.app.Outbox().Row(id); return row.Status == StatusDelivered })
	if got := r.line.Deliveries(); len(got) != 1 || got[0].Via != "push" {
		t.Fatalf("LINE delivered %+v, want one push", got)
	}
	calls := r.lnNet.Calls(linetest.PathPush)
	if len(calls) != 3 || calls[0].Fault != linetest.Hang || calls[1].Fault != linetest.LoseAnswer || calls[1].Status != 200 || calls[2].Status != http.StatusConflict {
		t.Fatalf("pushes through the network: %+v", calls)
	}
	if calls[0].RetryKey == "" || calls[0].RetryKey != calls[1].RetryKey || calls[1].RetryKey != calls[2].RetryKey {
		t.Errorf("the retries of one row carry different retry keys: %+v", calls)
	}
}

// TestLINEFaultLostReplyAnswerIsPushedAgain pins the LINE counterpart of
// TestTelegramFaultLostAnswerIsSentAgain: a reply request has no retry key, so
// when LINE took the reply but the answer was lost the retry pushes the
// message again.
func TestLINEFaultLostReplyAnswerIsPushedAgain(t *testing.T) {
	r := startPlatformRig(t)
	const user = "U5108cccccccccccccccccccccccccccc"
	r.line.IssueReplyToken("rt-5108")
	r.lnNet.FailNext(linetest.PathReply, linetest.LoseAnswer)
	r.lineEvent(lineEvent("01HFAULT5108", "rt-5108", `{"type":"user","userId":"`+user+`"}`, "可以開發票嗎"))
	id := r.head("line", user).ID
	r.retryAt(r.attempt(id, 1))
	waitFor(t, func() bool { row, _, _ := r.app.Outbox().Row(id); return row.Status == StatusDelivered })
	got := r.line.Deliveries()
	if len(got) != 2 || got[0].Via != "reply" || got[1].Via != "push" || got[0].Messages[0].Text != got[1].Messages[0].Text {
		t.Fatalf("LINE delivered %+v, want the reply and then the same message pushed", got)
	}
}

// agentCallJSON calls the API with hdr and a JSON body, decoding a 2xx
// answer into out.
func (r *platformRig) agentCallJSON(hdr map[string]string, method, path string, in, out any) int {
	r.t.Helper()
	cs := &careServer{server: r.server}
	return cs.api(strings.TrimPrefix(hdr["Authorization"], "Bearer "), method, path, in, out)
}

// grepLines returns the lines of text that contain sub.
func grepLines(text, sub string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
