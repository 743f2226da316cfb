package bot

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/carebot/carebot/cron"
	"github.com/carebot/carebot/dialog"
	"github.com/carebot/carebot/handoff"
	"github.com/carebot/carebot/loyalty"
	"github.com/carebot/carebot/outreach"
	"github.com/carebot/carebot/store"
)

// bucketReports keeps the weekly reports: ISO week → WeeklyReport.
var bucketReports = store.RegisterBucket("bot", "reports_weekly")

// FollowUpReport is what the follow-up job found: the complaint follow-ups
// handoff queued at resolution (+24 h, +72 h for severe tickets).
type FollowUpReport struct {
	Delivered int      `json:"delivered"` // in the last day
	Due       int      `json:"due"`       // in the next day
	Failed    []uint64 `json:"failed"`    // tickets whose follow-up became a dead letter
}

// maxTicketAge bounds the scan of resolved tickets: a ticket open longer
// than this before its resolution is not looked at by the reports.
const maxTicketAge = 90 * 24 * time.Hour

// followUps reports on the follow-ups of recently resolved tickets and
// tells the staff chats about any that could not be delivered, so a
// person calls the customer instead.
func (c *careJobs) followUps(_ context.Context, r cron.Run) (cron.Result, error) {
	now := later(c.a.now(), r.At)
	var rep FollowUpReport
	var res cron.Result
	err := c.update(r, func(tx store.Tx) error {
		longest := time.Duration(0)
		for _, f := range c.a.cfg.Handoff.Severe.FollowUps {
			longest = max(longest, f.D())
		}
		return handoff.ResolvedSince(tx, now.Add(-longest-48*time.Hour), maxTicketAge, func(t *handoff.Ticket) error {
			for _, f := range t.FollowUps {
				row, ok := c.a.outbox.RowByKey(tx, fmt.Sprintf("followup:%d:%d:%s", t.ID, t.Reopened, f))
				if !ok {
					continue
				}
				switch {
				case row.Status == StatusDelivered && now.Sub(row.DeliveredAt) <= 24*time.Hour:
					rep.Delivered++
				case row.Status == StatusPending && row.SendAt.Sub(now) <= 24*time.Hour:
					rep.Due++
				case row.Status == StatusDead:
					rep.Failed = append(rep.Failed, t.ID)
					key := fmt.Sprintf("followup-failed:%d:%s", t.ID, f)
					n, err := c.toStaff(tx, key, "staff_followup_failed", now, "{ticket}", fmt.Sprint(t.ID), "{error}", clipNote(row.LastError))
					if err != nil {
						return err
					}
					res.Queued += n
				}
			}
			return nil
		})
	})
	if err != nil {
		return cron.Result{}, fmt.Errorf("follow-up report: %w", err)
	}
	res.Note = fmt.Sprintf("follow-ups: %d delivered in the last day, %d due in the next, %d failed", rep.Delivered, rep.Due, len(rep.Failed))
	return res, nil
}

// toStaff queues a text to every staff chat, keyed per chat; it returns
// how many were queued (not counting ones queued before).
func (c *careJobs) toStaff(tx store.Tx, key, textKey string, at time.Time, pairs ...string) (int, error) {
	locale := c.a.cfg.Dialog.DefaultLocale
	text := c.say(textKey, locale, pairs...)
	n := 0
	for _, s := range c.a.cfg.Handoff.Staff {
		k := key + ":" + s.Channel + ":" + s.ChatID
		if c.a.outbox.Queued(tx, k) {
			continue
		}
		if _, err := c.a.outbox.Enqueue(tx, OutboxRow{Channel: s.Channel, ChatID: s.ChatID, Text: text, SendAt: at, Key: k, Kind: "staff", Group: true}); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// WeeklyReport is the weekly report for supervisors and managers.
type WeeklyReport struct {
	Week string    `json:"week"`
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// Tickets: opened by tier, top negative causes, CSAT of the tickets.
	Tickets handoff.Report `json:"tickets"`
	FAQ     FAQStats       `json:"faq"`
	CSAT    outreach.CSAT  `json:"csat"`
	// NPS is the quarter the week ends in.
	NPS    outreach.NPS `json:"nps"`
	Recall RecallStats  `json:"recall"`
	// FollowUps: delivered and failed complaint follow-ups of the week.
	Created time.Time `json:"created"`
}

// FAQStats counts the FAQ turns of a period.
type FAQStats struct {
	Answered   int `json:"answered"`
	Clarified  int `json:"clarified"`
	Unanswered int `json:"unanswered"`
	// Rate is the share (0–100) of FAQ questions answered at once.
	Rate float64 `json:"rate"`
}

// RecallStats: recall offers sent in the 30 days before the report's end
// and how many of those members bought since.
type RecallStats struct {
	Sent      int     `json:"sent"`
	Converted int     `json:"converted"`
	Rate      float64 `json:"rate"`
}

// recallWindow is how far back recall offers count for conversions.
const recallWindow = 30 * 24 * time.Hour

// weekly builds the report of the week before r.At (Monday to Monday in
// the care zone), stores it for the console and sends it to staff chats.
func (c *careJobs) weekly(_ context.Context, r cron.Run) (cron.Result, error) {
	var res cron.Result
	var rep WeeklyReport
	err := c.update(r, func(tx store.Tx) error {
		var err error
		rep, err = c.a.buildWeekly(tx, r.At.In(c.loc))
		if err != nil {
			return err
		}
		rep.Created = c.a.now()
		if err := store.PutJSON(tx, bucketReports, []byte(rep.Week), rep); err != nil {
			return fmt.Errorf("store weekly report: %w", err)
		}
		pairs := c.weeklyPairs(rep)
		if r.DryRun {
			r.Report(cron.Planned{Kind: "weekly-report", Text: c.say("staff_weekly_report", c.a.cfg.Dialog.DefaultLocale, pairs...)})
		}
		res.Queued, err = c.toStaff(tx, "weekly:"+rep.Week, "staff_weekly_report", c.a.now(), pairs...)
		return err
	})
	if err != nil {
		return cron.Result{}, fmt.Errorf("weekly report: %w", err)
	}
	res.Note = fmt.Sprintf("week %s: %d new tickets, FAQ %.1f%%, CSAT %.1f%%, NPS %.1f", rep.Week, rep.Tickets.Opened, rep.FAQ.Rate, rep.CSAT.Satisfied, rep.NPS.Score)
	return res, nil
}

// buildWeekly computes the report of the local week before at.
func (a *App) buildWeekly(tx store.Tx, at time.Time) (WeeklyReport, error) {
	loc := at.Location()
	day := startOfDay(at)
	monday := day.AddDate(0, 0, -((int(day.Weekday()) + 6) % 7))
	// The last full week: it ended at the latest Monday midnight.
	from, to := monday.AddDate(0, 0, -7), monday
	rep := WeeklyReport{Week: outreach.Week(from), From: from, To: to}
	var err error
	if rep.Tickets, err = handoff.BuildReport(tx, from, to); err != nil {
		return rep, err
	}
	outcomes, err := turnsBetween(tx, a.stats, from, to)
	if err != nil {
		return rep, err
	}
	rep.FAQ = FAQStats{Answered: outcomes[dialog.OutcomeAnswered], Clarified: outcomes[dialog.OutcomeClarify], Unanswered: outcomes[dialog.OutcomeUnanswered]}
	if n := rep.FAQ.Answered + rep.FAQ.Clarified + rep.FAQ.Unanswered; n > 0 {
		rep.FAQ.Rate = round1(100 * float64(rep.FAQ.Answered) / float64(n))
	}
	if rep.CSAT, err = outreach.CSATBetween(tx, from, to); err != nil {
		return rep, err
	}
	if rep.NPS, err = outreach.NPSOf(tx, outreach.Quarter(to.Add(-time.Second).In(loc))); err != nil {
		return rep, err
	}
	if a.loyalty != nil {
		err = outreach.SentOfKind(tx, outreach.KindRecall, to.Add(-recallWindow), to, func(member string, at time.Time) error {
			rep.Recall.Sent++
			m, err := a.loyalty.Member(tx, member)
			if errors.Is(err, loyalty.ErrNoMember) {
				return nil
			}
			if err != nil {
				return err
			}
			if m.LastPurchase.After(at) {
				rep.Recall.Converted++
			}
			return nil
		})
		if err != nil {
			return rep, err
		}
		if rep.Recall.Sent > 0 {
			rep.Recall.Rate = round1(100 * float64(rep.Recall.Converted) / float64(rep.Recall.Sent))
		}
	}
	return rep, nil
}

func round1(f float64) float64 { return math.Round(f*10) / 10 }

// weeklyPairs fills staff_weekly_report.
func (c *careJobs) weeklyPairs(rep WeeklyReport) []string {
	causes := make([]string, 0, len(rep.Tickets.TopCauses))
	for _, cc := range rep.Tickets.TopCauses {
		causes = append(causes, fmt.Sprintf("%s %d", cc.Cause, cc.Count))
	}
	if len(causes) == 0 {
		causes = append(causes, "-")
	}
	pct := func(v float64, n int) string {
		if n == 0 {
			return "-"
		}
		return fmt.Sprintf("%.1f%% (%d)", v, n)
	}
	nps := "-"
	if rep.NPS.Responses > 0 {
		nps = fmt.Sprintf("%+.1f (%s, %d)", rep.NPS.Score, rep.NPS.Period, rep.NPS.Responses)
	}
	recall := "-"
	if rep.Recall.Sent > 0 {
		recall = fmt.Sprintf("%d/%d (%.1f%%)", rep.Recall.Converted, rep.Recall.Sent, rep.Recall.Rate)
	}
	faqN := rep.FAQ.Answered + rep.FAQ.Clarified + rep.FAQ.Unanswered
	return []string{
		"{from}", rep.From.Format("2006-01-02"), "{to}", rep.To.AddDate(0, 0, -1).Format("2006-01-02"),
		"{tickets}", fmt.Sprint(rep.Tickets.Opened), "{mild}", fmt.Sprint(rep.Tickets.ByTier["mild"]),
		"{moderate}", fmt.Sprint(rep.Tickets.ByTier["moderate"]), "{severe}", fmt.Sprint(rep.Tickets.ByTier["severe"]),
		"{causes}", strings.Join(causes, ", "), "{faq_rate}", pct(rep.FAQ.Rate, faqN),
		"{csat}", pct(rep.CSAT.Satisfied, rep.CSAT.Responses), "{nps}", nps, "{recall}", recall,
	}
}

// WeeklyReports returns the stored weekly reports, newest first, at most
// limit.
func (a *App) WeeklyReports(limit int) ([]WeeklyReport, error) {
	var out []WeeklyReport
	err := a.store.View(func(tx store.Tx) error {
		return tx.ScanReverse(bucketReports, nil, func(_, v []byte) error {
			var r WeeklyReport
			if err := store.DecodeJSON(v, &r); err != nil {
				return err
			}
			out = append(out, r)
			if len(out) >= limit {
				return store.ErrStop
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("weekly reports: %w", err)
	}
	return out, nil
}
