package bot

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/carebot/carebot/dialog"
	"github.com/carebot/carebot/loyalty"
	"github.com/carebot/carebot/store"
)

// loyaltyChat answers the loyalty commands of the chat (积分, 签到, 权益 …)
// from the programme, inside the turn's transaction.
type loyaltyChat struct {
	prog   *loyalty.Program
	opts   loyalty.Options
	router *dialog.Router
	now    func() time.Time
	// welcome is the right granted on joining, "" for none.
	welcome string
}

// tierRule returns the rule of a tier by name.
func (l *loyaltyChat) tierRule(name string) (loyalty.TierRule, bool) {
	for _, t := range l.opts.Tiers {
		if t.Name == name {
			return t, true
		}
	}
	return loyalty.TierRule{}, false
}

// tierLabel is a tier's name for customers: 金卡, 金卡, Gold.
func (l *loyaltyChat) tierLabel(name, locale string) string {
	if t, ok := l.tierRule(name); ok {
		if s := localized(t.Label, locale); s != "" {
			return s
		}
	}
	return name
}

// localized picks the text of a per-locale map, falling back to any.
func localized(m map[string]string, locale string) string {
	if s := m[locale]; s != "" {
		return s
	}
	for _, l := range dialog.Locales {
		if s := m[l]; s != "" {
			return s
		}
	}
	return ""
}

// say fills a reply template: {key} placeholders from pairs.
func (l *loyaltyChat) say(key, locale string, pairs ...string) string {
	return strings.NewReplacer(pairs...).Replace(l.router.Text(key, locale))
}

func (l *loyaltyChat) date(t time.Time) string {
	if l.opts.Location != nil {
		t = t.In(l.opts.Location)
	}
	return t.Format("2006-01-02")
}

// identify finds or creates the member behind a conversation and notes the
// activity, so the lifecycle stage sees chats as well as purchases.
func (l *loyaltyChat) identify(tx store.Tx, conv *Conversation) (*loyalty.Member, error) {
	user := conv.UserID
	if user == "" {
		user = conv.ChatID
	}
	m, _, err := l.prog.EnsureMember(tx, conv.Channel, user)
	if err != nil {
		return nil, fmt.Errorf("member of %s/%s: %w", conv.Channel, user, err)
	}
	if err := l.prog.Touch(tx, m.ID); err != nil {
		return nil, err
	}
	conv.Member, conv.MemberTier = m.ID, m.Tier
	return m, nil
}

// run carries out a loyalty command and returns the replies.
func (l *loyaltyChat) run(tx store.Tx, conv *Conversation, act *dialog.LoyaltyAction) ([]dialog.Reply, error) {
	locale := conv.State.Locale
	m, err := l.identify(tx, conv)
	if err != nil {
		return nil, err
	}
	text := func(key string, pairs ...string) []dialog.Reply {
		return []dialog.Reply{{Text: l.say(key, locale, pairs...)}}
	}
	switch act.Command {
	case dialog.LoyaltyPoints:
		return l.points(tx, m, locale)
	case dialog.LoyaltyCheckIn:
		r, err := l.prog.CheckIn(tx, m.ID)
		if err != nil {
			return nil, err
		}
		if r.Already {
			return text("loyalty_checkin_already", "{streak}", strconv.Itoa(r.Streak)), nil
		}
		b, err := l.prog.Balance(tx, m.ID)
		if err != nil {
			return nil, err
		}
		out := text("loyalty_checkin", "{points}", fmt.Sprint(r.Points), "{streak}", strconv.Itoa(r.Streak), "{balance}", fmt.Sprint(b.Points))
		if r.Bonus > 0 {
			out = append(out, text("loyalty_checkin_bonus", "{days}", strconv.Itoa(r.Streak), "{bonus}", fmt.Sprint(r.Bonus))...)
		}
		return out, nil
	case dialog.LoyaltyRewards:
		return l.rewards(tx, m, locale)
	case dialog.LoyaltyRedeemAsk:
		return l.redeemAsk(tx, m, act.Arg, conv.Messages, locale)
	case dialog.LoyaltyRedeem:
		return l.redeem(tx, m, act.Arg, locale)
	case dialog.LoyaltyCancelRedem:
		return text("loyalty_redeem_cancelled"), nil
	case dialog.LoyaltyCoupons:
		return l.coupons(tx, m, locale)
	case dialog.LoyaltyMembership:
		if !m.Joined {
			return []dialog.Reply{{Text: l.say("loyalty_not_joined", locale), Buttons: []dialog.Button{l.joinButton(locale)}}}, nil
		}
		b, err := l.prog.Balance(tx, m.ID)
		if err != nil {
			return nil, err
		}
		mult := 1.0
		if t, ok := l.tierRule(m.Tier); ok {
			mult = t.Multiplier
		}
		return text("loyalty_membership", "{tier}", l.tierLabel(m.Tier, locale), "{multiplier}", strconv.FormatFloat(mult, 'f', -1, 64),
			"{points}", fmt.Sprint(b.Points), "{id}", m.ID), nil
	case dialog.LoyaltyRefer:
		return text("loyalty_refer", "{code}", m.ReferralCode, "{referrer}", fmt.Sprint(l.opts.ReferrerPoints), "{referee}", fmt.Sprint(l.opts.RefereePoints)), nil
	case dialog.LoyaltyReferredBy:
		if err := l.prog.Referral(tx, m.ID, act.Arg); err != nil {
			if reason, ok := l.reason(err, locale); ok {
				return text("loyalty_referral_bad", "{reason}", reason), nil
			}
			return nil, err
		}
		return text("loyalty_referred"), nil
	case dialog.LoyaltyLinkCode:
		code, expires, err := l.prog.LinkCode(tx, m.ID)
		if err != nil {
			return nil, err
		}
		minutes := int(expires.Sub(l.now()).Round(time.Minute) / time.Minute)
		return text("loyalty_link_code", "{code}", code, "{minutes}", strconv.Itoa(max(1, minutes))), nil
	case dialog.LoyaltyLink:
		linked, err := l.prog.Link(tx, act.Arg, conv.Channel, m.Identities[0].User)
		if err != nil {
			if reason, ok := l.reason(err, locale); ok {
				return text("loyalty_link_bad", "{reason}", reason), nil
			}
			return nil, err
		}
		conv.Member, conv.MemberTier = linked.ID, linked.Tier
		b, err := l.prog.Balance(tx, linked.ID)
		if err != nil {
			return nil, err
		}
		return text("loyalty_linked", "{id}", linked.ID, "{points}", fmt.Sprint(b.Points)), nil
	case dialog.LoyaltyUnsubscribe, dialog.LoyaltySubscribe:
		on := act.Command == dialog.LoyaltySubscribe
		if err := l.prog.SetConsent(tx, m.ID, on); err != nil {
			return nil, err
		}
		if on {
			return text("loyalty_subscribed"), nil
		}
		return text("loyalty_unsubscribed"), nil
	case dialog.LoyaltyJoinStart:
		if m.Joined {
			return text("loyalty_already_joined", "{id}", m.ID), nil
		}
		dialog.StartJoin(&conv.State)
		return text("loyalty_join_name"), nil
	case dialog.LoyaltyJoin:
		joined, err := l.prog.Join(tx, m.ID, act.Name, act.Birthday, act.Consent)
		if err != nil {
			if reason, ok := l.reason(err, locale); ok {
				return text("loyalty_invalid", "{reason}", reason), nil
			}
			return nil, err
		}
		b, err := l.prog.Balance(tx, joined.ID)
		if err != nil {
			return nil, err
		}
		conv.MemberTier = joined.Tier
		out := text("loyalty_joined", "{name}", joined.Name, "{tier}", l.tierLabel(joined.Tier, locale), "{points}", fmt.Sprint(b.Points))
		if l.welcome != "" {
			c, _, err := l.prog.GrantWith(tx, loyalty.GrantParams{Member: joined.ID, Right: l.welcome, Key: "welcome:" + joined.ID, Reason: "welcome", By: "carebot"})
			switch {
			case errors.Is(err, loyalty.ErrNoRight), errors.Is(err, loyalty.ErrOutOfStock):
				// No welcome gift in the catalogue (or none left): joining
				// still succeeds.
			case err != nil:
				return nil, err
			default:
				out = append(out, dialog.Reply{Text: l.say("loyalty_welcome", locale, "{name}", l.rightNames(tx, locale)[c.Right], "{code}", c.Code, "{expires}", l.date(c.Expires))})
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("unknown loyalty command %q", act.Command)
}

func (l *loyaltyChat) joinButton(locale string) dialog.Button {
	return dialog.Button{Label: l.router.Text("button_join", locale), Payload: "loyalty:join"}
}

// points answers 积分: balance, tier, progress and points about to expire.
func (l *loyaltyChat) points(tx store.Tx, m *loyalty.Member, locale string) ([]dialog.Reply, error) {
	b, err := l.prog.Balance(tx, m.ID)
	if err != nil {
		return nil, err
	}
	lines := []string{l.say("loyalty_balance", locale, "{tier}", l.tierLabel(b.Tier, locale), "{points}", fmt.Sprint(b.Points))}
	if b.NextTier != "" {
		lines = append(lines, l.say("loyalty_progress", locale, "{qualifying}", fmt.Sprint(b.Qualifying), "{to_next}", fmt.Sprint(b.ToNext), "{next}", l.tierLabel(b.NextTier, locale)))
	} else {
		lines = append(lines, l.say("loyalty_top_tier", locale))
	}
	if b.Expiring > 0 {
		lines = append(lines, l.say("loyalty_expiring", locale, "{expiring}", fmt.Sprint(b.Expiring), "{date}", l.date(b.ExpiringBy)))
	}
	if b.Frozen {
		lines = append(lines, l.say("loyalty_frozen", locale))
	}
	reply := dialog.Reply{Text: strings.Join(lines, "\n")}
	if !m.Joined {
		reply.Buttons = []dialog.Button{l.joinButton(locale)}
	}
	return []dialog.Reply{reply}, nil
}

// shownOffers are the offers as the chat lists and numbers them: what the
// member can redeem now first, then what needs more points, then what is
// gone or capped, then other tiers' rights; birthday gifts appear only in
// the birthday month (outside it they are noise).
func (l *loyaltyChat) shownOffers(tx store.Tx, m *loyalty.Member) ([]loyalty.Offer, error) {
	offers, err := l.prog.Offers(tx, m.ID)
	if err != nil {
		return nil, err
	}
	rank := func(o loyalty.Offer) int {
		switch o.Reason {
		case "":
			return 0
		case loyalty.OfferInsufficient:
			return 1
		case loyalty.OfferTier:
			return 3
		}
		return 2
	}
	out := slices.DeleteFunc(offers, func(o loyalty.Offer) bool { return o.Reason == loyalty.OfferBirthday })
	slices.SortStableFunc(out, func(a, b loyalty.Offer) int { return rank(a) - rank(b) })
	return out, nil
}

// rewards lists the catalogue with what the member can redeem.
func (l *loyaltyChat) rewards(tx store.Tx, m *loyalty.Member, locale string) ([]dialog.Reply, error) {
	offers, err := l.shownOffers(tx, m)
	if err != nil {
		return nil, err
	}
	b, err := l.prog.Balance(tx, m.ID)
	if err != nil {
		return nil, err
	}
	if len(offers) == 0 {
		return []dialog.Reply{{Text: l.say("loyalty_rewards_empty", locale)}}, nil
	}
	lines := []string{l.say("loyalty_rewards", locale, "{points}", fmt.Sprint(b.Points))}
	var buttons []dialog.Button
	for i, o := range offers {
		note := ""
		if !o.Eligible && o.Reason != loyalty.OfferInsufficient {
			// Not enough points needs no note: the balance is right above.
			note = "（" + strings.TrimSuffix(l.offerReason(o, b.Points, locale), "。") + "）"
			if locale == "en" {
				note = " (" + strings.TrimSuffix(l.offerReason(o, b.Points, locale), ".") + ")"
			}
		}
		name := localized(o.Right.Name, locale)
		lines = append(lines, l.say("loyalty_rewards_item", locale, "{n}", strconv.Itoa(i+1), "{name}", name, "{cost}", fmt.Sprint(o.Cost), "{note}", note))
		if o.Eligible && len(buttons) < 8 {
			buttons = append(buttons, dialog.Button{Label: fmt.Sprintf("%d. %s", i+1, name), Payload: "loyalty:redeem-ask:" + o.Right.ID})
		}
	}
	lines = append(lines, l.say("loyalty_rewards_hint", locale))
	return []dialog.Reply{{Text: strings.Join(lines, "\n"), Buttons: buttons}}, nil
}

// findOffer resolves "3" (the number in the list) or a right id.
func (l *loyaltyChat) findOffer(tx store.Tx, m *loyalty.Member, arg string) (*loyalty.Offer, error) {
	offers, err := l.shownOffers(tx, m)
	if err != nil {
		return nil, err
	}
	if n, err := strconv.Atoi(arg); err == nil && n >= 1 && n <= len(offers) {
		return &offers[n-1], nil
	}
	for i := range offers {
		if strings.EqualFold(offers[i].Right.ID, arg) {
			return &offers[i], nil
		}
	}
	return nil, nil
}

// redeemAsk shows cost and balance after and asks to confirm. The confirm
// button carries a nonce, so pressing it twice redeems once.
func (l *loyaltyChat) redeemAsk(tx store.Tx, m *loyalty.Member, arg string, nonce uint64, locale string) ([]dialog.Reply, error) {
	o, err := l.findOffer(tx, m, arg)
	if err != nil {
		return nil, err
	}
	if o == nil {
		return []dialog.Reply{{Text: l.say("loyalty_redeem_failed", locale, "{reason}", l.say("loyalty_reason_unknown", locale))}}, nil
	}
	b, err := l.prog.Balance(tx, m.ID)
	if err != nil {
		return nil, err
	}
	if !o.Eligible {
		return []dialog.Reply{{Text: l.say("loyalty_redeem_failed", locale, "{reason}", l.offerReason(*o, b.Points, locale))}}, nil
	}
	name := localized(o.Right.Name, locale)
	return []dialog.Reply{{
		Text: l.say("loyalty_redeem_confirm", locale, "{name}", name, "{cost}", fmt.Sprint(o.Cost), "{after}", fmt.Sprint(b.Points-o.Cost)),
		Buttons: []dialog.Button{
			{Label: l.router.Text("button_confirm", locale), Payload: fmt.Sprintf("loyalty:redeem:%s:%d", o.Right.ID, nonce)},
			{Label: l.router.Text("button_cancel", locale), Payload: "loyalty:redeem-cancel"},
		},
	}}, nil
}

// redeem carries out a confirmed redemption: "RIGHT:NONCE".
func (l *loyaltyChat) redeem(tx store.Tx, m *loyalty.Member, arg, locale string) ([]dialog.Reply, error) {
	right, nonce, _ := strings.Cut(arg, ":")
	key := fmt.Sprintf("chat:%s:%s:%s", m.ID, right, nonce)
	c, _, err := l.prog.Redeem(tx, m.ID, right, key)
	if err != nil {
		reason, ok := l.reason(err, locale)
		if !ok {
			return nil, err
		}
		if o, ferr := l.findOffer(tx, m, right); ferr == nil && o != nil && !o.Eligible {
			b, berr := l.prog.Balance(tx, m.ID)
			if berr != nil {
				return nil, berr
			}
			reason = l.offerReason(*o, b.Points, locale)
		}
		return []dialog.Reply{{Text: l.say("loyalty_redeem_failed", locale, "{reason}", reason)}}, nil
	}
	return []dialog.Reply{{Text: l.say("loyalty_redeemed", locale, "{code}", c.Code, "{expires}", l.date(c.Expires))}}, nil
}

// coupons lists the member's usable coupons.
func (l *loyaltyChat) coupons(tx store.Tx, m *loyalty.Member, locale string) ([]dialog.Reply, error) {
	cs, err := l.prog.Coupons(tx, m.ID)
	if err != nil {
		return nil, err
	}
	names := l.rightNames(tx, locale)
	lines := []string{l.say("loyalty_coupons", locale)}
	for _, c := range cs {
		if c.Status != "active" {
			continue
		}
		name := names[c.Right]
		if name == "" {
			name = c.Right
		}
		lines = append(lines, l.say("loyalty_coupon_item", locale, "{name}", name, "{code}", c.Code, "{expires}", l.date(c.Expires)))
	}
	if len(lines) == 1 {
		return []dialog.Reply{{Text: l.say("loyalty_coupons_empty", locale)}}, nil
	}
	return []dialog.Reply{{Text: strings.Join(lines, "\n")}}, nil
}

func (l *loyaltyChat) rightNames(tx store.Tx, locale string) map[string]string {
	out := map[string]string{}
	rights, err := l.prog.Rights(tx)
	if err != nil {
		return out
	}
	for _, r := range rights {
		out[r.ID] = localized(r.Name, locale)
	}
	return out
}

// offerReason says why an offer cannot be redeemed now.
func (l *loyaltyChat) offerReason(o loyalty.Offer, points int64, locale string) string {
	switch o.Reason {
	case loyalty.OfferFrozen:
		return l.say("loyalty_reason_frozen", locale)
	case loyalty.OfferTier:
		var names []string
		for _, t := range o.Right.Tiers {
			names = append(names, l.tierLabel(t, locale))
		}
		sep := "、"
		if locale == "en" {
			sep = ", "
		}
		return l.say("loyalty_reason_not_eligible", locale, "{tiers}", strings.Join(names, sep))
	case loyalty.OfferBirthday:
		return l.say("loyalty_reason_birthday", locale)
	case loyalty.OfferOutOfStock:
		return l.say("loyalty_reason_out_of_stock", locale)
	case loyalty.OfferLimit:
		return l.say("loyalty_reason_limit", locale)
	}
	return l.say("loyalty_reason_insufficient", locale, "{cost}", fmt.Sprint(o.Cost), "{points}", fmt.Sprint(points))
}

// reason turns a refusal of the programme into words for the customer;
// false means err is a failure, not a refusal.
func (l *loyaltyChat) reason(err error, locale string) (string, bool) {
	switch {
	case errors.Is(err, loyalty.ErrInsufficient):
		return l.say("loyalty_reason_insufficient", locale, "{cost}", "-", "{points}", "-"), true
	case errors.Is(err, loyalty.ErrOutOfStock):
		return l.say("loyalty_reason_out_of_stock", locale), true
	case errors.Is(err, loyalty.ErrLimit):
		return l.say("loyalty_reason_limit", locale), true
	case errors.Is(err, loyalty.ErrNotEligible):
		return l.say("loyalty_reason_birthday", locale), true
	case errors.Is(err, loyalty.ErrFrozen):
		return l.say("loyalty_reason_frozen", locale), true
	case errors.Is(err, loyalty.ErrNoRight):
		return l.say("loyalty_reason_unknown", locale), true
	case errors.Is(err, loyalty.ErrLinkCode):
		return l.say("loyalty_reason_link_code", locale), true
	case errors.Is(err, loyalty.ErrInvalid), errors.Is(err, loyalty.ErrExists):
		return l.say("loyalty_reason_invalid", locale), true
	}
	return "", false
}

// chatTurn runs a command from a chat; in a group the join conversation is
// not started (it would run in the group), the member is invited to join
// in private instead.
func (l *loyaltyChat) chatTurn(tx store.Tx, conv *Conversation, act *dialog.LoyaltyAction, group bool) ([]dialog.Reply, error) {
	if group && act.Command == dialog.LoyaltyJoinStart {
		locale := conv.State.Locale
		return []dialog.Reply{{Text: l.say("loyalty_not_joined", locale), Buttons: []dialog.Button{l.joinButton(locale)}}}, nil
	}
	return l.run(tx, conv, act)
}

// handoffPriority is the queue priority of a loyalty tier.
func (l *loyaltyChat) handoffPriority(tier string) int {
	if t, ok := l.tierRule(tier); ok {
		return t.HandoffPriority
	}
	return 0
}
