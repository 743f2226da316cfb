package bot

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/carebot/carebot/channels"
	"github.com/carebot/carebot/channels/webchat"
	"github.com/carebot/carebot/cron"
	"github.com/carebot/carebot/handoff"
	"github.com/carebot/carebot/loyalty"
	"github.com/carebot/carebot/store"
)

// member returns the loyalty member behind a web chat session.
func (s *careServer) member(session string) *loyalty.Member {
	s.t.Helper()
	var m *loyalty.Member
	if err := s.app.Store().View(func(tx store.Tx) error {
		var ok bool
		var err error
		m, ok, err = s.app.Loyalty().MemberByIdentity(tx, webchat.Name, session)
		if err == nil && !ok {
			err = fmt.Errorf("no member for %s", session)
		}
		return err
	}); err != nil {
		s.t.Fatal(err)
	}
	return m
}

func (s *careServer) credit(memberID, order string, amount float64) {
	s.t.Helper()
	if err := s.app.Store().Update(func(tx store.Tx) error {
		r, err := s.app.Loyalty().CreditOrder(tx, loyalty.Order{ID: order, Member: memberID, Amount: amount, Currency: "CNY", Category: "apparel"})
		if err != nil {
			return err
		}
		return s.app.notifyUpgrade(tx, r.Upgrade)
	}); err != nil {
		s.t.Fatal(err)
	}
	s.app.Outbox().Wake()
}

func TestLoyaltyInTheChat(t *testing.T) {
	s := startCareServer(t)
	const me = "session-loyal-1"

	// Joining asks for a name, a birthday and consent.
	if r := s.say(me, "注册会员"); !strings.Contains(texts(r), "怎么称呼") {
		t.Fatalf("join: %s", texts(r))
	}
	s.say(me, "王小明")
	if r := s.say(me, "1990-02-30"); !strings.Contains(texts(r), "没看懂") {
		t.Fatalf("impossible birthday: %s", texts(r))
	}
	r := s.say(me, "1990年5月12日")
	if len(r) != 1 || len(r[0].Buttons) != 2 {
		t.Fatalf("consent question: %+v", r)
	}
	if r := s.press(me, r[0].Buttons[0].Payload); !strings.Contains(texts(r), "注册成功") || !strings.Contains(texts(r), "王小明") || !strings.Contains(texts(r), "新人礼包") {
		t.Fatalf("joined: %s", texts(r))
	}
	m := s.member(me)
	if cs := s.coupons(m.ID); len(cs) != 1 || cs[0].Right != "welcome-20-over-99" {
		t.Fatalf("welcome gift: %+v", cs)
	}
	if !m.Joined || m.Name != "王小明" || m.Birthday != "1990-05-12" || !m.Consent {
		t.Fatalf("member after joining: %+v", m)
	}
	if r := s.say(me, "注册会员"); !strings.Contains(texts(r), m.ID) {
		t.Fatalf("joining twice: %s", texts(r))
	}

	// Check-in once a day.
	if r := s.say(me, "签到"); !strings.Contains(texts(r), "+10") {
		t.Fatalf("check-in: %s", texts(r))
	}
	if r := s.say(me, "签到"); !strings.Contains(texts(r), "已经签到") {
		t.Fatalf("second check-in: %s", texts(r))
	}

	// An order makes a silver member: congratulations arrive in the chat.
	s.credit(m.ID, "order-1001", 2100)
	s.waitDelivered(me, "银卡")
	if r := s.say(me, "积分"); !strings.Contains(texts(r), "2110") || !strings.Contains(texts(r), "银卡") {
		t.Fatalf("points: %s", texts(r))
	}

	// Rewards → redeem → confirm (twice: one coupon) → my coupons.
	r = s.say(me, "权益")
	if !strings.Contains(texts(r), "5元无门槛券") || len(r[0].Buttons) == 0 {
		t.Fatalf("rewards: %+v", r)
	}
	r = s.say(me, "兑换 cash-5")
	if len(r) != 1 || len(r[0].Buttons) != 2 || !strings.Contains(r[0].Text, "确认兑换吗") {
		t.Fatalf("redeem ask: %+v", r)
	}
	confirm := r[0].Buttons[0].Payload
	first := s.press(me, confirm)
	second := s.press(me, confirm)
	if !strings.Contains(texts(first), "兑换成功") || texts(first) != texts(second) {
		t.Fatalf("confirm twice: %s / %s", texts(first), texts(second))
	}
	cs := s.coupons(m.ID)
	if len(cs) != 2 {
		t.Fatalf("pressing confirm twice left %d coupons, want the welcome gift and one", len(cs))
	}
	if r := s.say(me, "我的券"); !strings.Contains(texts(r), cs[0].Code) || !strings.Contains(texts(r), cs[1].Code) {
		t.Fatalf("my coupons: %s", texts(r))
	}
	r = s.say(me, "兑换 free-shipping")
	if len(r[0].Buttons) != 2 {
		t.Fatalf("second redeem ask: %+v", r)
	}
	if r := s.press(me, r[0].Buttons[1].Payload); !strings.Contains(texts(r), "已取消") {
		t.Fatalf("cancel: %s", texts(r))
	}

	// English, and withdrawing consent.
	if r := s.sayIn(me, "unsubscribe", "en"); !strings.Contains(texts(r), "won't get care messages") {
		t.Fatalf("unsubscribe: %s", texts(r))
	}
	if s.member(me).Consent {
		t.Fatal("consent still on after unsubscribe")
	}

	// Another channel (a second web chat session stands in for it) links
	// with a one-time code and shares the points.
	r = s.say(me, "绑定")
	code := ""
	for _, f := range strings.Fields(strings.NewReplacer("，", " ", "「", " ", "」", " ").Replace(r[0].Text)) {
		if len(f) == 6 && strings.Trim(f, "0123456789") == "" {
			code = f
		}
	}
	if code == "" {
		t.Fatalf("no link code in %q", r[0].Text)
	}
	const other = "session-loyal-2"
	if r := s.say(other, "绑定 "+code); !strings.Contains(texts(r), m.ID) {
		t.Fatalf("link: %s", texts(r))
	}
	if got := s.member(other); got.ID != m.ID {
		t.Fatalf("linked session belongs to %s, want %s", got.ID, m.ID)
	}
	if r := s.say("session-loyal-3", "绑定 "+code); !strings.Contains(texts(r), "没有成功") {
		t.Fatalf("link code used twice: %s", texts(r))
	}
}

func (s *careServer) coupons(member string) []loyalty.Coupon {
	s.t.Helper()
	var cs []loyalty.Coupon
	if err := s.app.Store().View(func(tx store.Tx) error {
		var err error
		cs, err = s.app.Loyalty().Coupons(tx, member)
		return err
	}); err != nil {
		s.t.Fatal(err)
	}
	return cs
}

func (s *careServer) sayIn(session, text, locale string) []chatReply {
	s.t.Helper()
	return s.server.ask(session, "", text, locale)
}

func TestMildComplaintGetsTheCompensationCoupon(t *testing.T) {
	s := startCareServer(t)
	r := s.say("session-sorry-1", "发货有点慢")
	if !strings.Contains(texts(r), "10元补偿券") {
		t.Fatalf("mild replies: %s", texts(r))
	}
	tk := s.ticketOf("session-sorry-1")
	m := s.member("session-sorry-1")
	cs := s.coupons(m.ID)
	if len(cs) != 1 || cs[0].Ticket != tk.ID || cs[0].Right != "sorry-10" || !strings.Contains(texts(r), cs[0].Code) {
		t.Fatalf("coupons %+v for ticket %d", cs, tk.ID)
	}
	if !strings.Contains(tk.Intervention, cs[0].Code) {
		t.Errorf("ticket intervention %q does not name the coupon", tk.Intervention)
	}
	// An agent gives one more from the console, free of points.
	if code := s.api(s.agentTok, "POST", fmt.Sprintf("/api/v1/tickets/%d/compensate", tk.ID), map[string]string{"right": "cash-5"}, nil); code != 200 {
		t.Fatalf("compensate: %d", code)
	}
	if cs := s.coupons(m.ID); len(cs) != 2 {
		t.Fatalf("after the agent's grant: %d coupons", len(cs))
	}
	s.waitDelivered("session-sorry-1", "5元无门槛券")
	if code := s.api(s.agentTok, "POST", fmt.Sprintf("/api/v1/tickets/%d/compensate", tk.ID), map[string]string{"right": "no-such"}, nil); code != 400 {
		t.Fatalf("unknown right: %d, want 400", code)
	}
	var view TicketView
	s.api(s.agentTok, "GET", fmt.Sprintf("/api/v1/tickets/%d", tk.ID), nil, &view)
	if len(view.Compensations) == 0 || view.Ticket.Member != m.ID {
		t.Fatalf("ticket view: compensations %v, member %q", view.Compensations, view.Ticket.Member)
	}
	var b loyalty.Balance
	s.app.Store().View(func(tx store.Tx) error { b, _ = s.app.Loyalty().Balance(tx, m.ID); return nil })
	if b.Points != 0 {
		t.Errorf("compensation cost points: balance %d", b.Points)
	}
}

func TestPointsAreNeverShownInAGroup(t *testing.T) {
	s := startCareServer(t)
	ev := channels.Event{Channel: webchat.Name, ID: "grp-1", ChatID: "group-room-1", UserID: "session-grp-user", Text: "积分", Group: true}
	res, err := s.app.Engine().Dispatch(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.OutboxIDs) != 2 {
		t.Fatalf("queued %d messages, want a note in the group and the points in private", len(res.OutboxIDs))
	}
	s.waitDelivered("group-room-1", "私信")
	s.waitDelivered("session-grp-user", "积分")
	for _, text := range s.delivered("group-room-1") {
		if strings.Contains(text, "可用积分") {
			t.Fatalf("points shown in the group: %q", text)
		}
	}
}

func TestVIPTicketsWaitLess(t *testing.T) {
	s := startCareServer(t)
	s.say("session-vip-1", "你好")
	s.credit(s.member("session-vip-1").ID, "order-vip", 9000) // gold
	s.say("session-plain-1", "你好")
	s.clock.Add(time.Second)
	s.say("session-plain-1", "质量太差了，我要投诉")
	s.say("session-vip-1", "发货有点慢") // mild, but gold is VIP: moderate
	vip, plain := s.ticketOf("session-vip-1"), s.ticketOf("session-plain-1")
	if !vip.VIP || vip.Tier != "moderate" || vip.MemberTier != "gold" || vip.Priority <= plain.Priority {
		t.Fatalf("vip ticket %+v vs plain %+v", vip, plain)
	}
	var list struct{ Tickets []handoff.Ticket }
	s.api(s.supervisTok, "GET", "/api/v1/tickets", nil, &list)
	if len(list.Tickets) != 2 {
		t.Fatalf("queue: %+v", list.Tickets)
	}
}

func TestLoyaltyJobsExpireAndReviewOnSchedule(t *testing.T) {
	s := startCareServer(t)
	ctx := context.Background()
	// The scheduler knows the loyalty jobs (and care's); a first start
	// only records a baseline.
	waitFor(t, func() bool {
		st, err := s.app.Scheduler().List()
		if err != nil || !s.app.Scheduler().Has(jobPointsExpiry) || !s.app.Scheduler().Has(jobTierReview) {
			return false
		}
		for _, j := range st {
			if j.Next.IsZero() || j.Last.IsZero() {
				return false
			}
		}
		return true
	})
	s.say("session-year-1", "你好")
	m := s.member("session-year-1")
	s.credit(m.ID, "order-year-1", 9000) // gold
	run := func(job string) cron.Result {
		t.Helper()
		res, err := s.app.Scheduler().RunNow(ctx, job, s.clock.Now())
		if err != nil {
			t.Fatalf("%s: %v", job, err)
		}
		return res
	}
	// Next January: the purchase points of the last 12 months keep gold (保级).
	s.clock.Add(40 * 24 * time.Hour)
	if res := run(jobTierReview); res.Queued != 0 || s.member("session-year-1").Tier != "gold" {
		t.Fatalf("January review: %+v, tier %s", res, s.member("session-year-1").Tier)
	}
	// A year after the order its points expire.
	s.clock.Add(330 * 24 * time.Hour)
	if res := run(jobPointsExpiry); !strings.HasPrefix(res.Note, "1 expire entries") {
		t.Fatalf("expiry: %+v", res)
	}
	if res := run(jobPointsExpiry); !strings.HasPrefix(res.Note, "0 expire entries") {
		t.Fatalf("expiry ran twice: %+v", res)
	}
	var b loyalty.Balance
	s.app.Store().View(func(tx store.Tx) error { b, _ = s.app.Loyalty().Balance(tx, m.ID); return nil })
	if b.Points != 0 {
		t.Fatalf("balance after expiry: %d", b.Points)
	}
	// The January after, with no purchases for a year: one tier down, once.
	s.clock.Add(40 * 24 * time.Hour)
	if res := run(jobTierReview); res.Queued != 1 || s.member("session-year-1").Tier != "silver" {
		t.Fatalf("second review: %+v, tier %s", res, s.member("session-year-1").Tier)
	}
	if res := run(jobTierReview); res.Queued != 0 || s.member("session-year-1").Tier != "silver" {
		t.Fatalf("the review ran twice in one year: %+v", res)
	}
}
