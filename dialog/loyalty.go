package dialog

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Loyalty commands a turn can ask for; bot carries them out against the
// loyalty programme in the turn's transaction and writes the replies,
// because they show stored data (balance, coupons) the dialog does not hold.
const (
	LoyaltyPoints      = "points"
	LoyaltyCheckIn     = "checkin"
	LoyaltyRewards     = "rewards"
	LoyaltyRedeemAsk   = "redeem-ask"      // show cost and balance after, ask to confirm
	LoyaltyRedeem      = "redeem"          // confirmed
	LoyaltyCoupons     = "coupons"         // my coupons
	LoyaltyMembership  = "membership"      // tier and benefits
	LoyaltyRefer       = "refer"           // my referral code
	LoyaltyReferredBy  = "referred-by"     // a new member gives a referral code
	LoyaltyLinkCode    = "link-code"       // give me a code to link another channel
	LoyaltyLink        = "link"            // link this chat with a code
	LoyaltyUnsubscribe = "unsubscribe"     // withdraw consent to care messages
	LoyaltySubscribe   = "subscribe"       // give it again
	LoyaltyJoin        = "join"            // the join flow is complete
	LoyaltyJoinStart   = "join-start"      // already a member? bot decides
	LoyaltyCancelRedem = "redeem-cancel"   // the customer declined the confirmation
	payloadRedeemOK    = "loyalty:redeem:" // + right id
	payloadRedeemNo    = "loyalty:redeem-cancel"
	payloadConsentYes  = "loyalty:consent:yes"
	payloadConsentNo   = "loyalty:consent:no"
	payloadJoin        = "loyalty:join"
	payloadRedeemAsk   = "loyalty:redeem-ask:" // + item number or right id
)

// LoyaltyAction asks bot to run a loyalty command.
type LoyaltyAction struct {
	Command string
	// Arg is the command's argument: an item number or right id for
	// redeem, a link or referral code.
	Arg string
	// Name, Birthday (YYYY-MM-DD) and Consent complete a join.
	Name     string
	Birthday string
	Consent  bool
}

// JoinState is the progress of the 注册会员 conversation.
type JoinState struct {
	// Step is "name", "birthday", "consent" or "" when not joining.
	Step     string `json:"step,omitempty"`
	Name     string `json:"name,omitempty"`
	Birthday string `json:"birthday,omitempty"`
}

// Redeem, link and referral commands take an argument after the word.
var (
	redeemRe   = regexp.MustCompile(`^(?:兑换|兌換|redeem|换|換)\s*#?\s*([a-z0-9][a-z0-9_-]{0,63})$`)
	linkRe     = regexp.MustCompile(`^(?:绑定|綁定|link)\s*([0-9]{6})$`)
	referralRe = regexp.MustCompile(`^(?:推荐码|推薦碼|邀请码|邀請碼|referral code|referral|ref)\s*[:：]?\s*([a-z0-9]{4,16})$`)
)

// loyaltyWords maps what customers type (normalised: Simplified, lower
// case, no surrounding punctuation) to commands. Traditional forms are
// normalised to Simplified before the lookup, so 積分 finds 积分.
var loyaltyWords = map[string]string{
	"积分": LoyaltyPoints, "我的积分": LoyaltyPoints, "查积分": LoyaltyPoints, "积分查询": LoyaltyPoints, "点数": LoyaltyPoints, "我的点数": LoyaltyPoints,
	"points": LoyaltyPoints, "my points": LoyaltyPoints, "balance": LoyaltyPoints, "point balance": LoyaltyPoints, "/points": LoyaltyPoints,
	"签到": LoyaltyCheckIn, "每日签到": LoyaltyCheckIn, "打卡": LoyaltyCheckIn, "check in": LoyaltyCheckIn, "checkin": LoyaltyCheckIn, "check-in": LoyaltyCheckIn, "/checkin": LoyaltyCheckIn,
	"权益": LoyaltyRewards, "会员权益": LoyaltyRewards, "积分兑换": LoyaltyRewards, "兑换": LoyaltyRewards, "积分商城": LoyaltyRewards, "rewards": LoyaltyRewards, "redeem": LoyaltyRewards, "/rewards": LoyaltyRewards,
	"我的券": LoyaltyCoupons, "我的优惠券": LoyaltyCoupons, "优惠券": LoyaltyCoupons, "我的卡券": LoyaltyCoupons, "my coupons": LoyaltyCoupons, "coupons": LoyaltyCoupons, "/coupons": LoyaltyCoupons,
	"会员": LoyaltyMembership, "会员等级": LoyaltyMembership, "我的会员": LoyaltyMembership, "会员中心": LoyaltyMembership, "membership": LoyaltyMembership, "my membership": LoyaltyMembership, "member": LoyaltyMembership, "/membership": LoyaltyMembership,
	"推荐": LoyaltyRefer, "推荐码": LoyaltyRefer, "我的推荐码": LoyaltyRefer, "邀请好友": LoyaltyRefer, "邀请码": LoyaltyRefer, "refer": LoyaltyRefer, "refer a friend": LoyaltyRefer, "referral": LoyaltyRefer, "my referral code": LoyaltyRefer, "/refer": LoyaltyRefer,
	"绑定": LoyaltyLinkCode, "绑定账号": LoyaltyLinkCode, "link": LoyaltyLinkCode, "link account": LoyaltyLinkCode, "/link": LoyaltyLinkCode,
	"退订": LoyaltyUnsubscribe, "取消订阅": LoyaltyUnsubscribe, "unsubscribe": LoyaltyUnsubscribe, "stop": LoyaltyUnsubscribe, "/stop": LoyaltyUnsubscribe, "td": LoyaltyUnsubscribe,
	"订阅": LoyaltySubscribe, "重新订阅": LoyaltySubscribe, "subscribe": LoyaltySubscribe, "start messages": LoyaltySubscribe,
	"注册会员": LoyaltyJoinStart, "加入会员": LoyaltyJoinStart, "注册": LoyaltyJoinStart, "入会": LoyaltyJoinStart, "成为会员": LoyaltyJoinStart, "join": LoyaltyJoinStart, "join membership": LoyaltyJoinStart, "sign up": LoyaltyJoinStart, "/join": LoyaltyJoinStart,
}

var cancelWords = map[string]bool{"取消": true, "算了": true, "不了": true, "cancel": true, "quit": true, "stop": true, "/cancel": true}

// loyaltyTurn recognises loyalty commands and runs the join conversation.
// It reports whether it handled the turn.
func (r *Router) loyaltyTurn(c *Context) bool {
	if !r.opts.Loyalty {
		return false
	}
	if c.State.Join.Step != "" && r.joinStep(c) {
		return true
	}
	act := loyaltyCommand(c)
	if act == nil {
		return false
	}
	c.Result.Loyalty = act
	c.Result.Route = "loyalty"
	c.Result.Outcome = OutcomeChat
	return true
}

// loyaltyCommand parses a button payload or typed command.
func loyaltyCommand(c *Context) *LoyaltyAction {
	switch p := c.Turn.Payload; {
	case p == payloadJoin:
		return &LoyaltyAction{Command: LoyaltyJoinStart}
	case p == payloadRedeemNo:
		return &LoyaltyAction{Command: LoyaltyCancelRedem}
	case strings.HasPrefix(p, payloadRedeemOK):
		return &LoyaltyAction{Command: LoyaltyRedeem, Arg: strings.TrimPrefix(p, payloadRedeemOK)}
	case strings.HasPrefix(p, payloadRedeemAsk):
		return &LoyaltyAction{Command: LoyaltyRedeemAsk, Arg: strings.TrimPrefix(p, payloadRedeemAsk)}
	case strings.HasPrefix(p, "loyalty:"):
		if cmd, ok := loyaltyWords[strings.TrimPrefix(p, "loyalty:")]; ok {
			return &LoyaltyAction{Command: cmd}
		}
		return nil
	case p != "":
		return nil
	}
	s := commandText(c.Norm)
	if cmd, ok := loyaltyWords[s]; ok {
		return &LoyaltyAction{Command: cmd}
	}
	if m := redeemRe.FindStringSubmatch(s); m != nil {
		return &LoyaltyAction{Command: LoyaltyRedeemAsk, Arg: m[1]}
	}
	if m := linkRe.FindStringSubmatch(s); m != nil {
		return &LoyaltyAction{Command: LoyaltyLink, Arg: m[1]}
	}
	if m := referralRe.FindStringSubmatch(s); m != nil {
		return &LoyaltyAction{Command: LoyaltyReferredBy, Arg: strings.ToUpper(m[1])}
	}
	return nil
}

// commandText is the normalised text without surrounding punctuation and
// with single spaces, for comparing with command words.
func commandText(norm string) string {
	s := strings.TrimFunc(norm, isSpaceOrPunct)
	return strings.Join(strings.Fields(s), " ")
}

// StartJoin begins the join conversation; bot calls it through the state
// when the customer is not a member yet.
func StartJoin(s *State) { s.Join = JoinState{Step: "name"} }

// joinStep takes the answer to the current join question.
func (r *Router) joinStep(c *Context) bool {
	j := &c.State.Join
	s := commandText(c.Norm)
	if cancelWords[s] || c.Turn.Payload == payloadRedeemNo {
		*j = JoinState{}
		c.Result.Route = "loyalty-join"
		c.Say("loyalty_join_cancelled")
		return true
	}
	if c.Turn.Payload != "" && c.Turn.Payload != payloadConsentYes && c.Turn.Payload != payloadConsentNo {
		// Another button (an FAQ, help): leave the join for later.
		*j = JoinState{}
		return false
	}
	if act := loyaltyCommand(c); act != nil && act.Command != LoyaltyJoinStart {
		// "积分" is not a name, nor a birthday: the customer changed their
		// mind, so the command is answered and the join waits for later.
		*j = JoinState{}
		return false
	}
	c.Result.Route = "loyalty-join"
	switch j.Step {
	case "name":
		name := strings.TrimSpace(c.Text)
		if n := len([]rune(name)); n == 0 || n > 40 || strings.ContainsAny(name, "\n\r\t") {
			c.Say("loyalty_join_name_bad")
			return true
		}
		j.Name, j.Step = name, "birthday"
		c.Say("loyalty_join_birthday")
	case "birthday":
		b, ok := ParseBirthday(c.Text, c.Turn.Time)
		if !ok {
			c.Say("loyalty_join_birthday_bad")
			return true
		}
		j.Birthday, j.Step = b, "consent"
		c.Say("loyalty_join_consent",
			Button{Label: r.text("button_yes", c.Locale), Payload: payloadConsentYes},
			Button{Label: r.text("button_no", c.Locale), Payload: payloadConsentNo})
	case "consent":
		var consent bool
		switch {
		case c.Turn.Payload == payloadConsentYes || yesWords[s]:
			consent = true
		case c.Turn.Payload == payloadConsentNo || noWords[s]:
		default:
			c.Say("loyalty_join_consent",
				Button{Label: r.text("button_yes", c.Locale), Payload: payloadConsentYes},
				Button{Label: r.text("button_no", c.Locale), Payload: payloadConsentNo})
			return true
		}
		c.Result.Loyalty = &LoyaltyAction{Command: LoyaltyJoin, Name: j.Name, Birthday: j.Birthday, Consent: consent}
		*j = JoinState{}
	default:
		*j = JoinState{}
		return false
	}
	return true
}

var (
	yesWords = map[string]bool{"是": true, "好": true, "好的": true, "愿意": true, "可以": true, "同意": true, "要": true, "yes": true, "y": true, "ok": true, "sure": true, "agree": true}
	noWords  = map[string]bool{"否": true, "不": true, "不要": true, "不用": true, "不用了": true, "不愿意": true, "不同意": true, "no": true, "n": true, "no thanks": true}
)

var (
	dateNumRe = regexp.MustCompile(`^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*[日号]?$`)
	dateCatRe = regexp.MustCompile(`^(\d{4})(\d{2})(\d{2})$`)
)

// ParseBirthday reads a birthday as customers write it — 1990-05-12,
// 1990/5/12, 1990.5.12, 1990年5月12日, 19900512 — and returns it as
// YYYY-MM-DD. It refuses dates that do not exist (2023-02-30), dates after
// today and ages over 120.
func ParseBirthday(text string, today time.Time) (string, bool) {
	s := strings.TrimSpace(strings.Map(foldDigit, text))
	m := dateNumRe.FindStringSubmatch(s)
	if m == nil {
		m = dateCatRe.FindStringSubmatch(s)
	}
	if m == nil {
		return "", false
	}
	y, _ := strconv.Atoi(m[1])
	mo, _ := strconv.Atoi(m[2])
	d, _ := strconv.Atoi(m[3])
	t := time.Date(y, time.Month(mo), d, 0, 0, 0, 0, time.UTC)
	if t.Year() != y || int(t.Month()) != mo || t.Day() != d {
		return "", false
	}
	if today.IsZero() {
		today = time.Now()
	}
	if t.After(today) || today.Year()-y > 120 {
		return "", false
	}
	return fmt.Sprintf("%04d-%02d-%02d", y, mo, d), true
}

// foldDigit turns full-width digits into ASCII ones.
func foldDigit(r rune) rune {
	if r >= '０' && r <= '９' {
		return r - '０' + '0'
	}
	return r
}
