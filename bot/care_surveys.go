package bot

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/carebot/carebot/dialog"
	"github.com/carebot/carebot/dialog/emotion"
	"github.com/carebot/carebot/handoff"
	"github.com/carebot/carebot/loyalty"
	"github.com/carebot/carebot/outreach"
	"github.com/carebot/carebot/store"
)

// surveyMember is who a survey answer is filed under: the loyalty member,
// or the chat for a customer outside the programme.
func surveyMember(conv *Conversation) string {
	if conv.Member != "" {
		return conv.Member
	}
	return conv.Channel + "/" + conv.ChatID
}

// recordCSAT stores a rating from the conversation it was asked in (a
// rating for another conversation's ticket, a forged payload, is ignored),
// files it with the survey answers, rewards the first answer and opens a
// mild follow-up ticket for a low score. It returns replies to add to the
// thanks and the ticket it opened, if any.
func (c *Care) recordCSAT(tx store.Tx, conv *Conversation, ans *dialog.CSATAnswer, now time.Time) ([]dialog.Reply, uint64, error) {
	t, err := handoff.Get(tx, ans.Ticket)
	if errors.Is(err, handoff.ErrNoTicket) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	if t.Channel != conv.Channel || t.ChatID != conv.ChatID {
		c.log.Warn("csat for another conversation's ticket ignored", "ticket", ans.Ticket, "channel", conv.Channel)
		return nil, 0, nil
	}
	if t, err = handoff.RecordCSAT(tx, ans.Ticket, ans.Score, now); err != nil {
		return nil, 0, err
	}
	if err := c.changed(tx, t, handoff.EventCSAT); err != nil {
		return nil, 0, err
	}
	period := fmt.Sprintf("T%d", t.ID)
	ansRec := outreach.Answer{Kind: outreach.SurveyCSAT, Period: period, Member: surveyMember(conv),
		Score: ans.Score, Channel: conv.Channel, ChatID: conv.ChatID, At: now}
	prev, had, err := outreach.SaveAnswer(tx, ansRec)
	if err != nil {
		return nil, 0, err
	}
	if err := c.recordAnswer(tx, ansRec, prev, had); err != nil {
		return nil, 0, err
	}
	first := !had
	locale := conv.State.Locale
	var replies []dialog.Reply
	var opened uint64
	if first && c.csatLow > 0 && ans.Score <= c.csatLow {
		if opened, err = c.surveyTicket(tx, conv, fmt.Sprintf("CSAT %d/5 for ticket #%d", ans.Score, t.ID), now); err != nil {
			return nil, 0, err
		}
		if opened != 0 {
			replies = append(replies, dialog.Reply{Text: c.router.Text("care_survey_sorry", locale)})
		}
	}
	rs, err := c.surveyPoints(tx, conv, "csat:"+period, locale)
	return append(replies, rs...), opened, err
}

// answerSurvey records an answer to a care survey (NPS, new-member check)
// and writes the replies. An answer to a survey this chat was never sent
// (a forged or stale payload) is ignored with the unknown-button reply, so
// points cannot be farmed.
func (c *Care) answerSurvey(tx store.Tx, ob *Outbox, conv *Conversation, ans *dialog.SurveyAnswer, now time.Time) ([]dialog.Reply, uint64, error) {
	locale := conv.State.Locale
	member := surveyMember(conv)
	job := jobNPS
	if ans.Kind == dialog.SurveyNewMember {
		job = jobNewMember
	}
	if !ob.Queued(tx, fmt.Sprintf("%s:%s:%s", job, member, ans.Period)) {
		return []dialog.Reply{{Text: c.router.Text("unknown_button", locale)}}, 0, nil
	}
	ansRec := outreach.Answer{Kind: ans.Kind, Period: ans.Period, Member: member, Score: ans.Score,
		Choice: ans.Choice, Channel: conv.Channel, ChatID: conv.ChatID, At: now}
	prev, had, err := outreach.SaveAnswer(tx, ansRec)
	if err != nil {
		return nil, 0, err
	}
	if err := c.recordAnswer(tx, ansRec, prev, had); err != nil {
		return nil, 0, err
	}
	first := !had
	var replies []dialog.Reply
	var opened uint64
	switch {
	case ans.Kind == dialog.SurveyNPS && c.npsLow >= 0 && ans.Score <= c.npsLow:
		if first {
			if opened, err = c.surveyTicket(tx, conv, fmt.Sprintf("NPS %d/10 (%s)", ans.Score, ans.Period), now); err != nil {
				return nil, 0, err
			}
		}
		replies = append(replies, dialog.Reply{Text: c.router.Text("care_survey_sorry", locale)})
	case ans.Kind == dialog.SurveyNPS:
		replies = append(replies, dialog.Reply{Text: c.router.Text("care_nps_thanks", locale)})
	case ans.Choice == dialog.ChoiceHelp:
		if opened, err = c.surveyTicket(tx, conv, "new member asked for help", now); err != nil {
			return nil, 0, err
		}
		replies = append(replies, dialog.Reply{Text: c.router.Text("care_new_member_help", locale)})
	default:
		replies = append(replies, dialog.Reply{Text: c.router.Text("care_new_member_good", locale)})
	}
	rs, err := c.surveyPoints(tx, conv, ans.Kind+":"+ans.Period, locale)
	return append(replies, rs...), opened, err
}

// surveyPoints credits the configured survey points once per survey and
// says so; nothing without the programme or when the points are zero.
func (c *Care) surveyPoints(tx store.Tx, conv *Conversation, key, locale string) ([]dialog.Reply, error) {
	if c.prog == nil || conv.Member == "" {
		return nil, nil
	}
	res, err := c.prog.SurveyReward(tx, conv.Member, key)
	if errors.Is(err, loyalty.ErrNoMember) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("survey points: %w", err)
	}
	if res.Duplicate || res.Entry.Points <= 0 {
		return nil, nil
	}
	text := c.router.Text("care_survey_points", locale)
	return []dialog.Reply{{Text: strings.ReplaceAll(text, "{points}", strconv.FormatInt(res.Entry.Points, 10))}}, nil
}

// surveyTicket opens a mild follow-up ticket for a survey answer unless
// the conversation already has an open one; the bot keeps answering.
func (c *Care) surveyTicket(tx store.Tx, conv *Conversation, trigger string, now time.Time) (uint64, error) {
	hs := &conv.State.Handoff
	if hs.Ticket != 0 {
		return 0, nil
	}
	act := c.rules.Actions[emotion.TierMild]
	act.Silence, act.Compensate = false, false
	d := handoff.Decision{Tier: emotion.TierMild, Reason: handoff.ReasonSurvey, Open: true, Action: act}
	if d.Action.Queue == "" {
		d.Action.Queue = handoff.QueueAgent
	}
	t, err := handoff.Open(tx, handoff.OpenParams{
		Decision: d, Trigger: trigger, Channel: conv.Channel, ChatID: conv.ChatID, UserID: conv.UserID,
		Member: conv.Member, MemberTier: conv.MemberTier, Locale: conv.State.Locale,
		Intervention: "survey follow-up: an agent contacts the customer", ExtraPriority: c.priorityOf(conv.MemberTier),
	}, now)
	if err != nil {
		return 0, fmt.Errorf("survey follow-up ticket: %w", err)
	}
	hs.Ticket, hs.Tier, hs.Silenced = t.ID, t.Tier, false
	if err := c.changed(tx, t, handoff.EventOpen); err != nil {
		return 0, err
	}
	return t.ID, nil
}

// Survey aggregates for the dashboard: metricCSAT counts ratings by score
// ("1"…"5"), metricNPS answers by group (promoter, passive, detractor), on
// the day they were given; a changed answer moves its count.
const (
	metricCSAT = "survey_csat"
	metricNPS  = "survey_nps"
)

// npsGroup names the NPS group of a 0–10 score.
func npsGroup(score int) string {
	switch {
	case score >= 9:
		return "promoter"
	case score >= 7:
		return "passive"
	}
	return "detractor"
}

// recordAnswer keeps the survey aggregates in step with the stored answer.
func (c *Care) recordAnswer(tx store.Tx, a, prev outreach.Answer, had bool) error {
	if c.stats == nil {
		return nil
	}
	dim := func(x outreach.Answer) (string, string) {
		switch x.Kind {
		case outreach.SurveyCSAT:
			return metricCSAT, strconv.Itoa(x.Score)
		case outreach.SurveyNPS:
			return metricNPS, npsGroup(x.Score)
		}
		return "", ""
	}
	metric, d := dim(a)
	if metric == "" {
		return nil
	}
	if had {
		pm, pd := dim(prev)
		if err := c.stats.Add(tx, pm, pd, prev.At, -1); err != nil {
			return err
		}
	}
	return c.stats.Add(tx, metric, d, a.At, 1)
}
