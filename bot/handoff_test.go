package bot

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/carebot/carebot/channels/webchat"
	"github.com/carebot/carebot/configs"
	"github.com/carebot/carebot/dialog/emotion"
	"github.com/carebot/carebot/handoff"
	"github.com/carebot/carebot/store"
)

// fakeClock is a movable clock shared by the app and the test.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *fakeClock) Add(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// careServer is a running app with an agent and a supervisor holding API
// tokens, a staff chat for alerts, and a movable clock.
type careServer struct {
	*server
	clock                 *fakeClock
	agentTok, supervisTok string
}

func startCareServer(t *testing.T, tune ...func(*configs.Config)) *careServer {
	t.Helper()
	cfg := testConfig(t, t.TempDir())
	for _, f := range tune {
		f(cfg)
	}
	cfg.Handoff.Staff = []configs.StaffChat{{Channel: webchat.Name, ChatID: "staff-room"}}
	cfg.Handoff.CheckInterval = configs.Duration(time.Hour) // the test escalates by hand
	clock := &fakeClock{now: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}
	s := &careServer{server: startServer(t, cfg, WithClock(clock.Now)), clock: clock}
	s.agentTok = s.addAgent("alice", handoff.RoleAgent)
	s.supervisTok = s.addAgent("sam", handoff.RoleSupervisor)
	return s
}

// addAgent creates a console account and returns a new API token for it.
func (s *careServer) addAgent(name string, role handoff.Role) string {
	s.t.Helper()
	return newAgent(s.t, s.app.Store(), name, role, s.clock.Now())
}

// newAgent creates a console account in st and returns an API token for it.
func newAgent(t testing.TB, st *store.Store, name string, role handoff.Role, now time.Time) string {
	t.Helper()
	var tok string
	err := st.Update(func(tx store.Tx) error {
		if _, err := handoff.AddAccount(tx, name, role, "correct horse battery", now); err != nil {
			return err
		}
		var err error
		tok, err = handoff.NewToken(tx, name, now)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// say sends a customer message and returns the texts of the turn's replies.
func (s *careServer) say(session, text string) []chatReply {
	s.t.Helper()
	body, _ := json.Marshal(map[string]string{"session": session, "text": text, "locale": "zh-Hans"})
	status, out := s.post(body)
	if status != http.StatusOK {
		s.t.Fatalf("say %q: %d %s", text, status, out.Error)
	}
	return out.Replies
}

func (s *careServer) press(session, payload string) []chatReply {
	s.t.Helper()
	body, _ := json.Marshal(map[string]string{"session": session, "payload": payload, "label": payload})
	status, out := s.post(body)
	if status != http.StatusOK {
		s.t.Fatalf("press %q: %d %s", payload, status, out.Error)
	}
	return out.Replies
}

// api calls the ticket API with a bearer token and decodes into out.
func (s *careServer) api(token, method, path string, in, out any) int {
	s.t.Helper()
	var body io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		body = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, s.base+path, body)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	if out != nil && resp.StatusCode < 300 {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			s.t.Fatalf("%s %s: decode: %v", method, path, err)
		}
	}
	return resp.StatusCode
}

// ticketOf returns the ticket the conversation of session points at.
func (s *careServer) ticketOf(session string) *handoff.Ticket {
	s.t.Helper()
	conv, _, err := s.app.Engine().Conversation(webchat.Name, session, 1)
	if err != nil {
		s.t.Fatal(err)
	}
	id := conv.State.Handoff.Ticket
	if id == 0 {
		id = conv.State.Handoff.LastTicket
	}
	if id == 0 {
		s.t.Fatalf("session %s has no ticket (state %+v)", session, conv.State.Handoff)
	}
	var tk *handoff.Ticket
	if err := s.app.Store().View(func(tx store.Tx) error {
		var err error
		tk, err = handoff.Get(tx, id)
		return err
	}); err != nil {
		s.t.Fatal(err)
	}
	return tk
}

// delivered returns the texts the customer's web chat received.
func (s *careServer) delivered(session string) []string {
	s.t.Helper()
	msgs, err := webJournal{s.app.Store()}.Recent(session, 100)
	if err != nil {
		s.t.Fatal(err)
	}
	var out []string
	for _, m := range msgs {
		if m.Dir != "in" {
			out = append(out, m.Text)
		}
	}
	return out
}

func (s *careServer) waitDelivered(session, want string) {
	s.t.Helper()
	s.app.Outbox().Wake()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for _, text := range s.delivered(session) {
			if strings.Contains(text, want) {
				return
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	s.t.Fatalf("%s never received %q; got %q", session, want, s.delivered(session))
}

func texts(rs []chatReply) string {
	var b strings.Builder
	for _, r := range rs {
		b.WriteString(r.Text)
		b.WriteString(" | ")
	}
	return b.String()
}

func TestMildComplaintKeepsTheBotAnsweringAndOpensAFollowUp(t *testing.T) {
	s := startCareServer(t)
	replies := s.say("session-mild-1", "快递有点慢，不太满意")
	all := texts(replies)
	if !strings.Contains(all, "抱歉") || !strings.Contains(all, "10 分钟") {
		t.Fatalf("mild replies = %s", all)
	}
	tk := s.ticketOf("session-mild-1")
	if tk.Tier != emotion.TierMild || tk.Queue != handoff.QueueAgent || tk.Silenced || tk.Status != handoff.StatusOpen {
		t.Fatalf("mild ticket = %+v", tk)
	}
	if !tk.Deadline.Equal(s.clock.Now().Add(10 * time.Minute)) {
		t.Errorf("mild SLA deadline = %v", tk.Deadline)
	}
	if len(tk.Cues) == 0 {
		t.Errorf("mild ticket has no cues")
	}
	// The bot keeps answering questions in the same conversation.
	kb := s.app.Knowledge()
	e, _ := kb.Entry("refund-time")
	next := s.say("session-mild-1", "退款多久能到账")
	if len(next) == 0 || next[0].Text != e.AnswerFor("zh-Hans") {
		t.Fatalf("after a mild complaint the bot answered %s", texts(next))
	}
}

func TestModerateComplaintSilencesTheBotUntilAnAgentResolves(t *testing.T) {
	s := startCareServer(t)
	replies := s.say("session-mod-1", "质量太差了，我要投诉")
	if len(replies) != 1 || !strings.Contains(replies[0].Text, "人工客服") || !strings.Contains(replies[0].Text, "1 小时") {
		t.Fatalf("moderate replies = %s", texts(replies))
	}
	tk := s.ticketOf("session-mod-1")
	if tk.Tier != emotion.TierModerate || tk.Queue != handoff.QueueAgent || !tk.Silenced || tk.Reason != handoff.ReasonMessage {
		t.Fatalf("moderate ticket = %+v", tk)
	}
	// While the ticket is open the bot does not answer FAQs; it only says
	// the message was passed on, and not at every message.
	if r := s.say("session-mod-1", "退款多久能到账"); len(r) != 0 {
		t.Fatalf("silenced bot replied %s", texts(r))
	}
	s.clock.Add(11 * time.Minute)
	if r := s.say("session-mod-1", "人呢？"); len(r) != 1 || !strings.Contains(r[0].Text, "转给客服") {
		t.Fatalf("waiting notice = %s", texts(r))
	}

	// The queue shows it to the agent, who claims, replies and resolves.
	var list struct{ Tickets []handoff.Ticket }
	if code := s.api(s.agentTok, "GET", "/api/v1/tickets?state=open", nil, &list); code != 200 || len(list.Tickets) != 1 || list.Tickets[0].ID != tk.ID {
		t.Fatalf("agent queue: %d %+v", code, list)
	}
	var view TicketView
	if code := s.api(s.agentTok, "GET", fmt.Sprintf("/api/v1/tickets/%d", tk.ID), nil, &view); code != 200 {
		t.Fatalf("ticket view: %d", code)
	}
	if view.Messages[0].Emotion == nil || view.Messages[0].Emotion.Colour != "red" && view.Messages[0].Emotion.Colour != "yellow" {
		t.Errorf("first message emotion = %+v", view.Messages[0].Emotion)
	}
	if len(view.Causes) == 0 {
		t.Errorf("view has no causes to resolve with")
	}
	if code := s.api(s.agentTok, "POST", fmt.Sprintf("/api/v1/tickets/%d/claim", tk.ID), nil, nil); code != 200 {
		t.Fatalf("claim: %d", code)
	}
	s.waitDelivered("session-mod-1", "alice")
	if code := s.api(s.agentTok, "POST", fmt.Sprintf("/api/v1/tickets/%d/messages", tk.ID), map[string]string{"text": "您好，我来帮您处理退换"}, nil); code != 200 {
		t.Fatalf("reply: %d", code)
	}
	s.waitDelivered("session-mod-1", "您好，我来帮您处理退换")
	if code := s.api(s.agentTok, "POST", fmt.Sprintf("/api/v1/tickets/%d/resolve", tk.ID), map[string]string{"cause": "不存在的原因"}, nil); code != 400 {
		t.Fatalf("resolve with an unknown cause: %d, want 400", code)
	}
	if code := s.api(s.agentTok, "POST", fmt.Sprintf("/api/v1/tickets/%d/resolve", tk.ID), map[string]string{"cause": "质量问题", "note": "换新"}, nil); code != 200 {
		t.Fatalf("resolve: %d", code)
	}
	// The rating is asked an hour after the resolution (handoff.csat_delay).
	for _, text := range s.delivered("session-mod-1") {
		if strings.Contains(text, "打个分") {
			t.Fatal("the rating was asked at the resolution, not an hour later")
		}
	}
	s.clock.Add(time.Hour)
	s.waitDelivered("session-mod-1", "打个分")

	// The CSAT prompt's buttons store the score on the ticket.
	msgs, _ := webJournal{s.app.Store()}.Recent("session-mod-1", 100)
	var csat string
	for _, m := range msgs {
		for _, b := range m.Buttons {
			if strings.HasPrefix(b.Payload, "csat:") && strings.HasSuffix(b.Payload, ":5") {
				csat = b.Payload
			}
		}
	}
	if csat == "" {
		t.Fatal("no CSAT buttons delivered")
	}
	// Answering earns the survey points (loyalty.survey_points), once.
	if r := s.press("session-mod-1", csat); len(r) != 2 || !strings.Contains(r[0].Text, "谢谢") || !strings.Contains(r[1].Text, "20 积分") {
		t.Fatalf("csat answer = %s", texts(r))
	}
	if r := s.press("session-mod-1", csat); len(r) != 1 || !strings.Contains(r[0].Text, "谢谢") {
		t.Fatalf("second csat answer = %s", texts(r))
	}
	tk = s.ticketOf("session-mod-1")
	if tk.Status != handoff.StatusResolved || tk.CSAT != 5 || tk.Cause != "质量问题" || tk.Agent != "alice" {
		t.Fatalf("resolved ticket = %+v", tk)
	}
	// The bot is back.
	e, _ := s.app.Knowledge().Entry("refund-time")
	if r := s.say("session-mod-1", "退款多久能到账"); len(r) == 0 || r[0].Text != e.AnswerFor("zh-Hans") {
		t.Fatalf("after resolution the bot answered %s", texts(r))
	}
}

func TestSevereGoesToSupervisorsAndSchedulesFollowUps(t *testing.T) {
	s := startCareServer(t)
	replies := s.say("session-sev-1", "再不给我处理，我就去12315投诉，还要发微博曝光你们！")
	if len(replies) != 1 || !strings.Contains(replies[0].Text, "主管") || !strings.Contains(replies[0].Text, "4 小时") {
		t.Fatalf("severe replies = %s", texts(replies))
	}
	tk := s.ticketOf("session-sev-1")
	if tk.Tier != emotion.TierSevere || tk.Queue != handoff.QueueSupervisor || !tk.Silenced {
		t.Fatalf("severe ticket = %+v", tk)
	}
	s.waitDelivered("staff-room", fmt.Sprintf("#%d", tk.ID))
	// Agents neither see nor claim it; supervisors do.
	var list struct{ Tickets []handoff.Ticket }
	if s.api(s.agentTok, "GET", "/api/v1/tickets", nil, &list); len(list.Tickets) != 0 {
		t.Fatalf("agent sees %d supervisor tickets", len(list.Tickets))
	}
	if code := s.api(s.agentTok, "POST", fmt.Sprintf("/api/v1/tickets/%d/claim", tk.ID), nil, nil); code != 403 {
		t.Fatalf("agent claimed a severe ticket: %d", code)
	}
	if code := s.api("", "GET", "/api/v1/tickets", nil, nil); code != 401 {
		t.Fatalf("no token: %d, want 401", code)
	}
	if code := s.api(s.agentTok, "GET", "/api/v1/tickets/report", nil, nil); code != 403 {
		t.Fatalf("agent read the report: %d, want 403", code)
	}
	if code := s.api(s.supervisTok, "POST", fmt.Sprintf("/api/v1/tickets/%d/resolve", tk.ID), map[string]string{"cause": "售后复杂"}, nil); code != 200 {
		t.Fatalf("supervisor resolve: %d", code)
	}
	s.clock.Add(time.Hour)
	s.waitDelivered("session-sev-1", "打个分")
	followUp := "回访"
	for _, text := range s.delivered("session-sev-1") {
		if strings.Contains(text, followUp) {
			t.Fatal("follow-up delivered at resolution")
		}
	}
	count := func() int {
		n := 0
		for _, text := range s.delivered("session-sev-1") {
			if strings.Contains(text, followUp) {
				n++
			}
		}
		return n
	}
	s.clock.Add(22 * time.Hour) // 23 h after the resolution
	s.app.Outbox().Wake()
	time.Sleep(60 * time.Millisecond) // a few poll intervals
	if n := count(); n != 0 {
		t.Fatalf("follow-up delivered after 23h: %d", n)
	}
	s.clock.Add(time.Hour + time.Second)
	waitFor(t, func() bool { s.app.Outbox().Wake(); return count() == 1 })
	s.clock.Add(48 * time.Hour)
	waitFor(t, func() bool { s.app.Outbox().Wake(); return count() == 2 })

	var rep handoff.Report
	if code := s.api(s.supervisTok, "GET", "/api/v1/tickets/report?days=7", nil, &rep); code != 200 || rep.Resolved != 1 || len(rep.TopCauses) != 1 || rep.TopCauses[0].Cause != "售后复杂" {
		t.Fatalf("report: %d %+v", code, rep)
	}
}

func TestThreeNegativesInARowAlertASupervisor(t *testing.T) {
	// Only the consecutive rule: no escalation by failed answers or by the
	// running emotion.
	s := startCareServer(t, func(c *configs.Config) { c.Handoff.UnansweredLimit, c.Handoff.RunningThreshold = 0, 0 })
	msgs := []string{"发货有点慢", "有点失望", "还是不太满意"}
	for i, m := range msgs {
		r := s.say("session-neg-1", m)
		tk := s.ticketOf("session-neg-1")
		if tk.Tier != emotion.TierMild || tk.Silenced {
			t.Fatalf("message %d %q: ticket %+v, replies %s", i, m, tk, texts(r))
		}
		if want := i == 2; (tk.Queue == handoff.QueueSupervisor) != want {
			t.Fatalf("after %d negative messages the ticket is in the %s queue", i+1, tk.Queue)
		}
	}
	tk := s.ticketOf("session-neg-1")
	s.waitDelivered("staff-room", fmt.Sprintf("#%d", tk.ID))
}

func TestUnclaimedTicketIsEscalatedAfterItsSLA(t *testing.T) {
	s := startCareServer(t)
	s.say("session-sla-1", "质量太差了，我要投诉")
	if n, err := s.app.EscalateOverdue(); err != nil || n != 0 {
		t.Fatalf("escalated before the SLA: %d %v", n, err)
	}
	s.clock.Add(time.Hour)
	if n, err := s.app.EscalateOverdue(); err != nil || n != 1 {
		t.Fatalf("escalated %d, err %v", n, err)
	}
	tk := s.ticketOf("session-sla-1")
	if !tk.Escalated || tk.Queue != handoff.QueueSupervisor {
		t.Fatalf("ticket after SLA = %+v", tk)
	}
	s.waitDelivered("staff-room", fmt.Sprintf("#%d", tk.ID))
}

func TestNegativeMessageAfterResolutionReopensTheTicket(t *testing.T) {
	s := startCareServer(t)
	s.say("session-re-1", "质量太差了，我要投诉")
	tk := s.ticketOf("session-re-1")
	if code := s.api(s.agentTok, "POST", fmt.Sprintf("/api/v1/tickets/%d/resolve", tk.ID), map[string]string{"cause": "质量问题"}, nil); code != 200 {
		t.Fatalf("resolve: %d", code)
	}
	s.clock.Add(3 * 24 * time.Hour)
	s.say("session-re-1", "换来的还是坏的，太差劲了，我要投诉")
	again := s.ticketOf("session-re-1")
	if again.ID != tk.ID || again.Status != handoff.StatusOpen || again.Reopened != 1 {
		t.Fatalf("complaint within the window: ticket %+v (first %d)", again, tk.ID)
	}
}

func TestCustomerAskingForAPersonGetsOne(t *testing.T) {
	s := startCareServer(t)
	r := s.say("session-req-1", "转人工")
	if len(r) != 1 || !strings.Contains(r[0].Text, "人工客服") {
		t.Fatalf("request replies = %s", texts(r))
	}
	if tk := s.ticketOf("session-req-1"); tk.Reason != handoff.ReasonRequest || !tk.Silenced {
		t.Fatalf("request ticket = %+v", tk)
	}
}

func TestMildApologyCarriesTheCompensationHook(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	var got []uint64
	s := startServer(t, cfg, WithCompensation(func(tx store.Tx, tk *handoff.Ticket) (string, error) {
		got = append(got, tk.ID)
		return "送您一张 5 元无门槛券：SORRY5", nil
	}))
	cs := &careServer{server: s}
	r := cs.say("session-coupon-1", "发货有点慢")
	if !strings.Contains(texts(r), "SORRY5") || len(got) != 1 {
		t.Fatalf("mild replies = %s, hook calls %v", texts(r), got)
	}
	// A moderate complaint gets a person, not a coupon.
	r = cs.say("session-coupon-2", "质量太差了，我要投诉")
	if strings.Contains(texts(r), "SORRY5") || len(got) != 1 {
		t.Fatalf("moderate replies = %s, hook calls %v", texts(r), got)
	}
}

// ticketStream opens the console's event stream as token and returns a
// channel of "event:data" lines.
func (s *careServer) ticketStream(token string) <-chan string {
	s.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s.t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.base+"/api/v1/tickets/events", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		s.t.Fatalf("event stream: %d", resp.StatusCode)
	}
	out := make(chan string, 64)
	go func() {
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		kind := ""
		for sc.Scan() {
			line := sc.Text()
			if k, ok := strings.CutPrefix(line, "event: "); ok {
				kind = k
			} else if d, ok := strings.CutPrefix(line, "data: "); ok {
				out <- kind + ":" + d
			}
		}
		close(out)
	}()
	if first := <-out; !strings.HasPrefix(first, "hello:") {
		s.t.Fatalf("stream began with %q", first)
	}
	return out
}

func nextEvent(t *testing.T, ch <-chan string, prefix string) string {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				t.Fatalf("stream closed before a %q event", prefix)
			}
			if strings.HasPrefix(ev, prefix) {
				return ev
			}
		case <-timeout:
			t.Fatalf("no %q event within 10s", prefix)
		}
	}
}

func TestConsoleStreamsQueueChangesToWhoeverCanSeeThem(t *testing.T) {
	s := startCareServer(t)
	bobTok := s.addAgent("bob", handoff.RoleAgent)
	alice, bob, sam := s.ticketStream(s.agentTok), s.ticketStream(bobTok), s.ticketStream(s.supervisTok)
	s.say("session-live-1", "质量太差了，我要投诉")
	tk := s.ticketOf("session-live-1")
	for _, ch := range []<-chan string{alice, bob, sam} {
		ev := nextEvent(t, ch, "ticket:")
		if !strings.Contains(ev, `"kind":"open"`) || !strings.Contains(ev, fmt.Sprintf(`"id":%d`, tk.ID)) {
			t.Fatalf("open event = %s", ev)
		}
	}
	if code := s.api(s.agentTok, "POST", fmt.Sprintf("/api/v1/tickets/%d/claim", tk.ID), nil, nil); code != 200 {
		t.Fatalf("claim: %d", code)
	}
	if ev := nextEvent(t, alice, "ticket:"); !strings.Contains(ev, `"kind":"claim"`) {
		t.Fatalf("alice got %s", ev)
	}
	if ev := nextEvent(t, sam, "ticket:"); !strings.Contains(ev, `"agent":"alice"`) {
		t.Fatalf("supervisor got %s", ev)
	}
	// Bob could see the ticket until Alice took it: he is told it is gone,
	// with nothing but its id.
	if ev := nextEvent(t, bob, "gone:"); ev != fmt.Sprintf(`gone:{"kind":"gone","ticket":{"id":%d}}`, tk.ID) {
		t.Fatalf("bob got %s", ev)
	}
	// A customer message in the claimed conversation reaches its agent.
	s.say("session-live-1", "还要等多久？")
	if ev := nextEvent(t, alice, "ticket:"); !strings.Contains(ev, `"kind":"message"`) {
		t.Fatalf("alice got %s", ev)
	}
}

func TestTwoAgentsClaimingAtOnceExactlyOneWins(t *testing.T) {
	s := startCareServer(t)
	bobTok := s.addAgent("bob", handoff.RoleAgent)
	for round := range 5 {
		session := fmt.Sprintf("session-claim-race-%d", round)
		s.say(session, "质量太差了，我要投诉")
		tk := s.ticketOf(session)
		codes := make([]int, 2)
		var wg sync.WaitGroup
		for i, tok := range []string{s.agentTok, bobTok} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				codes[i] = s.api(tok, "POST", fmt.Sprintf("/api/v1/tickets/%d/claim", tk.ID), nil, nil)
			}()
		}
		wg.Wait()
		if !(codes[0] == 200 && codes[1] == 409 || codes[0] == 409 && codes[1] == 200) {
			t.Fatalf("round %d: claim statuses %v, want one 200 and one 409", round, codes)
		}
		joined := 0
		for _, text := range s.delivered(session) {
			if strings.Contains(text, "接下来由我为您服务") {
				joined++
			}
		}
		s.waitDelivered(session, "接下来由我为您服务")
		if joined > 1 {
			t.Fatalf("round %d: the customer was told %d agents joined", round, joined)
		}
	}
}

func TestBroadcastToGroupsThroughTheOutbox(t *testing.T) {
	s := startCareServer(t)
	body := map[string]any{"channel": "webchat", "groups": []string{"group-room-a", "group-room-b"}, "text": "双十一积分翻倍！"}
	post := func(tok string, idem string) (int, map[string]any) {
		t.Helper()
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest("POST", s.base+"/api/v1/broadcasts", bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		if idem != "" {
			req.Header.Set("Idempotency-Key", idem)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	if code, _ := post(s.agentTok, ""); code != 403 {
		t.Fatalf("agent broadcast: %d, want 403", code)
	}
	code, out := post(s.supervisTok, "nov-11")
	if code != 202 || out["queued"].(float64) != 2 {
		t.Fatalf("broadcast: %d %v", code, out)
	}
	if code, again := post(s.supervisTok, "nov-11"); code != 202 || again["id"] != out["id"] {
		t.Fatalf("retried broadcast: %d %v (first %v)", code, again, out)
	}
	s.waitDelivered("group-room-a", "双十一积分翻倍")
	s.waitDelivered("group-room-b", "双十一积分翻倍")
	if n := len(s.delivered("group-room-a")); n != 1 {
		t.Fatalf("group a got %d messages, want 1", n)
	}
	// The list shows it once, with its delivery results.
	var list struct {
		Broadcasts []Announcement `json:"broadcasts"`
	}
	waitFor(t, func() bool {
		s.api(s.supervisTok, "GET", "/api/v1/broadcasts", nil, &list)
		return len(list.Broadcasts) == 1 && list.Broadcasts[0].Progress[StatusDelivered] == 2
	})
	if b := list.Broadcasts[0]; b.Kind != announceGroups || b.By != "sam" || b.Queued != 2 || len(b.Groups) != 2 || b.Progress[StatusPending] != 0 {
		t.Fatalf("broadcast record = %+v", b)
	}
	body["channel"] = "nowhere"
	if code, _ := post(s.supervisTok, ""); code != 400 {
		t.Fatalf("unknown channel: %d", code)
	}
}
