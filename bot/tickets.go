package bot

import (
	"fmt"
	"strings"
	"time"

	"github.com/carebot/carebot/dialog"
	"github.com/carebot/carebot/handoff"
	"github.com/carebot/carebot/store"
)

// maxAgentText bounds one agent reply; chat apps cut long messages anyway.
const maxAgentText = 4000

// TicketView is a ticket with what an agent needs to work it.
type TicketView struct {
	Ticket *handoff.Ticket `json:"ticket"`
	// Messages are the conversation, oldest first, each customer message
	// with its emotion.
	Messages []LogEntry `json:"messages"`
	// Member is the customer's profile as far as carebot knows it.
	Member MemberProfile `json:"member"`
	// History are the conversation's other tickets, newest first.
	History []*handoff.Ticket `json:"history"`
	// Suggestions are the top FAQ answers for the last customer message.
	Suggestions []Suggestion `json:"suggestions"`
	// Causes are the tags to pick from at resolution.
	Causes []string `json:"causes"`
	// Compensations are the coupons an agent may give (empty when the
	// loyalty programme is off).
	Compensations []CompensationRight `json:"compensations"`
}

// MemberProfile is what the console shows of a customer.
type MemberProfile struct {
	Channel    string    `json:"channel"`
	ChatID     string    `json:"chat_id"`
	UserID     string    `json:"user_id,omitempty"`
	Member     string    `json:"member,omitempty"`
	MemberTier string    `json:"member_tier,omitempty"`
	Locale     string    `json:"locale"`
	Since      time.Time `json:"since"`
	Messages   uint64    `json:"messages"`
	Emotion    float64   `json:"emotion"`
	Tickets    int       `json:"tickets"`
}

// Suggestion is an FAQ answer offered to an agent as a reply.
type Suggestion struct {
	Entry    string  `json:"entry"`
	Question string  `json:"question"`
	Answer   string  `json:"answer"`
	Score    float64 `json:"score"`
}

// Tickets lists the tickets who may see.
func (a *App) Tickets(who handoff.Account, f handoff.Filter) ([]*handoff.Ticket, error) {
	var out []*handoff.Ticket
	err := a.store.View(func(tx store.Tx) error {
		var err error
		out, err = handoff.List(tx, who, f)
		return err
	})
	return out, err
}

// Ticket returns a ticket with its conversation, member, history and reply
// suggestions.
func (a *App) Ticket(who handoff.Account, id uint64) (*TicketView, error) {
	v := &TicketView{Causes: a.cfg.Handoff.Causes, History: []*handoff.Ticket{}, Compensations: a.compensationRights()}
	if v.Causes == nil {
		v.Causes = []string{}
	}
	err := a.store.View(func(tx store.Tx) error {
		t, err := handoff.Get(tx, id)
		if err != nil {
			return err
		}
		if !handoff.CanSee(who, t) {
			return fmt.Errorf("ticket %d: %w", id, handoff.ErrForbidden)
		}
		v.Ticket = t
		all, err := handoff.ByChat(tx, t.Channel, t.ChatID, 50)
		if err != nil {
			return err
		}
		for _, o := range all {
			if o.ID != t.ID {
				v.History = append(v.History, o)
			}
		}
		v.Member.Tickets = len(all)
		return nil
	})
	if err != nil {
		return nil, err
	}
	t := v.Ticket
	conv, msgs, err := a.engine.Conversation(t.Channel, t.ChatID, 200)
	if err != nil {
		return nil, err
	}
	for i := range msgs {
		// An agent must see a reply that never arrived (WeChat's 48-hour
		// window, a blocked bot) and why.
		if msgs[i].Dir != "out" || msgs[i].OutboxID == 0 {
			continue
		}
		if row, found, err := a.outbox.Row(msgs[i].OutboxID); err == nil && found {
			msgs[i].Delivery, msgs[i].DeliveryError = row.Status, row.LastError
		}
	}
	v.Messages = msgs
	v.Member = MemberProfile{Channel: t.Channel, ChatID: t.ChatID, UserID: conv.UserID, Member: conv.Member, MemberTier: conv.MemberTier,
		Locale: conv.State.Locale, Since: conv.Created, Messages: conv.Messages, Emotion: conv.State.Emotion.Value, Tickets: v.Member.Tickets}
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].Dir == "in" && strings.TrimSpace(msgs[i].Text) != "" {
			v.Suggestions = a.suggest(msgs[i].Text, conv.State.Locale)
			break
		}
	}
	return v, nil
}

// suggest returns the best FAQ answers to text for an agent to send.
func (a *App) suggest(text, locale string) []Suggestion {
	out := []Suggestion{}
	for _, m := range a.Knowledge().Search(text, 3) {
		if m.Score < a.cfg.Knowledge.ClarifyScore/2 {
			continue
		}
		out = append(out, Suggestion{Entry: m.Entry.ID, Question: m.Entry.StandardQuestion(locale), Answer: m.Entry.AnswerFor(locale), Score: m.Score})
	}
	return out
}

// ticketTx runs fn on ticket id and its conversation in one transaction,
// then saves the conversation.
func (a *App) ticketTx(id uint64, fn func(tx store.Tx, t *handoff.Ticket, conv *Conversation) (*handoff.Ticket, error)) (*handoff.Ticket, error) {
	var out *handoff.Ticket
	err := a.store.Update(func(tx store.Tx) error {
		t, err := handoff.Get(tx, id)
		if err != nil {
			return err
		}
		key := store.Key(t.Channel, t.ChatID)
		var conv Conversation
		if _, err := store.GetJSON(tx, bucketConvs, key, &conv); err != nil {
			return fmt.Errorf("load conversation of ticket %d: %w", id, err)
		}
		if conv.Channel == "" {
			conv = Conversation{Channel: t.Channel, ChatID: t.ChatID, UserID: t.UserID, Created: a.now()}
		}
		if out, err = fn(tx, t, &conv); err != nil {
			return err
		}
		conv.Updated = a.now()
		return store.PutJSON(tx, bucketConvs, key, conv)
	})
	if err != nil {
		return out, err
	}
	a.outbox.Wake()
	return out, nil
}

// toCustomer queues text to the ticket's customer and logs it.
func (a *App) toCustomer(tx store.Tx, conv *Conversation, t *handoff.Ticket, text, agent string, buttons []dialog.Button, key string, at time.Time) error {
	kind := "agent"
	switch {
	case strings.HasPrefix(key, "followup:"):
		kind = "followup"
	case strings.HasPrefix(key, "csat:"):
		kind = "csat"
	}
	row := OutboxRow{Channel: t.Channel, ChatID: t.ChatID, UserID: t.UserID, Text: text, Buttons: toChannelButtons(buttons), SendAt: at, Key: key, Kind: kind}
	id, err := a.outbox.Enqueue(tx, row)
	if err != nil {
		return err
	}
	entry := LogEntry{Dir: "out", Text: clip(text), Route: "agent", Agent: agent, Ticket: t.ID, OutboxID: id, Time: a.now()}
	if at.After(entry.Time) {
		entry.SendAt = at // a follow-up: queued now, sent later
	}
	return appendLog(tx, conv, entry)
}

// ClaimTicket gives the ticket to who and tells the customer who joined.
func (a *App) ClaimTicket(who handoff.Account, id uint64) (*handoff.Ticket, error) {
	return a.ticketTx(id, func(tx store.Tx, before *handoff.Ticket, conv *Conversation) (*handoff.Ticket, error) {
		now := a.now()
		t, err := handoff.Claim(tx, id, who, now)
		if err != nil {
			return t, err
		}
		if t.Silenced {
			text := strings.ReplaceAll(a.router.Text("handoff_joined", conv.State.Locale), "{agent}", who.Name)
			if err := a.toCustomer(tx, conv, t, text, who.Name, nil, "", now); err != nil {
				return t, err
			}
		}
		return t, a.care.changed(tx, t, handoff.EventClaim, before)
	})
}

// ReplyTicket sends an agent's message to the customer through the outbox.
func (a *App) ReplyTicket(who handoff.Account, id uint64, text string) (*handoff.Ticket, error) {
	text = strings.TrimSpace(strings.ToValidUTF8(text, "\uFFFD"))
	if text == "" {
		return nil, fmt.Errorf("reply: text is empty: %w", handoff.ErrInvalid)
	}
	if len([]rune(text)) > maxAgentText {
		return nil, fmt.Errorf("reply: text is longer than %d characters: %w", maxAgentText, handoff.ErrInvalid)
	}
	return a.ticketTx(id, func(tx store.Tx, before *handoff.Ticket, conv *Conversation) (*handoff.Ticket, error) {
		now := a.now()
		t, err := handoff.Reply(tx, id, who, text, now)
		if err != nil {
			return t, err
		}
		if err := a.toCustomer(tx, conv, t, text, who.Name, nil, "", now); err != nil {
			return t, err
		}
		return t, a.care.changed(tx, t, handoff.EventReply, before)
	})
}

// TransferTicket sends the ticket to the supervisors.
func (a *App) TransferTicket(who handoff.Account, id uint64, note string) (*handoff.Ticket, error) {
	return a.ticketTx(id, func(tx store.Tx, before *handoff.Ticket, _ *Conversation) (*handoff.Ticket, error) {
		now := a.now()
		t, err := handoff.Transfer(tx, id, who, note, now)
		if err != nil {
			return t, err
		}
		if err := a.care.notifyStaff(tx, t, now); err != nil {
			return t, err
		}
		return t, a.care.changed(tx, t, handoff.EventTransfer, before)
	})
}

// ResolveTicket closes the ticket with a cause, gives the conversation back
// to the bot, asks for a rating and schedules the tier's follow-ups.
func (a *App) ResolveTicket(who handoff.Account, id uint64, cause, note string) (*handoff.Ticket, error) {
	return a.ticketTx(id, func(tx store.Tx, _ *handoff.Ticket, conv *Conversation) (*handoff.Ticket, error) {
		now := a.now()
		t, err := handoff.Resolve(tx, id, who, cause, note, a.cfg.Handoff.Causes, now)
		if err != nil {
			return t, err
		}
		hs := &conv.State.Handoff
		if hs.Ticket == t.ID || hs.Ticket == 0 {
			*hs = dialog.HandoffState{LastTicket: t.ID, Resolved: now}
			// A fresh start: the complaint that was just handled should not
			// count again towards the next alert.
			// Questions asked while people had the conversation were not
			// the bot's to answer, so asking again is no sign of frustration.
			conv.State.Emotion.Negatives = 0
			conv.State.Emotion.Value = 0
			conv.State.Emotion.Recent = nil
		}
		locale := conv.State.Locale
		if err := a.toCustomer(tx, conv, t, a.router.Text("handoff_resolved", locale), "", nil, fmt.Sprintf("resolved:%d:%d", t.ID, t.Reopened), now); err != nil {
			return t, err
		}
		// The rating and the follow-ups come later: they respect the
		// customer's quiet hours like any proactive message.
		later := func(d time.Duration) time.Time {
			if a.care.careSendAt == nil || d <= 0 {
				return now.Add(d)
			}
			return a.care.careSendAt(tx, t.Member, now.Add(d))
		}
		if a.cfg.Handoff.CSAT {
			at := later(a.cfg.Handoff.CSATDelay.D())
			if err := a.toCustomer(tx, conv, t, a.router.Text("csat_prompt", locale), "", dialog.CSATButtons(t.ID), fmt.Sprintf("csat:%d:%d", t.ID, t.Reopened), at); err != nil {
				return t, err
			}
		}
		for _, f := range t.FollowUps {
			d, err := time.ParseDuration(f)
			if err != nil {
				return t, fmt.Errorf("ticket %d follow-up %q: %w", t.ID, f, err)
			}
			key := fmt.Sprintf("followup:%d:%d:%s", t.ID, t.Reopened, f)
			if err := a.toCustomer(tx, conv, t, a.router.Text("followup", locale), "", nil, key, later(d)); err != nil {
				return t, err
			}
		}
		return t, a.care.changed(tx, t, handoff.EventResolve)
	})
}

// EscalateOverdue escalates tickets past their claim deadline and tells
// the staff chats; it returns how many it escalated.
func (a *App) EscalateOverdue() (int, error) {
	n := 0
	err := a.store.Update(func(tx store.Tx) error {
		now := a.now()
		due, err := handoff.EscalateOverdue(tx, now)
		if err != nil {
			return err
		}
		for _, t := range due {
			if err := a.care.notifyStaff(tx, t, now); err != nil {
				return err
			}
			// Before escalation it sat unclaimed in its old queue.
			before := *t
			before.Queue, before.Agent = handoff.QueueAgent, ""
			if err := a.care.changed(tx, t, handoff.EventEscalate, &before); err != nil {
				return err
			}
		}
		n = len(due)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("escalate overdue tickets: %w", err)
	}
	if n > 0 {
		a.outbox.Wake()
		a.log.Warn("tickets escalated after missing their SLA", "count", n)
	}
	return n, nil
}

// TicketReport summarises tickets of [from, to).
func (a *App) TicketReport(from, to time.Time) (handoff.Report, error) {
	var r handoff.Report
	err := a.store.View(func(tx store.Tx) error {
		var err error
		r, err = handoff.BuildReport(tx, from, to)
		return err
	})
	return r, err
}

// escalator checks SLAs every handoff.check_interval.
func (a *App) escalator(stop <-chan struct{}) {
	t := time.NewTicker(a.cfg.Handoff.CheckInterval.D())
	defer t.Stop()
	for {
		if _, err := a.EscalateOverdue(); err != nil {
			a.log.Error("SLA check failed", "err", err)
		}
		select {
		case <-stop:
			return
		case <-t.C:
		}
	}
}
