package handoff

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/carebot/carebot/dialog/emotion"
)

// Queue names who works a ticket.
type Queue string

// Queues.
const (
	QueueAgent      Queue = "agent"
	QueueSupervisor Queue = "supervisor"
)

// ParseQueue checks a queue name from configuration.
func ParseQueue(s string) (Queue, error) {
	switch q := Queue(s); q {
	case QueueAgent, QueueSupervisor:
		return q, nil
	}
	return "", fmt.Errorf("queue %q is neither agent nor supervisor", s)
}

// Action is what carebot does for a tier.
type Action struct {
	// Queue is where the ticket goes.
	Queue Queue
	// SLA is how long the ticket may wait for a claim before it is escalated.
	SLA time.Duration
	// Silence keeps the bot quiet in the conversation while the ticket is
	// open: a person has been promised and the bot should not talk over them.
	Silence bool
	// FollowUps are the delays after resolution at which the customer gets a
	// follow-up message.
	FollowUps []time.Duration
	// Compensate asks for a small compensation (a coupon) with the apology.
	Compensate bool
}

// Reasons a ticket was opened, stored on it.
const (
	ReasonMessage     = "message"               // the message's own tier
	ReasonRequest     = "request"               // the customer asked for a person
	ReasonRunning     = "running"               // the conversation's running emotion
	ReasonUnanswered  = "unanswered"            // failed answers and a negative turn
	ReasonConsecutive = "consecutive_negatives" // N negative messages in a row
	ReasonSurvey      = "survey"                // a low survey score or a call for help in one
)

// Rules turn a turn's emotion into a handoff decision. The zero value opens
// nothing; DefaultRules holds the care rules carebot ships with.
type Rules struct {
	// Actions by tier (mild, moderate, severe).
	Actions map[emotion.Tier]Action
	// ConsecutiveNegatives negative messages in a row alert a supervisor even
	// when no single message reaches moderate; 0 turns the rule off.
	ConsecutiveNegatives int
	// UnansweredLimit failed answers in a row followed by a negative message
	// make the turn at least moderate; 0 turns the rule off.
	UnansweredLimit int
	// RunningThreshold: a running emotion at or below it makes the turn at
	// least moderate; 0 turns the rule off.
	RunningThreshold float64
	// VIPTiers are member tiers that get a human one tier earlier.
	VIPTiers []string
	// ReopenWindow is how long after a resolution a new negative message
	// reopens or links the resolved ticket (二次情绪监测).
	ReopenWindow time.Duration
	// RequestWords are messages that ask for a person ("转人工", "human"),
	// compared with the normalised message stripped of punctuation.
	RequestWords []string
}

// DefaultRules returns carebot's default care rules.
func DefaultRules() Rules {
	return Rules{
		Actions: map[emotion.Tier]Action{
			emotion.TierMild:     {Queue: QueueAgent, SLA: 10 * time.Minute, Compensate: true},
			emotion.TierModerate: {Queue: QueueAgent, SLA: time.Hour, Silence: true},
			emotion.TierSevere:   {Queue: QueueSupervisor, SLA: 4 * time.Hour, Silence: true, FollowUps: []time.Duration{24 * time.Hour, 72 * time.Hour}},
		},
		ConsecutiveNegatives: 3,
		UnansweredLimit:      2,
		RunningThreshold:     -0.6,
		VIPTiers:             []string{"gold", "diamond"},
		ReopenWindow:         7 * 24 * time.Hour,
		RequestWords: []string{
			"人工", "转人工", "人工客服", "真人", "找人工", "要人工", "我要人工", "转人工客服", "人工服务", "找客服", "真人客服", "活人",
			"human", "agent", "real person", "talk to a human", "speak to a human", "talk to a person", "human agent", "live agent", "operator", "speak to someone", "talk to someone",
		},
	}
}

// Input is what a decision is made from.
type Input struct {
	// Tier and Negative describe the message.
	Tier     emotion.Tier
	Negative bool
	// Running is the conversation's running emotion in [-1, 1].
	Running float64
	// Negatives counts negative messages in a row, this one included.
	Negatives int
	// Unanswered counts the bot's failed answers in a row before this turn.
	Unanswered int
	// Requested is true when the customer asked for a person.
	Requested bool
	// MemberTier is the customer's loyalty tier, "" when unknown.
	MemberTier string
}

// Decision is the outcome of Decide.
type Decision struct {
	// Open is true when a ticket should be opened (or an open one raised).
	Open bool
	// Tier is the effective tier after the rules (VIP, request, running).
	Tier   emotion.Tier
	Reason string
	Action Action
	// VIP is true when the member's tier moved the decision up.
	VIP bool
	// Alert is true when a supervisor must be alerted (consecutive negatives
	// or a severe tier).
	Alert bool
}

// Decide applies the rules to one turn.
func (r Rules) Decide(in Input) Decision {
	tier, reason := in.Tier, ReasonMessage
	raise := func(to emotion.Tier, why string) {
		if to.Rank() > tier.Rank() {
			tier, reason = to, why
		}
	}
	if in.Requested {
		raise(emotion.TierModerate, ReasonRequest)
	}
	if r.RunningThreshold < 0 && in.Negative && in.Running <= r.RunningThreshold {
		raise(emotion.TierModerate, ReasonRunning)
	}
	if r.UnansweredLimit > 0 && in.Negative && in.Unanswered >= r.UnansweredLimit {
		raise(emotion.TierModerate, ReasonUnanswered)
	}
	d := Decision{Tier: tier, Reason: reason}
	if r.IsVIP(in.MemberTier) && tier != emotion.TierNone && tier != emotion.TierSevere {
		d.VIP = true
		if tier == emotion.TierMild {
			d.Tier = emotion.TierModerate
		} else {
			d.Tier = emotion.TierSevere
		}
	}
	consecutive := r.ConsecutiveNegatives
	if consecutive > 1 && r.IsVIP(in.MemberTier) {
		consecutive--
	}
	if d.Tier == emotion.TierNone {
		if !(consecutive > 0 && in.Negatives >= consecutive) {
			return d
		}
		d.Tier = emotion.TierMild
	}
	act, ok := r.Actions[d.Tier]
	if !ok {
		return Decision{Tier: d.Tier, Reason: d.Reason}
	}
	d.Open, d.Action = true, act
	d.Alert = d.Tier == emotion.TierSevere
	if consecutive > 0 && in.Negatives >= consecutive && d.Tier != emotion.TierSevere {
		// Several unhappy messages in a row matter even when each is mild:
		// a supervisor looks at the conversation, the bot's behaviour stays
		// that of the tier reached.
		d.Alert = true
		d.Action.Queue = QueueSupervisor
		if d.Reason == ReasonMessage {
			d.Reason = ReasonConsecutive
		}
	}
	return d
}

// IsVIP reports whether memberTier gets a human one tier earlier.
func (r Rules) IsVIP(memberTier string) bool {
	return memberTier != "" && slices.Contains(r.VIPTiers, strings.ToLower(memberTier))
}

// IsRequest reports whether norm, a normalised message (Simplified, lower
// case), asks for a person. Short words ("人工", "human") must be the whole
// message, so "人工智能" or "human error" are not requests; longer phrases
// ("转人工", "talk to a human") count anywhere in it.
func (r Rules) IsRequest(norm string) bool {
	s := strings.TrimFunc(norm, func(c rune) bool {
		return strings.ContainsRune(" \t\r\n.,!?;:~…。，！？；：、～·'\"“”‘’()（）[]【】", c)
	})
	s = strings.Join(strings.Fields(s), " ")
	for _, p := range []string{"please ", "pls ", "i want to ", "i want ", "i need to ", "i need ", "can i ", "let me ", "请", "帮我", "给我", "我要", "我想"} {
		s = strings.TrimPrefix(s, p)
	}
	for _, w := range r.RequestWords {
		if s == w || (isPhrase(w) && strings.Contains(s, w)) {
			return true
		}
	}
	return false
}

func isPhrase(w string) bool {
	return strings.Contains(w, " ") || (utf8.RuneCountInString(w) >= 3 && w[0] >= 0x80)
}
