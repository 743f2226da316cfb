package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/carebot/carebot/handoff"
	"github.com/carebot/carebot/store"
)

// ticketRoutes registers the console's ticket API:
//
//	GET  /api/v1/tickets?state=open|claimed|resolved|active
//	GET  /api/v1/tickets/events           live queue changes (Server-Sent Events)
//	GET  /api/v1/tickets/report?days=7    tickets and top causes (supervisors)
//	GET  /api/v1/tickets/{id}             the ticket with its conversation
//	POST /api/v1/tickets/{id}/claim
//	POST /api/v1/tickets/{id}/messages    {"text": "..."}
//	POST /api/v1/tickets/{id}/transfer    {"note": "..."}
//	POST /api/v1/tickets/{id}/resolve     {"cause": "...", "note": "..."}
//	POST /api/v1/tickets/{id}/compensate  {"right": "sorry-10"}  a coupon, free of points
//	POST /api/v1/tickets/{id}/typing      show the customer the agent is typing
func (a *App) ticketRoutes(mux *http.ServeMux) {
	agent := func(h func(http.ResponseWriter, *http.Request, handoff.Account)) http.HandlerFunc {
		return a.auth.Require(handoff.RoleAgent, h)
	}
	mux.HandleFunc("GET /api/v1/tickets", agent(a.handleTickets))
	mux.HandleFunc("GET /api/v1/tickets/events", agent(a.handleTicketEvents))
	mux.HandleFunc("GET /api/v1/tickets/report", a.auth.Require(handoff.RoleSupervisor, a.handleTicketReport))
	mux.HandleFunc("GET /api/v1/tickets/{id}", agent(a.handleTicket))
	mux.HandleFunc("POST /api/v1/tickets/{id}/claim", agent(a.handleTicketAction(func(who handoff.Account, id uint64, _ ticketRequest) (*handoff.Ticket, error) {
		return a.ClaimTicket(who, id)
	})))
	mux.HandleFunc("POST /api/v1/tickets/{id}/messages", agent(a.handleTicketAction(func(who handoff.Account, id uint64, req ticketRequest) (*handoff.Ticket, error) {
		return a.ReplyTicket(who, id, req.Text)
	})))
	mux.HandleFunc("POST /api/v1/tickets/{id}/transfer", agent(a.handleTicketAction(func(who handoff.Account, id uint64, req ticketRequest) (*handoff.Ticket, error) {
		return a.TransferTicket(who, id, req.Note)
	})))
	mux.HandleFunc("POST /api/v1/tickets/{id}/compensate", agent(a.handleTicketAction(func(who handoff.Account, id uint64, req ticketRequest) (*handoff.Ticket, error) {
		return a.CompensateTicket(who, id, req.Right)
	})))
	mux.HandleFunc("POST /api/v1/tickets/{id}/typing", agent(a.handleTicketTyping))
	mux.HandleFunc("POST /api/v1/tickets/{id}/resolve", agent(a.handleTicketAction(func(who handoff.Account, id uint64, req ticketRequest) (*handoff.Ticket, error) {
		return a.ResolveTicket(who, id, req.Cause, req.Note)
	})))
}

type ticketRequest struct {
	Text  string `json:"text"`
	Note  string `json:"note"`
	Cause string `json:"cause"`
	Right string `json:"right"`
}

func (a *App) handleTickets(w http.ResponseWriter, r *http.Request, who handoff.Account) {
	f := handoff.Filter{Status: r.URL.Query().Get("state")}
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1000 {
			writeError(w, http.StatusBadRequest, "limit must be a number from 1 to 1000")
			return
		}
		f.Limit = n
	}
	ts, err := a.Tickets(who, f)
	if err != nil {
		a.ticketError(w, err)
		return
	}
	if ts == nil {
		ts = []*handoff.Ticket{}
	}
	writeJSONStatus(w, http.StatusOK, map[string]any{"tickets": ts})
}

func ticketID(r *http.Request) (uint64, error) {
	id, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
	if err != nil || id == 0 {
		return 0, fmt.Errorf("ticket id %q is not a positive number", r.PathValue("id"))
	}
	return id, nil
}

func (a *App) handleTicket(w http.ResponseWriter, r *http.Request, who handoff.Account) {
	id, err := ticketID(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	v, err := a.Ticket(who, id)
	if err != nil {
		a.ticketError(w, err)
		return
	}
	writeJSONStatus(w, http.StatusOK, v)
}

func (a *App) handleTicketAction(do func(handoff.Account, uint64, ticketRequest) (*handoff.Ticket, error)) func(http.ResponseWriter, *http.Request, handoff.Account) {
	return func(w http.ResponseWriter, r *http.Request, who handoff.Account) {
		id, err := ticketID(r)
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		var req ticketRequest
		if r.ContentLength != 0 {
			if !decodeBody(w, r, &req) {
				return
			}
		}
		t, err := do(who, id, req)
		if err != nil {
			a.ticketError(w, err)
			return
		}
		writeJSONStatus(w, http.StatusOK, map[string]any{"ticket": t})
	}
}

// ticketError maps domain errors to HTTP statuses.
func (a *App) ticketError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, handoff.ErrNoTicket):
		writeError(w, http.StatusNotFound, err.Error())
	case errors.Is(err, handoff.ErrForbidden):
		writeError(w, http.StatusForbidden, err.Error())
	case errors.Is(err, handoff.ErrConflict):
		writeError(w, http.StatusConflict, err.Error())
	case errors.Is(err, handoff.ErrInvalid):
		writeError(w, http.StatusBadRequest, err.Error())
	default:
		a.log.Error("ticket API failed", "err", err)
		writeError(w, http.StatusInternalServerError, "internal error")
	}
}

func (a *App) handleTicketReport(w http.ResponseWriter, r *http.Request, _ handoff.Account) {
	days := 7
	if s := r.URL.Query().Get("days"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 366 {
			writeError(w, http.StatusBadRequest, "days must be a number from 1 to 366")
			return
		}
		days = n
	}
	to := a.now()
	rep, err := a.TicketReport(to.Add(-time.Duration(days)*24*time.Hour), to)
	if err != nil {
		a.ticketError(w, err)
		return
	}
	writeJSONStatus(w, http.StatusOK, rep)
}

// visibleEvent returns what of ev the account may see: the ticket when it
// can see it now (or it is an alert and the account a supervisor), a bare
// "gone" with the id when the change took the ticket out of its sight
// (another agent claimed it, it went to the supervisors), else nothing.
func visibleEvent(who handoff.Account, ev ticketEvent) (string, []byte, bool) {
	if handoff.CanSee(who, ev.Ticket) || (ev.Kind == "alert" && who.Role.AtLeast(handoff.RoleSupervisor)) {
		data, err := json.Marshal(ev)
		return "ticket", data, err == nil
	}
	if ev.before != nil && handoff.CanSee(who, ev.before) {
		data, err := json.Marshal(map[string]any{"kind": "gone", "ticket": map[string]uint64{"id": ev.Ticket.ID}})
		return "gone", data, err == nil
	}
	return "", nil, false
}

// handleTicketEvents streams ticket changes the account may see as
// Server-Sent Events: "ticket" events, "gone" when a ticket left the
// account's sight, "resync" when the console should reload because it fell
// behind.
func (a *App) handleTicketEvents(w http.ResponseWriter, r *http.Request, who handoff.Account) {
	flusher, ok := w.(http.Flusher)
	if !ok {
		writeError(w, http.StatusInternalServerError, "streaming unsupported")
		return
	}
	hub := a.care.hub
	sub, unsubscribe := hub.subscribe()
	defer unsubscribe()
	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, "retry: 2000\n\nevent: hello\ndata: {}\n\n")
	flusher.Flush()
	keepAlive := time.NewTicker(25 * time.Second)
	defer keepAlive.Stop()
	for {
		select {
		case ev := <-sub.ch:
			if hub.takeLagged(sub) {
				if _, err := fmt.Fprint(w, "event: resync\ndata: {}\n\n"); err != nil {
					return
				}
			}
			kind, data, ok := visibleEvent(who, ev)
			if !ok {
				continue
			}
			if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", kind, data); err != nil {
				return
			}
		case <-sub.kick:
			if !hub.takeLagged(sub) {
				continue
			}
			if _, err := fmt.Fprint(w, "event: resync\ndata: {}\n\n"); err != nil {
				return
			}
		case <-keepAlive.C:
			if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil {
				return
			}
		case <-r.Context().Done():
			return
		case <-hub.closed:
			return
		}
		flusher.Flush()
	}
}

// typer is a channel that can show the customer that someone is typing
// (Telegram's chat action, LINE's loading animation, WeChat's typing
// status).
type typer interface {
	Typing(ctx context.Context, chatID string) error
}

// handleTicketTyping shows the customer that the agent is writing a reply:
// the console calls it while the agent types, at most every few seconds.
func (a *App) handleTicketTyping(w http.ResponseWriter, r *http.Request, who handoff.Account) {
	id, err := ticketID(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	var t *handoff.Ticket
	if err := a.store.View(func(tx store.Tx) error {
		var err error
		t, err = handoff.Get(tx, id)
		return err
	}); err != nil {
		a.ticketError(w, err)
		return
	}
	if !handoff.CanWork(who, t) || !t.Active() {
		a.ticketError(w, fmt.Errorf("typing on ticket %d: %w", id, handoff.ErrForbidden))
		return
	}
	ch, ok := a.registry.Get(t.Channel)
	ty, can := ch.(typer)
	if !ok || !can {
		w.WriteHeader(http.StatusNoContent) // the platform has no typing indicator
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	if err := ty.Typing(ctx, t.ChatID); err != nil {
		// A typing indicator is a courtesy: its failure is logged, not the
		// agent's problem.
		a.log.Debug("typing indicator failed", "channel", t.Channel, "err", err)
	}
	w.WriteHeader(http.StatusNoContent)
}
