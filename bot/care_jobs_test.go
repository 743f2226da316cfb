package bot

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/carebot/carebot/channels/webchat"
	"github.com/carebot/carebot/configs"
	"github.com/carebot/carebot/cron"
	"github.com/carebot/carebot/handoff"
	"github.com/carebot/carebot/loyalty"
	"github.com/carebot/carebot/outreach"
	"github.com/carebot/carebot/store"
)

var cst = time.FixedZone("CST", 8*3600)

// Set moves the clock to t.
func (c *fakeClock) Set(t time.Time) { c.mu.Lock(); c.now = t; c.mu.Unlock() }

// joinMember makes a customer of the web chat session a member with the
// given birthday and consent, as 注册会员 would.
func (s *careServer) joinMember(session, name, birthday string, consent bool) *loyalty.Member {
	s.t.Helper()
	s.say(session, "你好")
	m := s.member(session)
	if err := s.app.Store().Update(func(tx store.Tx) error {
		_, err := s.app.Loyalty().Join(tx, m.ID, name, birthday, consent)
		return err
	}); err != nil {
		s.t.Fatal(err)
	}
	return s.member(session)
}

// runJob runs a scheduled job as if at, collecting its plan.
func (s *careServer) runJob(name string, at time.Time) (cron.Result, []cron.Planned) {
	s.t.Helper()
	var plan []cron.Planned
	res, err := s.app.Scheduler().RunWith(context.Background(), name, cron.Run{At: at, Plan: func(p cron.Planned) { plan = append(plan, p) }})
	if err != nil {
		s.t.Fatalf("%s: %v", name, err)
	}
	return res, plan
}

// count is how many delivered messages of session contain want.
func (s *careServer) count(session, want string) int {
	n := 0
	for _, text := range s.delivered(session) {
		if strings.Contains(text, want) {
			n++
		}
	}
	return n
}

// skipped returns "member:reason" for the plan's passed-over members.
func skipped(plan []cron.Planned) []string {
	var out []string
	for _, p := range plan {
		if p.Skipped != "" {
			out = append(out, p.Member+":"+p.Skipped)
		}
	}
	return out
}

func TestBirthdayGreetingOnceWithACouponAndOnlyWithConsent(t *testing.T) {
	s := startCareServer(t)
	s.clock.Set(time.Date(2026, 11, 23, 8, 0, 0, 0, cst))
	a := s.joinMember("session-bday-a", "小美", "1990-11-23", true)
	b := s.joinMember("session-bday-b", "小王", "1991-11-23", false) // no consent
	s.joinMember("session-bday-c", "小李", "1990-11-24", true)       // tomorrow
	s.clock.Set(time.Date(2026, 11, 23, 9, 0, 0, 0, cst))
	at := s.clock.Now()

	res, plan := s.runJob(jobBirthday, at)
	if res.Queued != 1 || res.Skipped != 1 {
		t.Fatalf("birthday run = %+v, plan %+v", res, plan)
	}
	if got := skipped(plan); len(got) != 1 || got[0] != b.ID+":"+skipConsent {
		t.Fatalf("skipped = %v", got)
	}
	s.waitDelivered("session-bday-a", "生日快乐")
	cs := s.coupons(a.ID)
	if len(cs) != 1 || cs[0].Right != "birthday-10" {
		t.Fatalf("coupons of %s: %+v", a.ID, cs)
	}
	var greeting string
	for _, text := range s.delivered("session-bday-a") {
		if strings.Contains(text, "生日快乐") {
			greeting = text
		}
	}
	for _, want := range []string{"小美", "普通", cs[0].Code, "退订"} {
		if !strings.Contains(greeting, want) {
			t.Errorf("greeting %q lacks %q", greeting, want)
		}
	}
	// A second run for the same day (another process, a manual run) sends
	// nothing and grants nothing.
	res, plan = s.runJob(jobBirthday, at.Add(time.Hour))
	if res.Queued != 0 || len(skipped(plan)) != 2 {
		t.Fatalf("second run = %+v, skipped %v", res, skipped(plan))
	}
	time.Sleep(60 * time.Millisecond)
	if n := s.count("session-bday-a", "生日快乐"); n != 1 {
		t.Fatalf("%d greetings", n)
	}
	if n := len(s.coupons(a.ID)); n != 1 {
		t.Fatalf("%d coupons after the second run", n)
	}
	if n := s.count("session-bday-b", "生日快乐") + s.count("session-bday-c", "生日快乐"); n != 0 {
		t.Fatalf("greetings for members without consent or birthday: %d", n)
	}
	// A dry run for tomorrow shows who would be greeted, and changes nothing.
	var dry []cron.Planned
	tomorrow := at.Add(24 * time.Hour)
	res, err := s.app.Scheduler().RunWith(context.Background(), jobBirthday, cron.Run{At: tomorrow, DryRun: true, Plan: func(p cron.Planned) { dry = append(dry, p) }})
	if err != nil || res.Queued != 1 || len(dry) != 1 || !strings.Contains(dry[0].Text, "小李") {
		t.Fatalf("dry run = %+v %v, plan %+v", res, err, dry)
	}
	res, _ = s.runJob(jobBirthday, tomorrow)
	if res.Queued != 1 {
		t.Fatalf("the dry run left a trace: the real run queued %d", res.Queued)
	}
}

func TestLeapDayBirthdayIsGreetedOn28FebruaryInCommonYears(t *testing.T) {
	s := startCareServer(t)
	s.clock.Set(time.Date(2027, 2, 27, 12, 0, 0, 0, cst))
	s.joinMember("session-leap", "闰闰", "2000-02-29", true)
	s.clock.Set(time.Date(2027, 2, 28, 9, 0, 0, 0, cst))
	if res, _ := s.runJob(jobBirthday, s.clock.Now()); res.Queued != 1 {
		t.Fatalf("28 Feb 2027: %+v", res)
	}
	s.clock.Set(time.Date(2027, 3, 1, 9, 0, 0, 0, cst))
	if res, _ := s.runJob(jobBirthday, s.clock.Now()); res.Queued != 0 {
		t.Fatalf("1 Mar 2027: %+v", res)
	}
}

func TestBirthdayRunInterruptedByARestartIsFinishedByTheCatchUp(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t, dir)
	clock := &fakeClock{now: time.Date(2026, 11, 23, 8, 0, 0, 0, cst)}
	srv := startServer(t, cfg, WithClock(clock.Now))
	s := &careServer{server: srv, clock: clock}
	// The first start records a baseline (08:00) for every job.
	waitFor(t, func() bool {
		list, err := s.app.Scheduler().List()
		return err == nil && len(list) > 0 && !list[0].Last.IsZero()
	})
	s.joinMember("session-crash-a", "阿一", "1990-11-23", true)
	s.joinMember("session-crash-b", "阿二", "1990-11-23", true)

	// 09:00: the job greets the first member, then the process dies before
	// the second batch (and before the run is recorded).
	clock.Set(time.Date(2026, 11, 23, 9, 0, 0, 0, cst))
	s.app.careJobs.batch = 1
	ctx, cancel := context.WithCancel(context.Background())
	_, err := s.app.careJobs.birthday(ctx, cron.Run{At: clock.Now(), Plan: func(cron.Planned) { cancel() }})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted run: %v", err)
	}
	srv.stop()

	// 09:40: restarted, the scheduler sees the missed 09:00 run and does it.
	clock.Set(time.Date(2026, 11, 23, 9, 40, 0, 0, cst))
	s.server = startServer(t, cfg, WithClock(clock.Now))
	waitFor(t, func() bool {
		list, _ := s.app.Scheduler().List()
		for _, j := range list {
			if j.Name == jobBirthday {
				return j.LastAt.Equal(time.Date(2026, 11, 23, 9, 0, 0, 0, cst))
			}
		}
		return false
	})
	s.waitDelivered("session-crash-b", "生日快乐")
	s.waitDelivered("session-crash-a", "生日快乐")
	time.Sleep(60 * time.Millisecond)
	for _, session := range []string{"session-crash-a", "session-crash-b"} {
		if n := s.count(session, "生日快乐"); n != 1 {
			t.Fatalf("%s got %d greetings", session, n)
		}
		if n := len(s.coupons(s.member(session).ID)); n != 1 {
			t.Fatalf("%s got %d coupons", session, n)
		}
	}
}

func TestQuietHoursDeferCareMessagesInTheMembersZone(t *testing.T) {
	s := startCareServer(t)
	s.clock.Set(time.Date(2026, 11, 23, 8, 0, 0, 0, cst))
	s.joinMember("session-quiet-sh", "上海", "1990-11-23", true)
	bkk := s.joinMember("session-quiet-bkk", "曼谷", "1990-11-23", true)
	// The shop tells carebot where the member lives.
	if code := s.api(s.app.admin, "PUT", "/api/v1/members/"+bkk.ID+"/zone", map[string]string{"zone": "Asia/Bangkok"}, nil); code != 200 {
		t.Fatalf("set zone: %d", code)
	}
	if code := s.api(s.app.admin, "PUT", "/api/v1/members/"+bkk.ID+"/zone", map[string]string{"zone": "Mars/Olympus"}, nil); code != 400 {
		t.Fatalf("unknown zone: %d, want 400", code)
	}
	if code := s.api(s.app.admin, "PUT", "/api/v1/members/nobody/zone", map[string]string{"zone": "Asia/Tokyo"}, nil); code != 404 {
		t.Fatalf("unknown member: %d, want 404", code)
	}
	if got := s.member("session-quiet-bkk").Zone; got != "Asia/Bangkok" {
		t.Fatalf("zone = %q", got)
	}
	// 09:00 in Shanghai is 08:00 in Bangkok: quiet there until 09:00 local.
	s.clock.Set(time.Date(2026, 11, 23, 9, 0, 0, 0, cst))
	_, plan := s.runJob(jobBirthday, s.clock.Now())
	due := map[string]time.Time{}
	for _, p := range plan {
		due[p.ChatID] = p.SendAt
	}
	if !due["session-quiet-sh"].Equal(time.Date(2026, 11, 23, 9, 0, 0, 0, cst)) || !due["session-quiet-bkk"].Equal(time.Date(2026, 11, 23, 10, 0, 0, 0, cst)) {
		t.Fatalf("send times = %v", due)
	}
	s.waitDelivered("session-quiet-sh", "生日快乐")
	time.Sleep(60 * time.Millisecond)
	if n := s.count("session-quiet-bkk", "生日快乐"); n != 0 {
		t.Fatal("delivered during the member's quiet hours")
	}
	s.clock.Set(time.Date(2026, 11, 23, 10, 0, 1, 0, cst))
	s.waitDelivered("session-quiet-bkk", "生日快乐")

	// A run late in the evening (a catch-up after downtime) waits for the
	// morning instead of being dropped.
	s.clock.Set(time.Date(2026, 11, 24, 7, 0, 0, 0, cst))
	s.joinMember("session-quiet-late", "晚来", "1990-11-24", true)
	s.clock.Set(time.Date(2026, 11, 24, 22, 30, 0, 0, cst))
	_, plan = s.runJob(jobBirthday, s.clock.Now())
	if len(plan) != 1 || !plan[0].SendAt.Equal(time.Date(2026, 11, 25, 9, 0, 0, 0, cst)) {
		t.Fatalf("late run plan = %+v", plan)
	}
	s.app.Outbox().Wake()
	time.Sleep(60 * time.Millisecond)
	if n := s.count("session-quiet-late", "生日快乐"); n != 0 {
		t.Fatal("delivered at 22:30")
	}
	s.clock.Set(time.Date(2026, 11, 25, 9, 0, 1, 0, cst))
	s.waitDelivered("session-quiet-late", "生日快乐")
}

func TestFrequencyCapHoldsAndABirthdayOutranksARecall(t *testing.T) {
	s := startCareServer(t)
	start := time.Date(2026, 9, 1, 12, 0, 0, 0, cst)
	s.clock.Set(start)
	// Both go quiet on 1 September; one has a birthday on 3 November.
	soon := s.joinMember("session-cap-bday", "生日近", "1990-11-03", true)
	other := s.joinMember("session-cap-other", "普通人", "1990-05-05", true)

	// 61 days later both are dormant. The first has a birthday in two
	// days: the recall offer would leave no room for it under the cap
	// once a survey went out this week, so the recall waits.
	day61 := start.Add(61 * 24 * time.Hour).Truncate(time.Hour)
	day61 = time.Date(day61.Year(), day61.Month(), day61.Day(), 10, 0, 0, 0, cst)
	s.clock.Set(day61)
	if err := s.app.Store().Update(func(tx store.Tx) error {
		for _, id := range []string{soon.ID, other.ID} {
			if err := outreach.Record(tx, outreach.Send{Member: id, Kind: outreach.KindNPS, Key: "test:" + id, At: day61.Add(-24 * time.Hour)}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	res, plan := s.runJob(jobRecall, day61)
	if res.Queued != 1 || len(skipped(plan)) != 1 || skipped(plan)[0] != soon.ID+":"+skipCap {
		t.Fatalf("recall = %+v, skipped %v", res, skipped(plan))
	}
	// The other member has now had two care messages this week: a third
	// kind (an expiry notice, a survey) is refused by the cap.
	if err := s.app.Store().View(func(tx store.Tx) error {
		ok, err := s.app.careJobs.rules.Allow(tx, other.ID, day61, 0)
		if err == nil && ok {
			err = errors.New("a third message in 7 days was allowed")
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	// On 3 November the birthday greeting goes out.
	bday := time.Date(2026, 11, 3, 9, 0, 0, 0, cst)
	s.clock.Set(bday)
	if res, _ := s.runJob(jobBirthday, bday); res.Queued != 1 {
		t.Fatalf("birthday = %+v", res)
	}
	s.waitDelivered("session-cap-bday", "生日快乐")
	// The recall for the first member comes once the cap has room again.
	later := bday.Add(8*24*time.Hour + time.Hour)
	s.clock.Set(later)
	if res, plan := s.runJob(jobRecall, later); res.Queued != 1 || plan[0].Member != soon.ID && plan[len(plan)-1].Member != soon.ID {
		t.Fatalf("recall after the birthday = %+v, plan %+v", res, plan)
	}
}

func TestUnsubscribeStopsEveryCareJobAtOnce(t *testing.T) {
	s := startCareServer(t, func(c *configs.Config) { c.Care.NPS.Sample = 1 })
	s.clock.Set(time.Date(2026, 11, 22, 12, 0, 0, 0, cst))
	s.joinMember("session-unsub", "不打扰", "1990-11-23", true)
	if r := s.say("session-unsub", "退订"); !strings.Contains(texts(r), "退订") {
		t.Fatalf("unsubscribe reply: %s", texts(r))
	}
	s.clock.Set(time.Date(2026, 11, 23, 9, 0, 0, 0, cst))
	for _, job := range []string{jobBirthday, jobNPS} {
		res, plan := s.runJob(job, s.clock.Now())
		if res.Queued != 0 || len(plan) == 0 || plan[0].Skipped != skipConsent {
			t.Fatalf("%s after 退订: %+v, plan %+v", job, res, plan)
		}
	}
}

func TestRecallFirstOfferThenSecondThenComingBackResets(t *testing.T) {
	s := startCareServer(t)
	day0 := time.Date(2026, 6, 1, 10, 0, 0, 0, cst)
	s.clock.Set(day0)
	m := s.joinMember("session-recall", "老顾客", "", true)
	s.credit(m.ID, "recall-order-1", 120) // apparel: the favourite category
	at := func(days int) time.Time {
		t := day0.AddDate(0, 0, days)
		s.clock.Set(t)
		return t
	}
	run := func(days int) cron.Result {
		t.Helper()
		res, _ := s.runJob(jobRecall, at(days))
		return res
	}
	if res := run(59); res.Queued != 0 {
		t.Fatalf("day 59: %+v", res)
	}
	if res := run(60); res.Queued != 1 {
		t.Fatalf("day 60: %+v", res)
	}
	s.waitDelivered("session-recall", "好久不见")
	first := s.delivered("session-recall")
	if text := first[len(first)-1]; !strings.Contains(text, "服饰") || !strings.Contains(text, "回归礼 满59减10") {
		t.Fatalf("first offer %q lacks the category or the coupon", text)
	}
	if res := run(61); res.Queued != 0 {
		t.Fatalf("day 61: the first offer again: %+v", res)
	}
	if res := run(89); res.Queued != 0 {
		t.Fatalf("day 89: %+v", res)
	}
	if res := run(90); res.Queued != 1 {
		t.Fatalf("day 90: %+v", res)
	}
	s.waitDelivered("session-recall", "满99减30")
	if res := run(100); res.Queued != 0 {
		t.Fatalf("day 100: a third offer: %+v", res)
	}
	// The member comes back (a chat); a new quiet spell is a new episode.
	at(101)
	s.say("session-recall", "你好")
	if res := run(150); res.Queued != 0 {
		t.Fatalf("day 150 (49 days after coming back): %+v", res)
	}
	if res := run(161); res.Queued != 1 {
		t.Fatalf("day 161 (60 days after coming back): %+v", res)
	}
	var rights []string
	for _, c := range s.coupons(m.ID) {
		rights = append(rights, c.Right)
	}
	if strings.Join(rights, ",") != "recall-10,recall-30,recall-10" {
		t.Fatalf("coupons = %v", rights)
	}
}

// buttonPayload finds a delivered button of session whose payload starts
// with prefix and ends with suffix.
func (s *careServer) buttonPayload(session, prefix, suffix string) string {
	s.t.Helper()
	msgs, err := webJournal{s.app.Store()}.Recent(session, 100)
	if err != nil {
		s.t.Fatal(err)
	}
	for _, m := range msgs {
		for _, b := range m.Buttons {
			if strings.HasPrefix(b.Payload, prefix) && strings.HasSuffix(b.Payload, suffix) {
				return b.Payload
			}
		}
	}
	s.t.Fatalf("%s has no button %s…%s", session, prefix, suffix)
	return ""
}

func TestNPSSurveyRoundTrip(t *testing.T) {
	s := startCareServer(t, func(c *configs.Config) { c.Care.NPS.Sample = 1 })
	s.clock.Set(time.Date(2026, 10, 1, 10, 0, 0, 0, cst))
	happy := s.joinMember("session-nps-happy", "开心", "", true)
	s.joinMember("session-nps-sad", "难过", "", true)
	at := time.Date(2026, 10, 1, 11, 0, 0, 0, cst)
	s.clock.Set(at)
	if res, _ := s.runJob(jobNPS, at); res.Queued != 2 {
		t.Fatalf("nps = %+v", res)
	}
	s.waitDelivered("session-nps-happy", "推荐给朋友")
	s.waitDelivered("session-nps-sad", "推荐给朋友")

	before := s.member("session-nps-happy").Points
	r := s.press("session-nps-happy", s.buttonPayload("session-nps-happy", "nps:2026Q4:", ":10"))
	if !strings.Contains(texts(r), "谢谢您的评分") || !strings.Contains(texts(r), "积分已到账") {
		t.Fatalf("promoter reply: %s", texts(r))
	}
	if got := s.member("session-nps-happy").Points; got <= before {
		t.Fatalf("no survey points: %d → %d", before, got)
	}
	// Pressing again changes nothing but the stored score; no more points.
	pts := s.member("session-nps-happy").Points
	s.press("session-nps-happy", s.buttonPayload("session-nps-happy", "nps:2026Q4:", ":10"))
	if s.member("session-nps-happy").Points != pts {
		t.Fatal("points credited twice for one survey")
	}
	// A detractor gets an apology and a mild follow-up ticket.
	r = s.press("session-nps-sad", s.buttonPayload("session-nps-sad", "nps:2026Q4:", ":3"))
	if !strings.Contains(texts(r), "抱歉") {
		t.Fatalf("detractor reply: %s", texts(r))
	}
	tk := s.ticketOf("session-nps-sad")
	if tk.Tier != "mild" || tk.Reason != handoff.ReasonSurvey || !strings.Contains(tk.Trigger, "NPS 3") || tk.Silenced {
		t.Fatalf("follow-up ticket = %+v", tk)
	}
	// A forged answer to a survey never sent is not counted.
	if r := s.press("session-nps-happy", "nps:2026Q3:0"); strings.Contains(texts(r), "谢谢") {
		t.Fatalf("forged answer accepted: %s", texts(r))
	}
	var n outreach.NPS
	if code := s.api(s.supervisTok, "GET", "/api/v1/surveys/nps/2026Q4", nil, &n); code != 200 {
		t.Fatalf("nps api: %d", code)
	}
	if n.Responses != 2 || n.Promoters != 1 || n.Detractors != 1 || n.Score != 0 {
		t.Fatalf("NPS 2026Q4 = %+v", n)
	}
	if code := s.api(s.supervisTok, "GET", "/api/v1/surveys/nps/2026Q3", nil, &n); code != 200 || n.Responses != 0 {
		t.Fatalf("NPS 2026Q3 = %d %+v", code, n)
	}
	if code := s.api(s.agentTok, "GET", "/api/v1/surveys/nps/2026Q4", nil, nil); code != 403 {
		t.Fatalf("an agent read the NPS: %d", code)
	}
	_ = happy
}

func TestNewMemberIsAskedOnDayThreeAndHelpBringsAPerson(t *testing.T) {
	s := startCareServer(t)
	s.clock.Set(time.Date(2026, 11, 20, 15, 0, 0, 0, cst))
	s.joinMember("session-newbie", "新人", "", true)
	s.joinMember("session-newbie-ok", "顺利", "", true)
	at := time.Date(2026, 11, 22, 10, 0, 0, 0, cst)
	s.clock.Set(at)
	if res, _ := s.runJob(jobNewMember, at); res.Queued != 0 {
		t.Fatalf("day 2: %+v", res)
	}
	at = time.Date(2026, 11, 23, 10, 0, 0, 0, cst)
	s.clock.Set(at)
	if res, _ := s.runJob(jobNewMember, at); res.Queued != 2 {
		t.Fatalf("day 3: %+v", res)
	}
	s.waitDelivered("session-newbie", "3 天")
	r := s.press("session-newbie", s.buttonPayload("session-newbie", "welcome:2026-11-20:", ":help"))
	if !strings.Contains(texts(r), "客服同事") {
		t.Fatalf("help reply: %s", texts(r))
	}
	if tk := s.ticketOf("session-newbie"); tk.Reason != handoff.ReasonSurvey || tk.Status != handoff.StatusOpen {
		t.Fatalf("ticket = %+v", tk)
	}
	s.waitDelivered("session-newbie-ok", "3 天")
	if r := s.press("session-newbie-ok", s.buttonPayload("session-newbie-ok", "welcome:2026-11-20:", ":good")); !strings.Contains(texts(r), "太好了") {
		t.Fatalf("good reply: %s", texts(r))
	}
}

func TestLowCSATOpensAFollowUpTicket(t *testing.T) {
	s := startCareServer(t)
	s.clock.Set(time.Date(2026, 11, 23, 11, 0, 0, 0, cst))
	s.say("session-csat-low", "质量太差了，我要投诉")
	tk := s.ticketOf("session-csat-low")
	if code := s.api(s.agentTok, "POST", fmt.Sprintf("/api/v1/tickets/%d/claim", tk.ID), nil, nil); code != 200 {
		t.Fatalf("claim: %d", code)
	}
	if code := s.api(s.agentTok, "POST", fmt.Sprintf("/api/v1/tickets/%d/resolve", tk.ID), map[string]string{"cause": "质量问题"}, nil); code != 200 {
		t.Fatalf("resolve: %d", code)
	}
	s.clock.Add(time.Hour)
	s.waitDelivered("session-csat-low", "打个分")
	r := s.press("session-csat-low", s.buttonPayload("session-csat-low", "csat:", ":1"))
	if !strings.Contains(texts(r), "抱歉") {
		t.Fatalf("low csat reply: %s", texts(r))
	}
	next := s.ticketOf("session-csat-low")
	if next.ID == tk.ID || next.Reason != handoff.ReasonSurvey || !strings.Contains(next.Trigger, "CSAT 1/5") {
		t.Fatalf("follow-up ticket = %+v (first %d)", next, tk.ID)
	}
	var c outreach.CSAT
	from := time.Date(2026, 11, 23, 0, 0, 0, 0, cst).Format(time.RFC3339)
	if code := s.api(s.supervisTok, "GET", "/api/v1/surveys/csat?from="+url.QueryEscape(from), nil, &c); code != 200 || c.Responses != 1 || c.Average != 1 {
		t.Fatalf("csat api: %d %+v", code, c)
	}
}

func TestExpiryNoticeOncePerExpiryDate(t *testing.T) {
	s := startCareServer(t)
	s.clock.Set(time.Date(2025, 12, 1, 10, 0, 0, 0, cst))
	m := s.joinMember("session-expiry", "积分多", "", true)
	s.credit(m.ID, "expiry-order", 500)
	// Lots last loyalty.lot_months; 25 days before the end the notice goes.
	var lotEnd time.Time
	if err := s.app.Store().View(func(tx store.Tx) error {
		return s.app.Loyalty().ExpiringWithin(tx, 3*365*24*time.Hour, func(_ *loyalty.Member, _ int64, by time.Time) error {
			lotEnd = by
			return nil
		})
	}); err != nil || lotEnd.IsZero() {
		t.Fatalf("lot end: %v %v", lotEnd, err)
	}
	at := lotEnd.Add(-25 * 24 * time.Hour)
	at = time.Date(at.Year(), at.Month(), at.Day(), 2, 0, 0, 0, cst)
	s.clock.Set(at)
	res, plan := s.runJob(jobPointsExpiry, at)
	if res.Queued != 1 || !plan[0].SendAt.Equal(time.Date(at.Year(), at.Month(), at.Day(), 9, 0, 0, 0, cst)) {
		t.Fatalf("expiry notices = %+v, plan %+v", res, plan)
	}
	s.clock.Set(at.Add(24 * time.Hour))
	if res, _ := s.runJob(jobPointsExpiry, at.Add(24*time.Hour)); res.Queued != 0 {
		t.Fatalf("second notice for the same lot: %+v", res)
	}
	s.waitDelivered("session-expiry", "积分将于")
}

func TestWeeklyReportGoesToTheStaffAndTheConsole(t *testing.T) {
	s := startCareServer(t)
	s.clock.Set(time.Date(2026, 11, 17, 11, 0, 0, 0, cst)) // Tuesday of week 47
	s.say("session-week-1", "退款多久能到账")
	s.say("session-week-2", "质量太差了，我要投诉")
	monday := time.Date(2026, 11, 23, 9, 0, 0, 0, cst)
	s.clock.Set(monday)
	res, _ := s.runJob(jobWeekly, monday)
	if res.Queued != 1 {
		t.Fatalf("weekly = %+v", res)
	}
	s.waitDelivered("staff-room", "客服周报")
	var out struct {
		Reports []WeeklyReport `json:"reports"`
	}
	if code := s.api(s.supervisTok, "GET", "/api/v1/reports/weekly", nil, &out); code != 200 || len(out.Reports) != 1 {
		t.Fatalf("reports api: %d %+v", code, out)
	}
	rep := out.Reports[0]
	if rep.Week != "2026-W47" || rep.Tickets.Opened != 1 || rep.FAQ.Answered < 1 || rep.FAQ.Rate <= 0 {
		t.Fatalf("report = %+v", rep)
	}
	if res, _ := s.runJob(jobWeekly, monday.Add(time.Hour)); res.Queued != 0 {
		t.Fatalf("the report went to the staff twice: %+v", res)
	}
	if code := s.api(s.agentTok, "GET", "/api/v1/reports/weekly", nil, nil); code != 403 {
		t.Fatalf("an agent read the weekly report: %d", code)
	}
}

func TestFollowUpReportCountsTheComplaintFollowUps(t *testing.T) {
	s := startCareServer(t)
	s.clock.Set(time.Date(2026, 11, 23, 11, 0, 0, 0, cst))
	s.say("session-fu-1", "再不给我处理，我就去12315投诉，还要发微博曝光你们！")
	tk := s.ticketOf("session-fu-1")
	if tk.Tier != "severe" {
		t.Fatalf("ticket tier %s", tk.Tier)
	}
	if code := s.api(s.supervisTok, "POST", fmt.Sprintf("/api/v1/tickets/%d/resolve", tk.ID), map[string]string{"cause": "售后复杂"}, nil); code != 200 {
		t.Fatalf("resolve: %d", code)
	}
	at := time.Date(2026, 11, 24, 8, 0, 0, 0, cst)
	s.clock.Set(at)
	res, _ := s.runJob(jobFollowUps, at)
	if !strings.Contains(res.Note, "0 delivered in the last day, 1 due in the next, 0 failed") {
		t.Fatalf("follow-up report = %+v", res)
	}
	s.clock.Set(at.Add(24 * time.Hour))
	s.waitDelivered("session-fu-1", "回访")
	res, _ = s.runJob(jobFollowUps, at.Add(24*time.Hour))
	if !strings.Contains(res.Note, "1 delivered in the last day") {
		t.Fatalf("follow-up report a day later = %+v", res)
	}
}

func TestCronAPIListsAndRunsJobs(t *testing.T) {
	s := startCareServer(t)
	var list struct {
		Zone string        `json:"zone"`
		Jobs []cron.Status `json:"jobs"`
	}
	if code := s.api(s.app.admin, "GET", "/api/v1/admin/cron", nil, &list); code != 200 {
		t.Fatalf("list: %d", code)
	}
	names := map[string]bool{}
	for _, j := range list.Jobs {
		names[j.Name] = true
	}
	for _, want := range []string{jobBirthday, jobRecall, jobNPS, jobNewMember, jobFollowUps, jobWeekly, jobPointsExpiry, jobTierReview} {
		if !names[want] {
			t.Errorf("job %s missing from %v", want, names)
		}
	}
	var out CronRunResponse
	if code := s.api(s.app.admin, "POST", "/api/v1/admin/cron/birthday/run", CronRunRequest{At: "2026-11-23T09:00:00+08:00", DryRun: true}, &out); code != 200 || !out.DryRun {
		t.Fatalf("dry run: %d %+v", code, out)
	}
	if code := s.api(s.app.admin, "POST", "/api/v1/admin/cron/nope/run", CronRunRequest{}, nil); code != 404 {
		t.Fatalf("unknown job: %d", code)
	}
	if code := s.api(s.app.admin, "POST", "/api/v1/admin/cron/birthday/run", map[string]string{"at": "tomorrow"}, nil); code != 400 {
		t.Fatalf("bad time: %d", code)
	}
	if code := s.api(s.agentTok, "GET", "/api/v1/admin/cron", nil, nil); code != 403 {
		t.Fatalf("an agent listed the jobs: %d", code)
	}
	_ = webchat.Name
}
