package dialog

import (
	"testing"
	"time"
)

func TestLoyaltyCommandsInThreeLocales(t *testing.T) {
	r := newRouter(t, func(o *Options) { o.Loyalty = true })
	cases := []struct {
		text, payload string
		command, arg  string
	}{
		{"积分", "", LoyaltyPoints, ""},
		{"積分？", "", LoyaltyPoints, ""},
		{"My points", "", LoyaltyPoints, ""},
		{"签到！", "", LoyaltyCheckIn, ""},
		{"簽到", "", LoyaltyCheckIn, ""},
		{"check in", "", LoyaltyCheckIn, ""},
		{"权益", "", LoyaltyRewards, ""},
		{"權益", "", LoyaltyRewards, ""},
		{"rewards", "", LoyaltyRewards, ""},
		{"兑换 2", "", LoyaltyRedeemAsk, "2"},
		{"兌換3", "", LoyaltyRedeemAsk, "3"},
		{"redeem coupon-5", "", LoyaltyRedeemAsk, "coupon-5"},
		{"我的券", "", LoyaltyCoupons, ""},
		{"my coupons", "", LoyaltyCoupons, ""},
		{"会员", "", LoyaltyMembership, ""},
		{"會員", "", LoyaltyMembership, ""},
		{"推荐", "", LoyaltyRefer, ""},
		{"推荐码 ab12cd", "", LoyaltyReferredBy, "AB12CD"},
		{"绑定", "", LoyaltyLinkCode, ""},
		{"綁定 123456", "", LoyaltyLink, "123456"},
		{"link 654321", "", LoyaltyLink, "654321"},
		{"退订", "", LoyaltyUnsubscribe, ""},
		{"STOP", "", LoyaltyUnsubscribe, ""},
		{"unsubscribe", "", LoyaltyUnsubscribe, ""},
		{"注册会员", "", LoyaltyJoinStart, ""},
		{"加入會員", "", LoyaltyJoinStart, ""},
		{"join", "", LoyaltyJoinStart, ""},
		{"", "loyalty:redeem:coupon-5:7", LoyaltyRedeem, "coupon-5:7"},
		{"", "loyalty:redeem-ask:coupon-5", LoyaltyRedeemAsk, "coupon-5"},
		{"", "loyalty:redeem-cancel", LoyaltyCancelRedem, ""},
	}
	for _, c := range cases {
		res := r.Respond(State{}, Turn{Text: c.text, Payload: c.payload, Time: time.Now()})
		if res.Loyalty == nil || res.Loyalty.Command != c.command || res.Loyalty.Arg != c.arg {
			t.Errorf("%q/%q: loyalty = %+v, want %s %q (route %s)", c.text, c.payload, res.Loyalty, c.command, c.arg, res.Route)
		}
	}
	// Not commands: questions that merely mention the words go to the FAQ.
	for _, text := range []string{"积分怎么用", "how do points work", "绑定手机号", "兑换码在哪里输入"} {
		if res := r.Respond(State{}, Turn{Text: text, Time: time.Now()}); res.Loyalty != nil {
			t.Errorf("%q was taken as loyalty command %+v", text, res.Loyalty)
		}
	}
	// Without the programme, nothing is a loyalty command.
	plain := newRouter(t)
	if res := plain.Respond(State{}, Turn{Text: "积分", Time: time.Now()}); res.Loyalty != nil {
		t.Errorf("loyalty off, yet %+v", res.Loyalty)
	}
}

func TestJoinConversation(t *testing.T) {
	r := newRouter(t, func(o *Options) { o.Loyalty = true })
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	var s State
	StartJoin(&s)
	step := func(text, payload string) Result {
		t.Helper()
		res := r.Respond(s, Turn{Text: text, Payload: payload, Time: now})
		s = res.State
		return res
	}
	if res := step("王小明", ""); s.Join.Step != "birthday" || s.Join.Name != "王小明" || res.Route != "loyalty-join" {
		t.Fatalf("after the name: %+v", s.Join)
	}
	if res := step("1990-02-30", ""); s.Join.Step != "birthday" || len(res.Replies) != 1 {
		t.Fatalf("impossible date accepted: %+v", s.Join)
	}
	res := step("1990年5月12日", "")
	if s.Join.Step != "consent" || s.Join.Birthday != "1990-05-12" || len(res.Replies[0].Buttons) != 2 {
		t.Fatalf("after the birthday: %+v %+v", s.Join, res.Replies)
	}
	res = step("", res.Replies[0].Buttons[0].Payload)
	if res.Loyalty == nil || res.Loyalty.Command != LoyaltyJoin || res.Loyalty.Name != "王小明" || res.Loyalty.Birthday != "1990-05-12" || !res.Loyalty.Consent {
		t.Fatalf("join action = %+v", res.Loyalty)
	}
	if s.Join.Step != "" {
		t.Fatalf("join state left behind: %+v", s.Join)
	}
	// A command in the middle of joining is answered, and the join waits.
	StartJoin(&s)
	if res := step("积分", ""); s.Join.Step != "" || res.Loyalty == nil || res.Loyalty.Command != LoyaltyPoints {
		t.Fatalf("a command while joining: %+v %+v", s.Join, res.Loyalty)
	}
	// Cancelling at any step leaves the flow.
	StartJoin(&s)
	step("Lee", "")
	if res := step("cancel", ""); s.Join.Step != "" || res.Loyalty != nil {
		t.Fatalf("cancel: %+v %+v", s.Join, res.Loyalty)
	}
}

func TestParseBirthday(t *testing.T) {
	today := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	for in, want := range map[string]string{
		"1990-05-12": "1990-05-12",
		"1990/5/12":  "1990-05-12",
		"1990.5.12":  "1990-05-12",
		"1990年5月12日": "1990-05-12",
		"１９９０－５－１２":  "",
		"19900512":   "1990-05-12",
		"2000-02-29": "2000-02-29",
		"2023-02-29": "",
		"2027-01-01": "",
		"1890-01-01": "",
		"tomorrow":   "",
		"":           "",
	} {
		got, ok := ParseBirthday(in, today)
		if got != want || ok != (want != "") {
			t.Errorf("ParseBirthday(%q) = %q %v, want %q", in, got, ok, want)
		}
	}
}
