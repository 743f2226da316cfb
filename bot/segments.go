package bot

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/carebot/carebot/cron"
	"github.com/carebot/carebot/dialog"
	"github.com/carebot/carebot/handoff"
	"github.com/carebot/carebot/loyalty"
	"github.com/carebot/carebot/store"
)

// Segment messages: a manager writes one message per locale to the members
// of a segment (tiers, lifecycle stages, channels, tags). They are care
// messages like the scheduled ones — consent, quiet hours in the member's
// zone, the frequency cap and a key per member all apply — sent through
// the same path (careJobs.send).
//
//	POST /api/v1/segments/preview  {"segment","text"} → recipients, who is passed over and why, the text per locale
//	POST /api/v1/segments/send     {"segment","text","send_at"} → the announcement (202)
func (a *App) segmentRoutes(mux *http.ServeMux) {
	manager := a.loyaltyAuth(handoff.RoleManager)
	mux.HandleFunc("POST /api/v1/segments/preview", manager(a.handleSegmentPreview))
	mux.HandleFunc("POST /api/v1/segments/send", manager(a.handleSegmentSend))
}

// Segment selects members; empty lists do not filter. Members match when
// they are in one of the tiers, one of the stages, have an identity on one
// of the channels and carry one of the tags.
type Segment struct {
	Tiers    []string `json:"tiers,omitempty"`
	Stages   []string `json:"stages,omitempty"`
	Channels []string `json:"channels,omitempty"`
	Tags     []string `json:"tags,omitempty"`
}

// segmentRequest is the body of both segment routes.
type segmentRequest struct {
	Segment Segment `json:"segment"`
	// Text per locale (zh-Hans, zh-Hant, en); a member gets their
	// conversation's locale, else the default locale's, else any.
	Text   map[string]string `json:"text"`
	SendAt string            `json:"send_at"`
}

// maxSegmentText bounds one locale's text.
const maxSegmentText = 2000

func (req *segmentRequest) validate() error {
	if len(req.Text) == 0 {
		return errors.New(`field "text" needs a text for at least one locale, e.g. {"zh-Hans": "…"}`)
	}
	for loc, text := range req.Text {
		if !slices.Contains(dialog.Locales, loc) {
			return fmt.Errorf("text: %q is not one of %s", loc, strings.Join(dialog.Locales, ", "))
		}
		text = strings.TrimSpace(strings.ToValidUTF8(text, "\uFFFD"))
		if text == "" || utf8.RuneCountInString(text) > maxSegmentText {
			return fmt.Errorf("text.%s must hold 1 to %d characters", loc, maxSegmentText)
		}
		req.Text[loc] = text
	}
	for _, s := range req.Segment.Stages {
		if !slices.Contains([]string{loyalty.StageNew, loyalty.StageGrowing, loyalty.StageCore, loyalty.StageAtRisk, loyalty.StageDormant}, s) {
			return fmt.Errorf("segment.stages: %q is not new, growing, core, at-risk or dormant", s)
		}
	}
	return nil
}

// inProfile reports whether a member of that tier and stage may belong to
// the segment (the part decided from the activity index).
func (s Segment) inProfile(tier, stage string) bool {
	return (len(s.Tiers) == 0 || containsFold(s.Tiers, tier)) && (len(s.Stages) == 0 || slices.Contains(s.Stages, stage))
}

// matches reports whether a member selected by inProfile also has one of
// the channels and one of the tags.
func (s Segment) matches(m *loyalty.Member) bool {
	if len(s.Channels) > 0 && !slices.ContainsFunc(m.Identities, func(i loyalty.Identity) bool { return slices.Contains(s.Channels, i.Channel) }) {
		return false
	}
	if len(s.Tags) > 0 && !slices.ContainsFunc(m.Tags, func(t string) bool { return containsFold(s.Tags, t) }) {
		return false
	}
	return true
}

// segmentMembers returns the ids of the members in the segment's tiers
// and stages; channels and tags are checked when each is loaded.
func (a *App) segmentMembers(tx store.Tx, s Segment) ([]string, error) {
	var ids []string
	err := a.loyalty.EachProfile(tx, func(id, tier, stage string) error {
		if s.inProfile(tier, stage) {
			ids = append(ids, id)
		}
		return nil
	})
	return ids, err
}

// SegmentPreview is what a segment message would do.
type SegmentPreview struct {
	// Matched members of the segment; Recipients those who would get the
	// message now (consent, a chat, room under the cap).
	Matched    int            `json:"matched"`
	Recipients int            `json:"recipients"`
	ByLocale   map[string]int `json:"by_locale"`
	Skipped    map[string]int `json:"skipped"`
	// Previews are the texts as members will read them, per locale.
	Previews map[string]string `json:"previews"`
}

func (a *App) handleSegmentPreview(w http.ResponseWriter, r *http.Request, _ handoff.Account) {
	a.segmentRun(w, r, "", true)
}

func (a *App) handleSegmentSend(w http.ResponseWriter, r *http.Request, who handoff.Account) {
	a.segmentRun(w, r, who.Name, false)
}

// segmentRun previews (a dry run of the very same path, rolled back) or
// sends a segment message.
func (a *App) segmentRun(w http.ResponseWriter, r *http.Request, by string, dry bool) {
	if a.careJobs == nil {
		writeError(w, http.StatusConflict, "segment messages need scheduled care (care.enabled and loyalty.enabled)")
		return
	}
	var req segmentRequest
	if !decodeBody(w, r, &req) {
		return
	}
	if err := req.validate(); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	at, ok := a.sendAt(w, req.SendAt)
	if !ok {
		return
	}
	an, prev, err := a.sendSegment(r.Context(), req, by, at, dry)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	if dry {
		writeJSONStatus(w, http.StatusOK, prev)
		return
	}
	a.log.Info("segment message queued", "id", an.ID, "by", by, "queued", an.Queued, "skipped", an.Skipped)
	writeJSONStatus(w, http.StatusAccepted, an)
}

// sendSegment queues the message to every member of the segment (or, dry,
// counts who would get it), careBatch members per transaction.
func (a *App) sendSegment(ctx context.Context, req segmentRequest, by string, at time.Time, dry bool) (Announcement, SegmentPreview, error) {
	prev := SegmentPreview{ByLocale: map[string]int{}, Skipped: map[string]int{}, Previews: map[string]string{}}
	for loc, text := range req.Text {
		prev.Previews[loc] = text + "\n" + a.router.Text("care_unsubscribe", loc)
	}
	var ids []string
	err := a.store.View(func(tx store.Tx) error {
		var err error
		ids, err = a.segmentMembers(tx, req.Segment)
		return err
	})
	if err != nil {
		return Announcement{}, prev, fmt.Errorf("segment members: %w", err)
	}
	an := Announcement{Kind: announceSegment, By: by, Created: a.now(), SendAt: at, Segment: &req.Segment, Text: req.Text, Skipped: map[string]int{}}
	if !dry {
		err := a.store.Update(func(tx store.Tx) error {
			id, err := tx.NextSequence(bucketBroadcasts)
			an.ID = id
			if err != nil {
				return err
			}
			return putAnnouncement(tx, an)
		})
		if err != nil {
			return an, prev, fmt.Errorf("record segment message: %w", err)
		}
	}
	run := cron.Run{At: at, DryRun: dry, Plan: func(p cron.Planned) {
		if p.Skipped != "" {
			prev.Skipped[p.Skipped]++
		}
	}}
	var res cron.Result
	c := a.careJobs
	err = c.inBatches(ctx, run, ids, func(tx store.Tx, m *loyalty.Member) error {
		if !req.Segment.matches(m) {
			return nil
		}
		prev.Matched++
		return c.send(tx, run, &res, m, careMsg{kind: "segment", key: fmt.Sprintf("segment:%d:%s", an.ID, m.ID), capped: true,
			reserve: c.birthdayReserve(tx, m, at),
			build: func(_ store.Tx, locale string) (string, []dialog.Button, error) {
				prev.ByLocale[locale]++
				return segmentText(req.Text, locale, a.cfg.Dialog.DefaultLocale), nil, nil
			}})
	})
	prev.Recipients = res.Queued
	an.Queued, an.Skipped = res.Queued, prev.Skipped
	if err != nil {
		return an, prev, err
	}
	if !dry {
		if err := a.store.Update(func(tx store.Tx) error { return putAnnouncement(tx, an) }); err != nil {
			return an, prev, err
		}
	}
	return an, prev, nil
}

// segmentText picks the member's locale's text, else the default's, else
// the first in locale order.
func segmentText(texts map[string]string, locale, def string) string {
	for _, l := range append([]string{locale, def}, dialog.Locales...) {
		if t := texts[l]; t != "" {
			return t
		}
	}
	return ""
}
