package bot

import (
	"fmt"
	"time"

	"github.com/carebot/carebot/dialog"
	"github.com/carebot/carebot/handoff"
	"github.com/carebot/carebot/stats"
	"github.com/carebot/carebot/store"
)

// Daily aggregates written as events happen (package stats), read by the
// weekly report and the manager's dashboard. Dimensions in brackets.
const (
	metricTurns         = "turns"                  // customer turns [outcome: answered, clarify, unanswered, chat, handoff, …]
	metricEmotion       = "messages_emotion"       // customer text messages [colour: green, yellow, red]
	metricTicketsOpened = "tickets_opened"         // [tier]
	metricTicketsReopen = "tickets_reopened"       // [tier]
	metricTicketsSLA    = "tickets_sla"            // [tier:met, tier:missed]: claimed in time, or escalated
	metricTicketCause   = "tickets_cause"          // resolved tickets [cause]
	metricClaimSeconds  = "ticket_claim_seconds"   // histogram [tier]: open → first claim
	metricSolveSeconds  = "ticket_resolve_seconds" // histogram [tier]: open → resolution
)

// recordTurn counts a customer turn by outcome and, for a scored text
// message, by emotion colour.
func (e *Engine) recordTurn(tx store.Tx, now time.Time, res *dialog.Result) error {
	if e.stats == nil {
		return nil
	}
	if res.Outcome != "" {
		if err := e.stats.Add(tx, metricTurns, string(res.Outcome), now, 1); err != nil {
			return err
		}
	}
	if res.Emotion != nil && res.Emotion.Colour != "" {
		return e.stats.Add(tx, metricEmotion, res.Emotion.Colour, now, 1)
	}
	return nil
}

// changed records a ticket change in the daily aggregates and publishes it
// to the console once the transaction commits. Every ticket change goes
// through it.
func (c *Care) changed(tx store.Tx, t *handoff.Ticket, kind string, before ...*handoff.Ticket) error {
	if err := c.recordTicket(tx, t); err != nil {
		return fmt.Errorf("ticket %d stats: %w", t.ID, err)
	}
	c.hub.publish(tx, t, kind, before...)
	return nil
}

// recordTicket counts the change the ticket's last event describes.
func (c *Care) recordTicket(tx store.Tx, t *handoff.Ticket) error {
	if c.stats == nil || len(t.Events) == 0 {
		return nil
	}
	ev := t.Events[len(t.Events)-1]
	tier := string(t.Tier)
	switch ev.Kind {
	case handoff.EventOpen:
		return c.stats.Add(tx, metricTicketsOpened, tier, ev.Time, 1)
	case handoff.EventReopen:
		return c.stats.Add(tx, metricTicketsReopen, tier, ev.Time, 1)
	case handoff.EventEscalate:
		return c.stats.Add(tx, metricTicketsSLA, tier+":missed", ev.Time, 1)
	case handoff.EventClaim:
		claims := 0
		for _, e := range t.Events {
			if e.Kind == handoff.EventClaim {
				claims++
			}
		}
		if claims != 1 {
			return nil // a re-claim after a transfer: the first one counted
		}
		if err := c.stats.Observe(tx, metricClaimSeconds, tier, ev.Time, max(ev.Time.Sub(t.Created).Seconds(), 0)); err != nil {
			return err
		}
		if !t.Escalated {
			return c.stats.Add(tx, metricTicketsSLA, tier+":met", ev.Time, 1)
		}
	case handoff.EventResolve:
		if err := c.stats.Observe(tx, metricSolveSeconds, tier, ev.Time, max(ev.Time.Sub(t.Created).Seconds(), 0)); err != nil {
			return err
		}
		return c.stats.Add(tx, metricTicketCause, t.Cause, ev.Time, 1)
	}
	return nil
}

// turnsBetween sums the customer turns by outcome over the local days
// from from up to (not including) to.
func turnsBetween(tx store.Tx, rec *stats.Recorder, from, to time.Time) (map[dialog.Outcome]int, error) {
	out := map[dialog.Outcome]int{}
	s, err := stats.Read(tx, metricTurns, rec.Day(from), rec.Day(to.Add(-time.Nanosecond)))
	if err != nil {
		return nil, err
	}
	for dim := range s.Values {
		out[dialog.Outcome(dim)] = int(s.Total(dim))
	}
	return out, nil
}
