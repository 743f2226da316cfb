package dialog

import (
	"reflect"
	"regexp"
	"slices"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/carebot/carebot/configs"
	"github.com/carebot/carebot/dialog/emotion"
	"github.com/carebot/carebot/handoff"
	"github.com/carebot/carebot/knowledge"
	"github.com/carebot/carebot/segment"
)

// fuzzToday is the date birthdays are checked against.
var fuzzToday = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

var birthdayRe = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)

// FuzzParseBirthday reads arbitrary text as a birthday: a date it
// accepts is a real YYYY-MM-DD, not after today nor over 120 years ago,
// and reads back as itself.
func FuzzParseBirthday(f *testing.F) {
	for _, s := range []string{"1990-05-12", "1990/5/12", "1990.5.12", "1990年5月12日", "19900512", "１９９０年５月１２日号",
		"2023-02-30", "2027-01-01", "1900-01-01", " 1990 - 5 - 12 ", "0000-01-01", "99999999", "1990-5-12日日"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		b, ok := ParseBirthday(text, fuzzToday)
		if !ok {
			if b != "" {
				t.Fatalf("refused %q but returned %q", text, b)
			}
			return
		}
		d, err := time.Parse("2006-01-02", b)
		switch {
		case !birthdayRe.MatchString(b) || err != nil:
			t.Fatalf("%q read as %q, not a date", text, b)
		case d.After(fuzzToday):
			t.Fatalf("%q read as %s, after today", text, b)
		case fuzzToday.Year()-d.Year() > 120:
			t.Fatalf("%q read as %s, over 120 years ago", text, b)
		}
		if again, ok := ParseBirthday(b, fuzzToday); !ok || again != b {
			t.Fatalf("%q read as %q, which reads as %q %v", text, b, again, ok)
		}
	})
}

// FuzzParseSurvey reads arbitrary button payloads as survey answers: an
// answer is an NPS score 0–10 or a new-member choice for a valid period,
// and the payload of the button for that answer reads as the same answer.
func FuzzParseSurvey(f *testing.F) {
	for _, s := range []string{"nps:2026Q4:9", "nps:2026Q4:10", "nps:2026Q4:11", "nps::5", "nps:2026Q4:+5", "nps:2026q4:5",
		"welcome:2026-11-20:good", "welcome:2026-11-20:help", "welcome:2026-11-20:bad", "faq:x", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, payload string) {
		a, ok := parseSurvey(payload)
		if !ok {
			if a != (SurveyAnswer{}) {
				t.Fatalf("refused %q but returned %+v", payload, a)
			}
			return
		}
		if !validPeriod(a.Period) {
			t.Fatalf("%q: period %q", payload, a.Period)
		}
		var canonical string
		switch a.Kind {
		case SurveyNPS:
			if a.Score < 0 || a.Score > 10 || a.Choice != "" {
				t.Fatalf("%q: %+v", payload, a)
			}
			canonical = NPSButtons(a.Period)[a.Score].Payload
		case SurveyNewMember:
			if a.Choice != ChoiceGood && a.Choice != ChoiceHelp || a.Score != 0 {
				t.Fatalf("%q: %+v", payload, a)
			}
			canonical = PayloadNewMemberPrefix + a.Period + ":" + a.Choice
		default:
			t.Fatalf("%q: kind %q", payload, a.Kind)
		}
		if again, ok := parseSurvey(canonical); !ok || again != a {
			t.Fatalf("%q read as %+v; its button %q reads as %+v %v", payload, a, canonical, again, ok)
		}
	})
}

// FuzzParseCSAT reads arbitrary payloads as satisfaction ratings: a
// rating is 1–5 for a ticket other than 0, and the button for it reads
// as the same rating.
func FuzzParseCSAT(f *testing.F) {
	for _, s := range []string{"csat:42:5", "csat:42:0", "csat:42:6", "csat:0:3", "csat:18446744073709551615:1", "csat:42:+3", "csat:42:3:1", "csat:-1:3", "nps:1:1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, payload string) {
		a, ok := parseCSAT(payload)
		if !ok {
			return
		}
		if a.Ticket == 0 || a.Score < 1 || a.Score > 5 {
			t.Fatalf("%q read as %+v", payload, a)
		}
		button := CSATButtons(a.Ticket)[a.Score-1].Payload
		if again, ok := parseCSAT(button); !ok || again != a {
			t.Fatalf("%q read as %+v; its button %q reads as %+v %v", payload, a, button, again, ok)
		}
	})
}

var (
	linkArgRe     = regexp.MustCompile(`^[0-9]{6}$`)
	referralArgRe = regexp.MustCompile(`^[A-Z0-9]{4,16}$`)
	redeemArgRe   = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)
)

// FuzzLoyaltyCommand reads arbitrary text and payloads as loyalty
// commands: a command is one the bot knows, and the arguments taken from
// typed text have the shape the bot expects (a 6-digit link code, an
// upper-case referral code, a right id or item number).
func FuzzLoyaltyCommand(f *testing.F) {
	for _, s := range [][2]string{
		{"积分", ""}, {"積分", ""}, {"兑换 #3", ""}, {"兑换coupon-5", ""}, {"绑定 123456", ""}, {"推荐码：ab12cd", ""},
		{"referral code ZX81", ""}, {"/points", ""}, {"  签到！ ", ""}, {"", "loyalty:redeem:r1"}, {"", "loyalty:redeem-ask:2"},
		{"", "loyalty:points"}, {"", "loyalty:bogus"}, {"", "loyalty:join"}, {"", "faq:x"}, {"link 12345", ""},
	} {
		f.Add(s[0], s[1])
	}
	commands := []string{LoyaltyPoints, LoyaltyCheckIn, LoyaltyRewards, LoyaltyRedeemAsk, LoyaltyRedeem, LoyaltyCoupons, LoyaltyMembership,
		LoyaltyRefer, LoyaltyReferredBy, LoyaltyLinkCode, LoyaltyLink, LoyaltyUnsubscribe, LoyaltySubscribe, LoyaltyJoinStart, LoyaltyCancelRedem}
	f.Fuzz(func(t *testing.T, text, payload string) {
		c := &Context{Turn: Turn{Text: text, Payload: payload}, Text: text, Norm: segment.Normalize(text)}
		act := loyaltyCommand(c)
		if act == nil {
			return
		}
		if !slices.Contains(commands, act.Command) {
			t.Fatalf("%q/%q: unknown command %q", text, payload, act.Command)
		}
		if payload != "" {
			return // arguments of buttons are the bot's own, checked when used
		}
		switch act.Command {
		case LoyaltyLink:
			if !linkArgRe.MatchString(act.Arg) {
				t.Fatalf("%q: link code %q", text, act.Arg)
			}
		case LoyaltyReferredBy:
			if !referralArgRe.MatchString(act.Arg) {
				t.Fatalf("%q: referral code %q", text, act.Arg)
			}
		case LoyaltyRedeemAsk:
			if !redeemArgRe.MatchString(act.Arg) {
				t.Fatalf("%q: redeem argument %q", text, act.Arg)
			}
		default:
			if act.Arg != "" {
				t.Fatalf("%q: %s with argument %q", text, act.Command, act.Arg)
			}
		}
	})
}

// newFuzzRouter builds a router as bot does, with everything on: the
// test knowledge base, the embedded emotion lexicons, the default
// handoff rules and the loyalty commands.
func newFuzzRouter(tb testing.TB) *Router {
	tb.Helper()
	seg, err := segment.Shared("")
	if err != nil {
		tb.Fatal(err)
	}
	entries, err := knowledge.Parse([]byte(testKB), "test.yaml")
	if err != nil {
		tb.Fatal(err)
	}
	kb, err := knowledge.NewBase(seg, entries, knowledge.DefaultOptions())
	if err != nil {
		tb.Fatal(err)
	}
	replies, err := configs.LoadReplies()
	if err != nil {
		tb.Fatal(err)
	}
	lex, err := emotion.LoadDefaultLexicon(configs.FS, configs.EmotionDir)
	if err != nil {
		tb.Fatal(err)
	}
	scorer, err := emotion.NewScorer(nil, lex, emotion.DefaultOptions())
	if err != nil {
		tb.Fatal(err)
	}
	rules := handoff.DefaultRules()
	r, err := New(kb, Options{
		Replies: replies, DefaultLocale: "zh-Hans", Suggestions: 3, Emotion: scorer, Handoff: &rules,
		WaitingNotice: 10 * time.Minute, Loyalty: true, GroupKeywords: []string{"客服"},
	})
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

// FuzzRespond runs two turns of arbitrary text and payloads, with
// arbitrary flags (group, mention, event, an open ticket, a join in
// progress), through a router with every feature on. It must never
// panic; every turn counts, keeps a known locale and has an outcome;
// replies have text and usable buttons; an answered turn names its
// entry; and the same turn in the same state gets the same result.
func FuzzRespond(f *testing.F) {
	for _, s := range []struct {
		text1, payload1, text2, payload2 string
		flags                            uint16
	}{
		{"运费怎么算", "", "谢谢", "", 0},
		{"How much is shipping?", "", "", "faq:delivery-time", 0},
		{"质量太差了，我要投诉", "", "人呢？", "", 0},
		{"我要曝光你们，投诉到消协", "", "", "csat:42:5", 0},
		{"注册会员", "", "王小明", "", 0},
		{"1990-05-12", "", "", "loyalty:consent:yes", 1 << 4},
		{"", "nps:2026Q4:9", "", "welcome:2026Q4:help", 0},
		{"@carebot 运费多少", "", "大家好", "", 1 | 2},
		{"", "", "", "", 1 << 6},
		{"转人工", "", "算了", "", 1 << 8},
		{"\xff\xfe 😀 " + string(make([]byte, 600)), "", "积分", "", 0},
	} {
		f.Add(s.text1, s.payload1, s.text2, s.payload2, s.flags)
	}
	r := newFuzzRouter(f)
	events := []string{"", EventUnsupported, EventFollow, EventJoin, EventMemberJoined}
	steps := []string{"", "name", "birthday", "consent"}
	locales := []string{"", "zh-Hans", "zh-Hant", "en", "fr"}
	f.Fuzz(func(t *testing.T, text1, payload1, text2, payload2 string, flags uint16) {
		state := State{}
		state.Join.Step = steps[int(flags>>4)%len(steps)]
		if flags&(1<<8) != 0 {
			state.Handoff = HandoffState{Ticket: 7, Tier: emotion.TierModerate, Silenced: flags&(1<<9) != 0}
		}
		if flags&(1<<10) != 0 {
			state.Handoff.LastTicket, state.Handoff.Resolved = 6, fuzzToday.Add(-time.Hour)
		}
		turn := Turn{
			Text: text1, Payload: payload1, Time: fuzzToday,
			Group: flags&1 != 0, Mentioned: flags&2 != 0,
			Locale:     locales[int(flags>>11)%len(locales)],
			MemberTier: []string{"", "gold"}[int(flags>>14)&1],
			Event:      events[int(flags>>6)%len(events)],
		}
		res := checkTurn(t, r, state, turn)
		turn2 := turn
		turn2.Text, turn2.Payload, turn2.Event, turn2.Time = text2, payload2, "", fuzzToday.Add(time.Minute)
		checkTurn(t, r, res.State, turn2)
	})
}

// checkTurn runs one turn twice and checks the result.
func checkTurn(t *testing.T, r *Router, state State, turn Turn) Result {
	t.Helper()
	res := r.Respond(state, turn)
	switch {
	case res.State.Turns != state.Turns+1:
		t.Fatalf("turns %d after %d", res.State.Turns, state.Turns)
	case !slices.Contains(Locales, res.State.Locale):
		t.Fatalf("locale %q", res.State.Locale)
	case res.Outcome == "":
		t.Fatalf("no outcome: %+v", res)
	case res.Outcome == OutcomeAnswered && res.Match == nil:
		t.Fatalf("answered without an entry: %+v", res)
	}
	for _, rp := range res.Replies {
		if rp.Text == "" || !utf8.ValidString(rp.Text) {
			t.Fatalf("reply %q (route %s)", rp.Text, res.Route)
		}
		for _, b := range rp.Buttons {
			if b.Label == "" || (b.Payload == "") == (b.URL == "") {
				t.Fatalf("button %+v (route %s)", b, res.Route)
			}
		}
	}
	if again := r.Respond(state, turn); !reflect.DeepEqual(again, res) {
		t.Fatalf("the same turn twice:\n%+v\n%+v", res, again)
	}
	return res
}
