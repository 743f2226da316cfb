package bot

import (
	"sync"

	"github.com/carebot/carebot/handoff"
	"github.com/carebot/carebot/store"
)

// ticketEvent tells consoles that a ticket changed.
type ticketEvent struct {
	Kind   string          `json:"kind"`
	Ticket *handoff.Ticket `json:"ticket"`
	// before is the ticket as it was, when the change may have taken it
	// out of someone's sight (a claim, a transfer, an escalation): those
	// consoles are told it is gone instead of hearing nothing.
	before *handoff.Ticket
}

// ticketHub fans ticket changes out to the consoles' event streams. Events
// are published when their transaction commits, so a console never sees a
// change that was rolled back.
type ticketHub struct {
	mu     sync.Mutex
	subs   map[*ticketSub]struct{}
	closed chan struct{}
	once   sync.Once
}

type ticketSub struct {
	ch chan ticketEvent
	// kick wakes a lagged subscriber's stream, so it sends "resync" even
	// when no further event comes.
	kick chan struct{}
	// lagged is set when the subscriber fell behind and lost events; its
	// stream then tells the console to reload everything.
	lagged bool
}

func newTicketHub() *ticketHub {
	return &ticketHub{subs: map[*ticketSub]struct{}{}, closed: make(chan struct{})}
}

// publish sends a snapshot of t to every subscriber once tx commits;
// before, if not nil, is t as it was before this change.
func (h *ticketHub) publish(tx store.Tx, t *handoff.Ticket, kind string, before ...*handoff.Ticket) {
	snap := *t
	snap.Events = []handoff.Event{} // the stream carries the queue's view; details are fetched
	ev := ticketEvent{Kind: kind, Ticket: &snap}
	if len(before) > 0 && before[0] != nil {
		b := *before[0]
		ev.before = &b
	}
	tx.OnCommit(func() { h.send(ev) })
}

func (h *ticketHub) send(ev ticketEvent) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		select {
		case s.ch <- ev:
		default:
			s.lagged = true
			select {
			case s.kick <- struct{}{}:
			default:
			}
		}
	}
}

func (h *ticketHub) subscribe() (*ticketSub, func()) {
	s := &ticketSub{ch: make(chan ticketEvent, 64), kick: make(chan struct{}, 1)}
	h.mu.Lock()
	h.subs[s] = struct{}{}
	h.mu.Unlock()
	return s, func() {
		h.mu.Lock()
		delete(h.subs, s)
		h.mu.Unlock()
	}
}

// takeLagged reports and clears whether s lost events.
func (h *ticketHub) takeLagged(s *ticketSub) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	l := s.lagged
	s.lagged = false
	return l
}

// close ends every stream, at shutdown.
func (h *ticketHub) close() { h.once.Do(func() { close(h.closed) }) }
