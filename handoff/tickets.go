package handoff

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/carebot/carebot/dialog/emotion"
	"github.com/carebot/carebot/store"
)

// Buckets owned by the ticket part of the package.
var (
	bucketTickets = store.RegisterBucket("handoff", "handoff_tickets")
	// bucketActive indexes tickets that are not resolved: id → nil.
	bucketActive = store.RegisterBucket("handoff", "handoff_active")
	// bucketByChat indexes every ticket by conversation: channel, chat, id.
	bucketByChat = store.RegisterBucket("handoff", "handoff_by_chat")
)

// Ticket errors.
var (
	ErrNoTicket = errors.New("no such ticket")
	// ErrConflict is returned when a ticket is not in a state that allows
	// the action, e.g. claiming a ticket another agent holds.
	ErrConflict = errors.New("ticket changed state")
	// ErrForbidden is returned when the account may not act on the ticket.
	ErrForbidden = errors.New("not allowed to act on this ticket")
	// ErrInvalid marks a request whose content is wrong (a missing cause).
	ErrInvalid = errors.New("invalid request")
)

// Status is a ticket's place in its life.
type Status string

// Statuses.
const (
	StatusOpen     Status = "open"     // waiting for an agent
	StatusClaimed  Status = "claimed"  // an agent works it
	StatusResolved Status = "resolved" // done; the bot has the conversation back
)

// Event kinds in a ticket's history.
const (
	EventOpen       = "open"
	EventRaise      = "raise"    // a later message raised the tier
	EventClaim      = "claim"    // an agent took it
	EventReply      = "reply"    // an agent answered the customer
	EventTransfer   = "transfer" // sent to the supervisors' queue
	EventEscalate   = "escalate" // SLA missed: priority up, supervisors notified
	EventResolve    = "resolve"
	EventCSAT       = "csat"       // the customer rated the service
	EventReopen     = "reopen"     // a new complaint within the watch window
	EventRelapse    = "relapse"    // a negative message within the watch window, not enough to reopen
	EventCompensate = "compensate" // a compensation (a coupon) was given
)

// Event is one change of a ticket.
type Event struct {
	Time time.Time `json:"time"`
	Kind string    `json:"kind"`
	// By is the account that acted; empty for the bot and the customer.
	By   string `json:"by,omitempty"`
	Note string `json:"note,omitempty"`
}

// Ticket is a conversation handed to people, and the member's emotion
// archive: what triggered it, who worked it, why it happened, how it ended.
type Ticket struct {
	ID       uint64       `json:"id"`
	Status   Status       `json:"status"`
	Tier     emotion.Tier `json:"tier"`
	Queue    Queue        `json:"queue"`
	Priority int          `json:"priority"`
	// Reason says which rule opened the ticket (Reason* constants).
	Reason  string        `json:"reason"`
	Trigger string        `json:"trigger"` // the customer's message
	Cues    []emotion.Cue `json:"cues,omitempty"`
	Emotion float64       `json:"emotion"`
	VIP     bool          `json:"vip,omitempty"`
	// Silenced is true while the bot stays quiet in the conversation.
	Silenced bool `json:"silenced,omitempty"`

	Channel    string `json:"channel"`
	ChatID     string `json:"chat_id"`
	UserID     string `json:"user_id,omitempty"`
	Member     string `json:"member,omitempty"`
	MemberTier string `json:"member_tier,omitempty"`
	Locale     string `json:"locale,omitempty"`

	Agent     string    `json:"agent,omitempty"`
	Created   time.Time `json:"created"`
	Deadline  time.Time `json:"deadline"`
	Escalated bool      `json:"escalated,omitempty"`
	Claimed   time.Time `json:"claimed,omitzero"`
	Resolved  time.Time `json:"resolved,omitzero"`

	// Cause is the tag chosen at resolution (物流慢, 质量问题 …).
	Cause string `json:"cause,omitempty"`
	// Intervention is what was done for the customer (the bot's apology
	// and compensation, the agent's note at resolution).
	Intervention string `json:"intervention,omitempty"`
	// Outcome is how it ended, from the agent's note and the CSAT score.
	Outcome string `json:"outcome,omitempty"`
	// CSAT is the customer's 1–5 score after resolution, 0 until rated.
	CSAT      int       `json:"csat,omitempty"`
	FollowUps []string  `json:"follow_ups,omitempty"`
	Reopened  int       `json:"reopened,omitempty"`
	Relapses  int       `json:"relapses,omitempty"`
	Events    []Event   `json:"events"`
	Updated   time.Time `json:"updated"`
}

// Active reports whether the ticket still waits for or has an agent.
func (t *Ticket) Active() bool { return t.Status != StatusResolved }

// OpenParams describe a new ticket.
type OpenParams struct {
	Decision   Decision
	Trigger    string
	Cues       []emotion.Cue
	Emotion    float64
	Channel    string
	ChatID     string
	UserID     string
	Member     string
	MemberTier string
	Locale     string
	// Intervention is what the bot did at once (apology, compensation).
	Intervention string
	// ExtraPriority raises the ticket in the queue (a loyalty tier's
	// handoff priority).
	ExtraPriority int
}

// tierPriority ranks tiers for the queue: a severe ticket waits less.
func tierPriority(t emotion.Tier) int { return t.Rank() * 10 }

// Open stores a new ticket from a decision.
func Open(tx store.Tx, p OpenParams, now time.Time) (*Ticket, error) {
	if p.Channel == "" || p.ChatID == "" {
		return nil, errors.New("open ticket: needs a channel and a chat id")
	}
	id, err := tx.NextSequence(bucketTickets)
	if err != nil {
		return nil, fmt.Errorf("open ticket: %w", err)
	}
	d := p.Decision
	t := &Ticket{
		ID: id, Status: StatusOpen, Tier: d.Tier, Queue: d.Action.Queue, Priority: tierPriority(d.Tier),
		Reason: d.Reason, Trigger: p.Trigger, Cues: p.Cues, Emotion: p.Emotion, VIP: d.VIP, Silenced: d.Action.Silence,
		Channel: p.Channel, ChatID: p.ChatID, UserID: p.UserID, Member: p.Member, MemberTier: p.MemberTier, Locale: p.Locale,
		Created: now, Deadline: now.Add(d.Action.SLA), Intervention: p.Intervention, FollowUps: durations(d.Action.FollowUps),
	}
	if d.VIP {
		t.Priority += 5
	}
	t.Priority += p.ExtraPriority
	note := d.Reason
	if d.Alert {
		note += "; supervisor alerted"
	}
	t.event(now, EventOpen, "", note)
	if err := tx.Put(bucketByChat, append(store.Prefix(p.Channel, p.ChatID), store.U64(id)...), nil); err != nil {
		return nil, fmt.Errorf("open ticket: %w", err)
	}
	return t, save(tx, t)
}

func durations(ds []time.Duration) []string {
	var out []string
	for _, d := range ds {
		out = append(out, d.String())
	}
	return out
}

func (t *Ticket) event(now time.Time, kind, by, note string) {
	t.Events = append(t.Events, Event{Time: now, Kind: kind, By: by, Note: note})
	t.Updated = now
}

func save(tx store.Tx, t *Ticket) error {
	key := store.U64(t.ID)
	if err := store.PutJSON(tx, bucketTickets, key, t); err != nil {
		return fmt.Errorf("save ticket %d: %w", t.ID, err)
	}
	var err error
	if t.Active() {
		err = tx.Put(bucketActive, key, nil)
	} else {
		err = tx.Delete(bucketActive, key)
	}
	if err != nil {
		return fmt.Errorf("index ticket %d: %w", t.ID, err)
	}
	return nil
}

// Get loads a ticket.
func Get(tx store.Tx, id uint64) (*Ticket, error) {
	var t Ticket
	found, err := store.GetJSON(tx, bucketTickets, store.U64(id), &t)
	if err != nil {
		return nil, fmt.Errorf("load ticket %d: %w", id, err)
	}
	if !found {
		return nil, fmt.Errorf("ticket %d: %w", id, ErrNoTicket)
	}
	return &t, nil
}

// Raise lifts an open ticket to a higher tier after a worse message: the
// queue, SLA and silence of the new tier apply, the deadline only gets
// earlier, and the history says why.
func Raise(tx store.Tx, id uint64, d Decision, trigger string, cues []emotion.Cue, now time.Time) (*Ticket, error) {
	t, err := Get(tx, id)
	if err != nil {
		return nil, err
	}
	if !t.Active() {
		return t, fmt.Errorf("raise ticket %d: %w", id, ErrConflict)
	}
	changed := false
	if d.Tier.Rank() > t.Tier.Rank() {
		t.Tier, t.Priority, changed = d.Tier, max(t.Priority, tierPriority(d.Tier)), true
		t.Trigger, t.Cues = trigger, cues
		t.Silenced = t.Silenced || d.Action.Silence
		t.FollowUps = durations(d.Action.FollowUps)
		if dl := now.Add(d.Action.SLA); t.Status == StatusOpen && dl.Before(t.Deadline) {
			t.Deadline = dl
		}
	}
	if d.Action.Queue == QueueSupervisor && t.Queue != QueueSupervisor {
		t.Queue, changed = QueueSupervisor, true
	}
	if !changed {
		return t, nil
	}
	t.event(now, EventRaise, "", fmt.Sprintf("%s (%s)", t.Tier, d.Reason))
	return t, save(tx, t)
}

// Claim gives an open ticket to who. Of two agents claiming at once exactly
// one wins: writes are serialised, and the loser sees ErrConflict.
func Claim(tx store.Tx, id uint64, who Account, now time.Time) (*Ticket, error) {
	t, err := Get(tx, id)
	if err != nil {
		return nil, err
	}
	if t.Status != StatusOpen {
		return t, fmt.Errorf("claim ticket %d (%s by %s): %w", id, t.Status, t.Agent, ErrConflict)
	}
	if !CanWork(who, t) {
		return t, fmt.Errorf("claim ticket %d: %w", id, ErrForbidden)
	}
	t.Status, t.Agent, t.Claimed = StatusClaimed, who.Name, now
	t.event(now, EventClaim, who.Name, "")
	return t, save(tx, t)
}

// CanWork reports whether who may act on t: agents on the agent queue and
// their own tickets, supervisors and admins on all.
func CanWork(who Account, t *Ticket) bool {
	if who.Role.AtLeast(RoleSupervisor) {
		return true
	}
	return t.Agent == who.Name || (t.Agent == "" && t.Queue == QueueAgent)
}

// CanSee reports whether who may read t: what they can work, and their
// past tickets.
func CanSee(who Account, t *Ticket) bool {
	return CanWork(who, t) || t.Agent == who.Name
}

// Reply records that who answered the customer; the answer itself goes
// through the outbox. A reply to an open ticket claims it.
func Reply(tx store.Tx, id uint64, who Account, text string, now time.Time) (*Ticket, error) {
	t, err := Get(tx, id)
	if err != nil {
		return nil, err
	}
	if !CanWork(who, t) {
		return t, fmt.Errorf("reply on ticket %d: %w", id, ErrForbidden)
	}
	switch {
	case t.Status == StatusResolved:
		return t, fmt.Errorf("reply on ticket %d (resolved): %w", id, ErrConflict)
	case t.Status == StatusClaimed && t.Agent != who.Name && !who.Role.AtLeast(RoleSupervisor):
		return t, fmt.Errorf("reply on ticket %d (claimed by %s): %w", id, t.Agent, ErrConflict)
	case t.Status == StatusOpen:
		t.Status, t.Agent, t.Claimed = StatusClaimed, who.Name, now
		t.event(now, EventClaim, who.Name, "by replying")
	}
	t.event(now, EventReply, who.Name, clipNote(text))
	return t, save(tx, t)
}

// Transfer hands a ticket to the supervisors' queue, unclaimed, so any
// supervisor can take it.
func Transfer(tx store.Tx, id uint64, who Account, note string, now time.Time) (*Ticket, error) {
	t, err := Get(tx, id)
	if err != nil {
		return nil, err
	}
	if !CanWork(who, t) {
		return t, fmt.Errorf("transfer ticket %d: %w", id, ErrForbidden)
	}
	if !t.Active() {
		return t, fmt.Errorf("transfer ticket %d (resolved): %w", id, ErrConflict)
	}
	t.Queue, t.Status, t.Agent = QueueSupervisor, StatusOpen, ""
	t.Priority++
	t.event(now, EventTransfer, who.Name, clipNote(note))
	return t, save(tx, t)
}

// Resolve closes a ticket with a cause tag from causes (any tag when causes
// is empty) and an optional note on what was done.
func Resolve(tx store.Tx, id uint64, who Account, cause, note string, causes []string, now time.Time) (*Ticket, error) {
	cause = strings.TrimSpace(cause)
	if cause == "" {
		return nil, fmt.Errorf("resolve: a cause tag is required: %w", ErrInvalid)
	}
	if len(causes) > 0 && !slices.Contains(causes, cause) {
		return nil, fmt.Errorf("resolve: cause %q is not one of %s: %w", cause, strings.Join(causes, ", "), ErrInvalid)
	}
	t, err := Get(tx, id)
	if err != nil {
		return nil, err
	}
	if !CanWork(who, t) || (t.Status == StatusClaimed && t.Agent != who.Name && !who.Role.AtLeast(RoleSupervisor)) {
		return t, fmt.Errorf("resolve ticket %d: %w", id, ErrForbidden)
	}
	if !t.Active() {
		return t, fmt.Errorf("resolve ticket %d (already resolved): %w", id, ErrConflict)
	}
	if t.Agent == "" {
		t.Agent, t.Claimed = who.Name, now
	}
	t.Status, t.Resolved, t.Cause, t.Silenced = StatusResolved, now, cause, false
	if note = clipNote(note); note != "" {
		t.Intervention = joinNotes(t.Intervention, note)
		t.Outcome = note
	}
	t.event(now, EventResolve, who.Name, cause)
	return t, save(tx, t)
}

// Compensated records on the ticket that who (empty for the bot) gave the
// customer a compensation, described by note.
func Compensated(tx store.Tx, id uint64, who, note string, now time.Time) (*Ticket, error) {
	t, err := Get(tx, id)
	if err != nil {
		return nil, err
	}
	note = clipNote(note)
	t.Intervention = joinNotes(t.Intervention, note)
	t.event(now, EventCompensate, who, note)
	return t, save(tx, t)
}

// RecordCSAT stores the customer's 1–5 satisfaction score on a resolved
// ticket. A second answer replaces the first.
func RecordCSAT(tx store.Tx, id uint64, score int, now time.Time) (*Ticket, error) {
	if score < 1 || score > 5 {
		return nil, fmt.Errorf("csat score %d is not 1–5: %w", score, ErrInvalid)
	}
	t, err := Get(tx, id)
	if err != nil {
		return nil, err
	}
	t.CSAT = score
	outcome := "satisfied"
	if score <= 2 {
		outcome = "dissatisfied"
	} else if score == 3 {
		outcome = "neutral"
	}
	t.Outcome = joinNotes(t.Outcome, fmt.Sprintf("csat %d (%s)", score, outcome))
	t.event(now, EventCSAT, "", fmt.Sprint(score))
	return t, save(tx, t)
}

// Reopen brings a resolved ticket back after a new complaint within the
// watch window, at the tier of the new decision if that is higher.
func Reopen(tx store.Tx, id uint64, d Decision, trigger string, cues []emotion.Cue, now time.Time) (*Ticket, error) {
	t, err := Get(tx, id)
	if err != nil {
		return nil, err
	}
	if t.Active() {
		return Raise(tx, id, d, trigger, cues, now)
	}
	if d.Tier.Rank() > t.Tier.Rank() {
		t.Tier = d.Tier
	}
	t.Status, t.Agent, t.Claimed, t.Resolved = StatusOpen, "", time.Time{}, time.Time{}
	t.Queue = d.Action.Queue
	if t.Queue == "" {
		t.Queue = QueueAgent
	}
	t.Priority = tierPriority(t.Tier) + 5 // a second complaint waits less
	t.Trigger, t.Cues, t.Silenced = trigger, cues, d.Action.Silence
	t.Deadline, t.Escalated = now.Add(d.Action.SLA), false
	t.Reopened++
	t.event(now, EventReopen, "", d.Reason)
	return t, save(tx, t)
}

// Relapse notes on a resolved ticket that the customer is unhappy again,
// without reopening it.
func Relapse(tx store.Tx, id uint64, trigger string, now time.Time) (*Ticket, error) {
	t, err := Get(tx, id)
	if err != nil {
		return nil, err
	}
	t.Relapses++
	t.event(now, EventRelapse, "", clipNote(trigger))
	return t, save(tx, t)
}

// EscalateOverdue raises every open ticket whose claim deadline has passed
// and that was not escalated yet: priority up, moved to the supervisors'
// queue. It returns the tickets it escalated, for notifications.
func EscalateOverdue(tx store.Tx, now time.Time) ([]*Ticket, error) {
	var due []*Ticket
	err := ListActive(tx, func(t *Ticket) error {
		if t.Status == StatusOpen && !t.Escalated && !now.Before(t.Deadline) {
			due = append(due, t)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, t := range due {
		t.Escalated = true
		t.Priority += 10
		t.Queue = QueueSupervisor
		t.event(now, EventEscalate, "", fmt.Sprintf("not claimed within the SLA (deadline %s)", t.Deadline.Format(time.RFC3339)))
		if err := save(tx, t); err != nil {
			return nil, err
		}
	}
	return due, nil
}

// ListActive calls fn with every ticket that is not resolved.
func ListActive(tx store.Tx, fn func(*Ticket) error) error {
	return tx.Scan(bucketActive, nil, func(k, _ []byte) error {
		t, err := Get(tx, store.ParseU64(k))
		if err != nil {
			return err
		}
		return fn(t)
	})
}

// ResolvedSince calls fn with every resolved ticket whose resolution is
// not before since, newest ticket first; it stops at the first ticket
// (by id) created before since - maxAge, since tickets resolve in order of
// creation within maxAge.
func ResolvedSince(tx store.Tx, since time.Time, maxAge time.Duration, fn func(*Ticket) error) error {
	return tx.ScanReverse(bucketTickets, nil, func(_, v []byte) error {
		var t Ticket
		if err := store.DecodeJSON(v, &t); err != nil {
			return err
		}
		if t.Created.Before(since.Add(-maxAge)) {
			return store.ErrStop
		}
		if t.Status != StatusResolved || t.Resolved.Before(since) {
			return nil
		}
		return fn(&t)
	})
}

// Filter selects tickets for a list.
type Filter struct {
	// Status: "open", "claimed", "resolved", "active" (open or claimed) or
	// "" for active.
	Status string
	// Limit caps resolved tickets returned (newest first); 0 means 100.
	Limit int
}

// List returns the tickets who may see, sorted for the queue: escalated
// first, then by deadline, then by priority.
func List(tx store.Tx, who Account, f Filter) ([]*Ticket, error) {
	var out []*Ticket
	keep := func(t *Ticket) error {
		if CanSee(who, t) && (f.Status == "" || f.Status == "active" || string(t.Status) == f.Status) {
			out = append(out, t)
		}
		return nil
	}
	switch f.Status {
	case "", "active", string(StatusOpen), string(StatusClaimed):
		if err := ListActive(tx, keep); err != nil {
			return nil, err
		}
		SortQueue(out)
	case string(StatusResolved):
		limit := f.Limit
		if limit <= 0 {
			limit = 100
		}
		err := tx.ScanReverse(bucketTickets, nil, func(_, v []byte) error {
			if len(out) >= limit {
				return store.ErrStop
			}
			var t Ticket
			if err := store.DecodeJSON(v, &t); err != nil {
				return err
			}
			return keep(&t)
		})
		if err != nil {
			return nil, fmt.Errorf("list tickets: %w", err)
		}
	default:
		return nil, fmt.Errorf("unknown ticket state %q (open, claimed, resolved, active)", f.Status)
	}
	return out, nil
}

// SortQueue orders tickets as the queue shows them: open before claimed,
// escalated first, earliest deadline, then highest priority.
func SortQueue(ts []*Ticket) {
	slices.SortStableFunc(ts, func(a, b *Ticket) int {
		if (a.Status == StatusOpen) != (b.Status == StatusOpen) {
			if a.Status == StatusOpen {
				return -1
			}
			return 1
		}
		if a.Escalated != b.Escalated {
			if a.Escalated {
				return -1
			}
			return 1
		}
		if c := a.Deadline.Compare(b.Deadline); c != 0 {
			return c
		}
		if a.Priority != b.Priority {
			return b.Priority - a.Priority
		}
		return int(a.ID) - int(b.ID)
	})
}

// ByChat returns the tickets of one conversation, newest first.
func ByChat(tx store.Tx, channel, chatID string, limit int) ([]*Ticket, error) {
	var out []*Ticket
	err := tx.ScanReverse(bucketByChat, store.Prefix(channel, chatID), func(k, _ []byte) error {
		if len(out) >= limit {
			return store.ErrStop
		}
		t, err := Get(tx, store.ParseU64(k[len(k)-8:]))
		if err != nil {
			return err
		}
		out = append(out, t)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("tickets of %s/%s: %w", channel, chatID, err)
	}
	return out, nil
}

func clipNote(s string) string {
	s = strings.TrimSpace(strings.ToValidUTF8(s, "\uFFFD"))
	if r := []rune(s); len(r) > 500 {
		return string(r[:500]) + "…"
	}
	return s
}

func joinNotes(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}
