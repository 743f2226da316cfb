package bot

import (
	"fmt"
	"net/http"
	"strconv"
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
	mux.HandleFunc("GET /api/v1/broadcasts", a.loyaltyAuth(handoff.RoleSupervisor)(a.handleBroadcasts))
	mux.HandleFunc("GET /api/v1/broadcasts/{id}", a.loyaltyAuth(handoff.RoleSupervisor)(a.handleBroadcastOne))
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
	at, ok := a.sendAt(w, req.SendAt)
	if !ok {
		return
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
		rec := Announcement{ID: id, Kind: announceGroups, By: who.Name, Created: a.now(), SendAt: at, Channel: req.Channel,
			Text: map[string]string{"": req.Text}}
		for _, g := range req.Groups {
			g = strings.TrimSpace(g)
			if g == "" {
				continue
			}
			rec.Groups = append(rec.Groups, g)
			row := OutboxRow{Channel: req.Channel, ChatID: g, Text: req.Text, SendAt: at, Kind: "broadcast", Group: true,
				Key: fmt.Sprintf("broadcast:%d:%s:%s", id, req.Channel, g)}
			rid, err := a.outbox.Enqueue(tx, row)
			if err != nil {
				return err
			}
			rows = append(rows, rid)
		}
		rec.Queued = len(rows)
		return putAnnouncement(tx, rec)
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

// Announcement kinds.
const (
	announceGroups  = "groups"  // to member groups of one channel
	announceSegment = "segment" // to the members of a segment, one by one
)

// Announcement records a broadcast or a segment message, for the list of
// what was sent and its delivery progress.
type Announcement struct {
	ID      uint64    `json:"id"`
	Kind    string    `json:"kind"`
	By      string    `json:"by"`
	Created time.Time `json:"created"`
	SendAt  time.Time `json:"send_at"`
	Channel string    `json:"channel,omitempty"`
	Groups  []string  `json:"groups,omitempty"`
	Segment *Segment  `json:"segment,omitempty"`
	// Text per locale; a group broadcast has one text under "".
	Text map[string]string `json:"text"`
	// Queued messages, and members passed over by reason (segments).
	Queued  int            `json:"queued"`
	Skipped map[string]int `json:"skipped,omitempty"`
	// Progress is filled when the announcement is read: its messages by
	// outbox status (pending, delivered, dead).
	Progress map[string]int `json:"progress,omitempty"`
}

// announcementKey is the record's key in bucketBroadcasts (beside the
// "key:" idempotency keys).
func announcementKey(id uint64) []byte { return append([]byte("rec:"), store.U64(id)...) }

func putAnnouncement(tx store.Tx, a Announcement) error {
	if err := store.PutJSON(tx, bucketBroadcasts, announcementKey(a.ID), a); err != nil {
		return fmt.Errorf("record announcement %d: %w", a.ID, err)
	}
	return nil
}

// keyPrefix is the outbox key prefix of the announcement's messages.
func (an Announcement) keyPrefix() string {
	if an.Kind == announceSegment {
		return fmt.Sprintf("segment:%d:", an.ID)
	}
	return fmt.Sprintf("broadcast:%d:", an.ID)
}

// progress counts the announcement's outbox rows by status.
func (a *App) progress(tx store.Tx, an *Announcement) error {
	an.Progress = map[string]int{StatusPending: 0, StatusDelivered: 0, StatusDead: 0}
	return tx.Scan(bucketOutboxKeys, []byte(an.keyPrefix()), func(_, id []byte) error {
		var row OutboxRow
		ok, err := store.GetJSON(tx, bucketOutbox, id, &row)
		if err != nil || !ok {
			return err
		}
		an.Progress[row.Status]++
		return nil
	})
}

// maxAnnouncements bounds the list.
const maxAnnouncements = 50

func (a *App) handleBroadcasts(w http.ResponseWriter, _ *http.Request, _ handoff.Account) {
	out := []Announcement{}
	err := a.store.View(func(tx store.Tx) error {
		return tx.ScanReverse(bucketBroadcasts, []byte("rec:"), func(_, v []byte) error {
			var an Announcement
			if err := store.DecodeJSON(v, &an); err != nil {
				return err
			}
			if err := a.progress(tx, &an); err != nil {
				return err
			}
			out = append(out, an)
			if len(out) >= maxAnnouncements {
				return store.ErrStop
			}
			return nil
		})
	})
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	writeJSONStatus(w, http.StatusOK, map[string]any{"broadcasts": out})
}

func (a *App) handleBroadcastOne(w http.ResponseWriter, r *http.Request, _ handoff.Account) {
	id, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
	if err != nil {
		writeError(w, http.StatusBadRequest, "the id must be a number")
		return
	}
	var an Announcement
	found := false
	err = a.store.View(func(tx store.Tx) error {
		ok, err := store.GetJSON(tx, bucketBroadcasts, announcementKey(id), &an)
		if err != nil || !ok {
			return err
		}
		found = true
		return a.progress(tx, &an)
	})
	switch {
	case err != nil:
		writeError(w, http.StatusServiceUnavailable, err.Error())
	case !found:
		writeError(w, http.StatusNotFound, fmt.Sprintf("no broadcast %d", id))
	default:
		writeJSONStatus(w, http.StatusOK, an)
	}
}

// sendAt parses an optional "send_at" field (RFC 3339; empty is now). On
// failure it has written the 400 and returns false.
func (a *App) sendAt(w http.ResponseWriter, v string) (time.Time, bool) {
	if v == "" {
		return a.now(), true
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		writeError(w, http.StatusBadRequest, `field "send_at" must be an RFC 3339 time such as 2026-12-01T10:00:00+08:00`)
		return time.Time{}, false
	}
	return t, true
}
