package dialog

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/carebot/carebot/dialog/emotion"
	"github.com/carebot/carebot/handoff"
)

// PayloadCSATPrefix starts the payload of a satisfaction button:
// "csat:TICKET:SCORE".
const PayloadCSATPrefix = "csat:"

// Outcome of a turn handed to people.
const OutcomeHandoff Outcome = "handoff"

// HandoffState is what a conversation remembers of its tickets.
type HandoffState struct {
	// Ticket is the open ticket of the conversation, 0 when none.
	Ticket uint64 `json:"ticket,omitempty"`
	// Tier of the open ticket.
	Tier emotion.Tier `json:"tier,omitempty"`
	// Silenced is true while the bot leaves the conversation to people.
	Silenced bool `json:"silenced,omitempty"`
	// Notice is when the customer was last told a person will come.
	Notice time.Time `json:"notice,omitzero"`
	// LastTicket and Resolved identify the latest resolved ticket, watched
	// for a relapse for the rules' reopen window.
	LastTicket uint64    `json:"last_ticket,omitempty"`
	Resolved   time.Time `json:"resolved,omitzero"`
}

// Handoff kinds in a Result: what bot must do with tickets.
const (
	HandoffOpen    = "open"    // open a ticket from Decision
	HandoffRaise   = "raise"   // raise the open Ticket to Decision's tier
	HandoffReopen  = "reopen"  // reopen the resolved Ticket
	HandoffRelapse = "relapse" // note a negative message on the resolved Ticket
	HandoffMessage = "message" // the customer wrote while people have the conversation
)

// HandoffAction asks bot to change tickets in the turn's transaction.
type HandoffAction struct {
	Kind     string
	Ticket   uint64
	Decision handoff.Decision
	// Compensate is true when the tier offers a small compensation.
	Compensate bool
}

// CSATAnswer is a customer's rating of a resolved ticket.
type CSATAnswer struct {
	Ticket uint64
	Score  int
}

// CSATButtons are the 1–5 buttons of a satisfaction prompt for a ticket.
func CSATButtons(ticket uint64) []Button {
	labels := []string{"1 😞", "2 🙁", "3 😐", "4 🙂", "5 😄"}
	bs := make([]Button, len(labels))
	for i, l := range labels {
		bs[i] = Button{Label: l, Payload: fmt.Sprintf("%s%d:%d", PayloadCSATPrefix, ticket, i+1)}
	}
	return bs
}

func parseCSAT(payload string) (CSATAnswer, bool) {
	rest, ok := strings.CutPrefix(payload, PayloadCSATPrefix)
	if !ok {
		return CSATAnswer{}, false
	}
	id, score, ok := strings.Cut(rest, ":")
	if !ok {
		return CSATAnswer{}, false
	}
	t, err1 := strconv.ParseUint(id, 10, 64)
	s, err2 := strconv.Atoi(score)
	if err1 != nil || err2 != nil || t == 0 || s < 1 || s > 5 {
		return CSATAnswer{}, false
	}
	return CSATAnswer{Ticket: t, Score: s}, true
}

// careTurn scores the turn's emotion and applies the handoff rules before
// the routing table. It reports whether the turn is fully handled; a mild
// turn is not — the bot apologises and goes on answering — and is reported
// by mild so that Respond adds the follow-up promise after the answer.
func (r *Router) careTurn(c *Context) (handled, mild bool) {
	if a, ok := parseSurvey(c.Turn.Payload); ok {
		// Bot records the answer and writes the thanks, which depend on
		// the score (a low one brings a person) and the points earned.
		c.Result.Survey = &a
		c.Result.Route = "survey"
		return true, false
	}
	if a, ok := parseCSAT(c.Turn.Payload); ok {
		c.Result.CSAT = &a
		c.Result.Route = "csat"
		c.Say("csat_thanks")
		return true, false
	}
	// A loyalty command (积分, 签到 …) or an answer in the join
	// conversation carries no emotion, and typing 签到 again tomorrow is
	// not a repeated question.
	command := r.opts.Loyalty && (c.State.Join.Step != "" || loyaltyCommand(c) != nil)
	var score emotion.Result
	if r.opts.Emotion != nil && c.Turn.Payload == "" && c.Text != "" && !command {
		score = r.opts.Emotion.Observe(&c.State.Emotion, c.Text, c.Turn.Time)
		c.Result.Emotion = &score
	}
	rules := r.opts.Handoff
	if rules == nil || c.Turn.Group {
		// Tickets are for private conversations: an agent's answer to one
		// customer does not belong in a member group.
		return false, false
	}
	hs := &c.State.Handoff
	if command && !(hs.Ticket != 0 && hs.Silenced) {
		return false, false
	}
	negative := score.Label == emotion.LabelNegative
	d := rules.Decide(handoff.Input{
		Tier: score.Tier, Negative: negative, Running: c.State.Emotion.Value,
		Negatives: c.State.Emotion.Negatives, Unanswered: c.State.Unanswered,
		Requested: c.Turn.Payload == "" && rules.IsRequest(c.Norm), MemberTier: c.Turn.MemberTier,
	})
	if hs.Ticket != 0 {
		return r.activeTicketTurn(c, d), false
	}
	withinWindow := hs.LastTicket != 0 && rules.ReopenWindow > 0 && c.Turn.Time.Sub(hs.Resolved) <= rules.ReopenWindow
	if !d.Open {
		if negative && withinWindow {
			c.Result.Handoff = &HandoffAction{Kind: HandoffRelapse, Ticket: hs.LastTicket, Decision: d}
		}
		return false, false
	}
	act := &HandoffAction{Kind: HandoffOpen, Decision: d, Compensate: d.Action.Compensate}
	if withinWindow {
		act.Kind, act.Ticket = HandoffReopen, hs.LastTicket
	}
	c.Result.Handoff = act
	hs.Tier, hs.Silenced = d.Tier, d.Action.Silence
	if !d.Action.Silence {
		c.Say("handoff_mild")
		return false, true
	}
	r.announce(c, d)
	return true, false
}

// activeTicketTurn handles a turn while the conversation has a ticket: a
// worse message raises it, and while people have the conversation the bot
// only acknowledges, at most once per waiting notice.
func (r *Router) activeTicketTurn(c *Context, d handoff.Decision) bool {
	hs := &c.State.Handoff
	raise := d.Open && (d.Tier.Rank() > hs.Tier.Rank() || (d.Alert && d.Action.Queue == handoff.QueueSupervisor))
	if raise {
		c.Result.Handoff = &HandoffAction{Kind: HandoffRaise, Ticket: hs.Ticket, Decision: d}
		if d.Tier.Rank() > hs.Tier.Rank() {
			hs.Tier = d.Tier
		}
		if d.Action.Silence && !hs.Silenced {
			hs.Silenced = true
			r.announce(c, d)
			return true
		}
	}
	if !hs.Silenced {
		return false
	}
	if c.Result.Handoff == nil {
		c.Result.Handoff = &HandoffAction{Kind: HandoffMessage, Ticket: hs.Ticket, Decision: d}
	}
	c.Result.Route, c.Result.Outcome = "handoff-waiting", OutcomeHandoff
	if hs.Notice.IsZero() || c.Turn.Time.Sub(hs.Notice) >= r.opts.WaitingNotice {
		hs.Notice = c.Turn.Time
		c.Say("handoff_waiting")
	}
	return true
}

// announce tells the customer a person will join and how soon.
func (r *Router) announce(c *Context, d handoff.Decision) {
	key := "handoff_moderate"
	if d.Tier == emotion.TierSevere {
		key = "handoff_severe"
	}
	c.Result.Route, c.Result.Outcome = "handoff", OutcomeHandoff
	c.State.Handoff.Notice = c.Turn.Time
	c.Reply(strings.ReplaceAll(r.text(key, c.Locale), "{wait}", HumanDuration(d.Action.SLA, c.Locale)))
}

// HumanDuration writes d for a customer: "10 分钟", "1 小時", "4 hours".
func HumanDuration(d time.Duration, locale string) string {
	type unit struct {
		size         time.Duration
		zhs, zht, en string
		enPlural     string
	}
	units := []unit{
		{24 * time.Hour, "天", "天", "day", "days"},
		{time.Hour, "小时", "小時", "hour", "hours"},
		{time.Minute, "分钟", "分鐘", "minute", "minutes"},
	}
	for _, u := range units {
		if d >= u.size && d%u.size == 0 || u.size == time.Minute {
			n := max(1, int((d+u.size/2)/u.size))
			switch locale {
			case "zh-Hant":
				return fmt.Sprintf("%d %s", n, u.zht)
			case "en":
				if n == 1 {
					return "1 " + u.en
				}
				return fmt.Sprintf("%d %s", n, u.enPlural)
			default:
				return fmt.Sprintf("%d %s", n, u.zhs)
			}
		}
	}
	return d.String()
}
