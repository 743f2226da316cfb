package bot

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/carebot/carebot/configs"
	"github.com/carebot/carebot/dialog"
	"github.com/carebot/carebot/dialog/emotion"
	"github.com/carebot/carebot/handoff"
	"github.com/carebot/carebot/loyalty"
	"github.com/carebot/carebot/segment"
	"github.com/carebot/carebot/stats"
	"github.com/carebot/carebot/store"
)

// Compensator gives a customer a small compensation with a mild apology
// (a coupon, when the loyalty programme is on) and returns the message that
// tells them, or "" when it gave nothing.
type Compensator func(tx store.Tx, t *handoff.Ticket) (string, error)

// Care turns handoff decisions into tickets, messages to customers and
// staff, and console events, always inside the caller's transaction.
type Care struct {
	rules      handoff.Rules
	causes     []string
	staff      []configs.StaffChat
	csat       bool
	router     *dialog.Router
	outbox     *Outbox
	hub        *ticketHub
	log        *slog.Logger
	compensate Compensator
	// tierPriority is the queue priority a loyalty tier adds; nil adds none.
	tierPriority func(tier string) int
	// prog credits survey points; nil without the loyalty programme.
	prog *loyalty.Program
	// npsLow and csatLow: answers at or below open a mild follow-up
	// ticket (-1 and 0 turn them off).
	npsLow, csatLow int
	// stats records ticket changes in the daily aggregates.
	stats *stats.Recorder
	// careSendAt moves a proactive message out of the member's quiet
	// hours; nil leaves times as they are (care off).
	careSendAt func(tx store.Tx, member string, t time.Time) time.Time
}

// handoffRules builds the rules from configuration.
func handoffRules(h configs.Handoff) handoff.Rules {
	r := handoff.DefaultRules()
	action := func(a configs.TierAction) handoff.Action {
		out := handoff.Action{Queue: handoff.Queue(a.Queue), SLA: a.SLA.D(), Silence: a.Silence, Compensate: a.Compensate}
		for _, f := range a.FollowUps {
			out.FollowUps = append(out.FollowUps, f.D())
		}
		return out
	}
	r.Actions = map[emotion.Tier]handoff.Action{
		emotion.TierMild:     action(h.Mild),
		emotion.TierModerate: action(h.Moderate),
		emotion.TierSevere:   action(h.Severe),
	}
	r.ConsecutiveNegatives = h.ConsecutiveNegatives
	r.UnansweredLimit = h.UnansweredLimit
	r.RunningThreshold = h.RunningThreshold
	r.VIPTiers = h.VIPTiers
	r.ReopenWindow = h.ReopenWindow.D()
	if len(h.RequestWords) > 0 {
		r.RequestWords = h.RequestWords
	}
	return r
}

// applyTurn carries out the turn's ticket change and returns the ticket the
// turn belongs to (0 when none) and any extra replies (a compensation).
func (c *Care) applyTurn(tx store.Tx, conv *Conversation, text string, res *dialog.Result, now time.Time) (uint64, []dialog.Reply, error) {
	act := res.Handoff
	hs := &conv.State.Handoff
	var score emotion.Result
	if res.Emotion != nil {
		score = *res.Emotion
	}
	var t, before *handoff.Ticket
	var err error
	switch act.Kind {
	case dialog.HandoffOpen:
		t, err = handoff.Open(tx, handoff.OpenParams{
			Decision: act.Decision, Trigger: clipNote(text), Cues: score.Cues, Emotion: score.Value,
			Channel: conv.Channel, ChatID: conv.ChatID, UserID: conv.UserID, Member: conv.Member, MemberTier: conv.MemberTier,
			Locale: conv.State.Locale, Intervention: intervention(act), ExtraPriority: c.priorityOf(conv.MemberTier),
		}, now)
	case dialog.HandoffReopen:
		t, err = handoff.Reopen(tx, act.Ticket, act.Decision, clipNote(text), score.Cues, now)
		hs.LastTicket, hs.Resolved = 0, time.Time{}
	case dialog.HandoffRaise:
		if before, err = handoff.Get(tx, act.Ticket); err == nil {
			t, err = handoff.Raise(tx, act.Ticket, act.Decision, clipNote(text), score.Cues, now)
		}
	case dialog.HandoffRelapse:
		t, err = handoff.Relapse(tx, act.Ticket, clipNote(text), now)
	case dialog.HandoffMessage:
		t, err = handoff.Get(tx, act.Ticket)
	default:
		return 0, nil, fmt.Errorf("unknown handoff action %q", act.Kind)
	}
	if errors.Is(err, handoff.ErrNoTicket) || errors.Is(err, handoff.ErrConflict) {
		// The state points at a ticket that is gone or already closed (a
		// restored backup, a resolve racing this turn): forget it rather
		// than wedge the conversation; the next negative turn opens anew.
		c.log.Warn("conversation pointed at an unusable ticket", "ticket", act.Ticket, "err", err)
		*hs = dialog.HandoffState{}
		return 0, nil, nil
	}
	if err != nil {
		return 0, nil, fmt.Errorf("handoff %s: %w", act.Kind, err)
	}
	if act.Kind == dialog.HandoffOpen || act.Kind == dialog.HandoffReopen {
		hs.Ticket = t.ID
	}
	if act.Kind == dialog.HandoffRelapse {
		if err := c.changed(tx, t, "relapse"); err != nil {
			return 0, nil, err
		}
		return t.ID, nil, nil
	}
	var extra []dialog.Reply
	if act.Compensate && c.compensate != nil && act.Kind == dialog.HandoffOpen {
		msg, err := c.compensate(tx, t)
		if err != nil {
			return 0, nil, fmt.Errorf("compensate ticket %d: %w", t.ID, err)
		}
		if msg != "" {
			extra = append(extra, dialog.Reply{Text: msg})
		}
	}
	alert := act.Decision.Alert && act.Kind != dialog.HandoffMessage
	if alert {
		if err := c.notifyStaff(tx, t, now); err != nil {
			return 0, nil, err
		}
	}
	kind := act.Kind
	if alert {
		kind = "alert"
	}
	if err := c.changed(tx, t, kind, before); err != nil {
		return 0, nil, err
	}
	return t.ID, extra, nil
}

func (c *Care) priorityOf(tier string) int {
	if c.tierPriority == nil || tier == "" {
		return 0
	}
	return c.tierPriority(tier)
}

func intervention(act *dialog.HandoffAction) string {
	switch {
	case !act.Decision.Action.Silence:
		return "bot apologised and kept answering; agent follow-up"
	case act.Decision.Tier == emotion.TierSevere:
		return "bot apologised and handed over to a supervisor"
	}
	return "bot apologised and handed over to an agent"
}

// notifyStaff queues an alert about t to every configured staff chat.
func (c *Care) notifyStaff(tx store.Tx, t *handoff.Ticket, now time.Time) error {
	for _, s := range c.staff {
		text := c.router.Text("staff_alert", "")
		text = strings.NewReplacer("{ticket}", fmt.Sprint(t.ID), "{tier}", string(t.Tier), "{reason}", t.Reason, "{trigger}", t.Trigger).Replace(text)
		row := OutboxRow{Channel: s.Channel, ChatID: s.ChatID, Text: text, SendAt: now, Kind: "staff",
			Key: fmt.Sprintf("staff:%s:%s:%d:%d", s.Channel, s.ChatID, t.ID, len(t.Events))}
		if _, err := c.outbox.Enqueue(tx, row); err != nil {
			return fmt.Errorf("notify staff chat %s/%s: %w", s.Channel, s.ChatID, err)
		}
	}
	return nil
}

func clipNote(s string) string {
	if r := []rune(s); len(r) > 500 {
		return string(r[:500]) + "…"
	}
	return s
}

// NewEmotionScorer builds the scorer cfg describes: the embedded lexicons,
// then emotion.lexicons, and emotion.model blended in when set. The server
// and the emotion commands share it so they score alike.
func NewEmotionScorer(cfg *configs.Config) (*emotion.Scorer, error) {
	ec := cfg.Emotion
	lex, err := emotion.LoadDefaultLexicon(configs.FS, configs.EmotionDir, ec.Lexicons...)
	if err != nil {
		return nil, fmt.Errorf("emotion lexicons: %w", err)
	}
	opts := emotion.Options{
		ModelWeight:     ec.ModelWeight,
		HalfLife:        ec.HalfLife.D(),
		TurnDecay:       ec.TurnDecay,
		MildBelow:       ec.MildBelow,
		ModerateBelow:   ec.ModerateBelow,
		PositiveAbove:   ec.PositiveAbove,
		RecentQuestions: ec.RecentQuestions,
	}
	if ec.Model != "" {
		if opts.Model, err = emotion.LoadModel(ec.Model); err != nil {
			return nil, fmt.Errorf("emotion model: %w", err)
		}
	}
	var seg *segment.Segmenter
	if opts.Model != nil && opts.Model.Words {
		if seg, err = segment.Shared(cfg.Jieba.DictDir); err != nil {
			return nil, fmt.Errorf("jieba: %w", err)
		}
	}
	return emotion.NewScorer(seg, lex, opts)
}
