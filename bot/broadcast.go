package bot

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/carebot/carebot/handoff"
	"github.com/carebot/carebot/store"
)

// bucketBroadcasts numbers announcements, so a retried request with the
// same Idempotency-Key queues nothing twice.
var bucketBroadcasts = store.RegisterBucket("bot", "broadcasts")

// broadcastRequest is the body of POST /api/v1/broadcasts.
type broadcastRequest struct {
	Channel string   `json:"channel"`
	Groups  []string `json:"groups"`
	Text    string   `json:"text"`
	// SendAt schedules the announcement (RFC 3339); empty sends now.
	SendAt string `json:"send_at"`
}

// broadcastRoutes registers POST /api/v1/broadcasts: a manager posts an
// announcement to chosen groups of one channel, delivered through the
// outbox (rate limits, retries, dead letters like any message).
func (a *App) broadcastRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /api/v1/broadcasts", a.loyaltyAuth(handoff.RoleSupervisor)(a.handleBroadcast))
}

func (a *App) handleBroadcast(w http.ResponseWriter, r *http.Request, who handoff.Account) {
	var req broadcastRequest
	if !decodeBody(w, r, &req) {
		return
	}
	req.Text = strings.TrimSpace(strings.ToValidUTF8(req.Text, "\uFFFD"))
	switch {
	case req.Channel == "":
		writeError(w, http.StatusBadRequest, `field "channel" is required`)
		return
	case len(req.Groups) == 0 || len(req.Groups) > 500:
		writeError(w, http.StatusBadRequest, `field "groups" must list 1 to 500 group ids`)
		return
	case req.Text == "" || len([]rune(req.Text)) > maxAgentText:
		writeError(w, http.StatusBadRequest, fmt.Sprintf(`field "text" must hold 1 to %d characters`, maxAgentText))
		return
	}
	if _, ok := a.registry.Get(req.Channel); !ok {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("channel %q is not on (channels: %s)", req.Channel, strings.Join(a.registry.Names(), ", ")))
		return
	}
	at := a.now()
	if req.SendAt != "" {
		t, err := time.Parse(time.RFC3339, req.SendAt)
		if err != nil {
			writeError(w, http.StatusBadRequest, `field "send_at" must be an RFC 3339 time such as 2026-12-01T10:00:00+08:00`)
			return
		}
		at = t
	}
	idem := r.Header.Get("Idempotency-Key")
	var id uint64
	var rows []uint64
	err := a.store.Update(func(tx store.Tx) error {
		if idem != "" {
			if v := tx.Get(bucketBroadcasts, []byte("key:"+idem)); v != nil {
				id = store.ParseU64(v)
			}
		}
		if id == 0 {
			n, err := tx.NextSequence(bucketBroadcasts)
			if err != nil {
				return err
			}
			id = n
			if idem != "" {
				if err := tx.Put(bucketBroadcasts, []byte("key:"+idem), store.U64(id)); err != nil {
					return err
				}
			}
		}
		for _, g := range req.Groups {
			g = strings.TrimSpace(g)
			if g == "" {
				continue
			}
			row := OutboxRow{Channel: req.Channel, ChatID: g, Text: req.Text, SendAt: at, Kind: "broadcast", Group: true,
				Key: fmt.Sprintf("broadcast:%d:%s:%s", id, req.Channel, g)}
			rid, err := a.outbox.Enqueue(tx, row)
			if err != nil {
				return err
			}
			rows = append(rows, rid)
		}
		return nil
	})
	if err != nil {
		a.log.Error("broadcast failed", "err", err)
		writeError(w, http.StatusInternalServerError, "could not queue the broadcast")
		return
	}
	a.outbox.Wake()
	a.log.Info("broadcast queued", "id", id, "by", who.Name, "channel", req.Channel, "groups", len(rows))
	writeJSONStatus(w, http.StatusAccepted, map[string]any{"id": id, "queued": len(rows), "outbox_ids": rows, "send_at": at})
}
