package bot

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"time"

	"github.com/carebot/carebot/configs"
	"github.com/carebot/carebot/cron"
	"github.com/carebot/carebot/dialog"
	"github.com/carebot/carebot/loyalty"
	"github.com/carebot/carebot/outreach"
	"github.com/carebot/carebot/store"
)

// Scheduled care jobs (care.* in the configuration, docs/care.md). Each
// job picks its members through an index, then sends in batches of
// careBatch members per transaction, every message through sendCare: the
// member's consent, the outbox key "job:member:period" (so a second run
// for the same period sends nothing twice), quiet hours in the member's
// zone and the frequency cap.
const (
	jobBirthday  = "birthday"
	jobRecall    = "recall"
	jobNPS       = "nps"
	jobNewMember = "new-member"
	jobFollowUps = "follow-ups"
	jobWeekly    = "weekly-report"

	// careBatch members are handled per write transaction: big enough to
	// amortise the fsync, small enough not to hold the writer for long.
	careBatch = 500
)

// Ledger reasons of coupons granted by care jobs.
const (
	reasonBirthday = "birthday"
	reasonRecall   = "recall"
)

// errDryRun rolls back a dry run's transaction.
var errDryRun = errors.New("dry run: rolled back")

// careJobs sends scheduled care for an App.
type careJobs struct {
	a     *App
	cfg   configs.Care
	rules outreach.Rules
	loc   *time.Location
	// batch is careBatch; tests lower it to stop a run between batches.
	batch int
}

func newCareJobs(a *App, cfg configs.Care) (*careJobs, error) {
	start, end, err := cfg.QuietHours.Minutes()
	if err != nil {
		return nil, fmt.Errorf("care.quiet_hours: %w", err)
	}
	loc, err := loadZone(cfg.TimeZone)
	if err != nil {
		return nil, fmt.Errorf("care.time_zone: %w", err)
	}
	return &careJobs{a: a, cfg: cfg, loc: loc, batch: careBatch,
		rules: outreach.Rules{QuietStart: start, QuietEnd: end, Cap: cfg.Cap, Window: cfg.CapWindow.D()}}, nil
}

// loadZone loads an IANA zone; Asia/Shanghai falls back to a fixed +08:00
// zone where the tz database is missing.
func loadZone(name string) (*time.Location, error) {
	loc, err := time.LoadLocation(name)
	if err != nil && name == "Asia/Shanghai" {
		return time.FixedZone("CST", 8*60*60), nil
	}
	return loc, err
}

// jobs are the care jobs with a spec; specs are in the care zone.
func (c *careJobs) jobs(schedZone *time.Location) []cron.Job {
	spec := func(s string) string {
		if s == "" || strings.HasPrefix(s, "CRON_TZ=") || strings.HasPrefix(s, "TZ=") || schedZone.String() == c.loc.String() {
			return s
		}
		return "CRON_TZ=" + c.loc.String() + " " + s
	}
	var out []cron.Job
	add := func(name, s string, run func(context.Context, cron.Run) (cron.Result, error)) {
		if s != "" {
			out = append(out, cron.Job{Name: name, Spec: spec(s), Run: run})
		}
	}
	add(jobBirthday, c.cfg.Birthday.Spec, c.birthday)
	add(jobRecall, c.cfg.Recall.Spec, c.recall)
	add(jobNPS, c.cfg.NPS.Spec, c.nps)
	add(jobNewMember, c.cfg.NewMember.Spec, c.newMember)
	add(jobFollowUps, c.cfg.FollowUpSpec, c.followUps)
	add(jobWeekly, c.cfg.WeeklySpec, c.weekly)
	return out
}

// update runs fn in a write transaction; in a dry run the transaction is
// rolled back, so the dry run takes the very same decisions and keeps
// none of them.
func (c *careJobs) update(r cron.Run, fn func(tx store.Tx) error) error {
	return updateOrDry(c.a, r, fn)
}

func updateOrDry(a *App, r cron.Run, fn func(tx store.Tx) error) error {
	err := a.store.Update(func(tx store.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		if r.DryRun {
			return errDryRun
		}
		return nil
	})
	if errors.Is(err, errDryRun) {
		return nil
	}
	if err == nil {
		a.outbox.Wake()
	}
	return err
}

// inBatches loads each id's member and calls fn, careBatch members per
// transaction. Members gone or merged since they were selected are
// skipped.
func (c *careJobs) inBatches(ctx context.Context, r cron.Run, ids []string, fn func(tx store.Tx, m *loyalty.Member) error) error {
	for len(ids) > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		n := min(c.batch, len(ids))
		batch := ids[:n]
		ids = ids[n:]
		err := c.update(r, func(tx store.Tx) error {
			for _, id := range batch {
				m, err := c.a.loyalty.Member(tx, id)
				if errors.Is(err, loyalty.ErrNoMember) {
					continue
				}
				if err != nil {
					return err
				}
				if m.ID != id {
					continue // merged: the survivor is handled under its own id
				}
				if err := fn(tx, m); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// careMsg is one care message for one member.
type careMsg struct {
	kind string // outreach kind
	key  string // outbox key, "job:member:period"
	// capped messages count against, and respect, the frequency cap.
	capped bool
	// reserve places under the cap are kept free (a birthday due soon).
	reserve int
	// build writes the text and buttons in the member's locale; it may
	// grant a coupon (keyed, so a retry grants nothing twice).
	build func(tx store.Tx, locale string) (string, []dialog.Button, error)
}

// careTarget is the chat a member's care messages go to.
type careTarget struct {
	channel, chatID, locale string
}

// target picks the member's chat: of their linked identities on a running
// channel, the one whose conversation moved last.
func (c *careJobs) target(tx store.Tx, m *loyalty.Member) (careTarget, bool, error) {
	var best careTarget
	var bestAt time.Time
	found := false
	for _, id := range m.Identities {
		if _, ok := c.a.registry.Get(id.Channel); !ok {
			continue
		}
		var conv Conversation
		if _, err := store.GetJSON(tx, bucketConvs, store.Key(id.Channel, id.User), &conv); err != nil {
			return careTarget{}, false, fmt.Errorf("conversation of %s: %w", m.ID, err)
		}
		if found && !conv.Updated.After(bestAt) {
			continue
		}
		locale := conv.State.Locale
		if locale == "" {
			locale = c.a.cfg.Dialog.DefaultLocale
		}
		best, bestAt, found = careTarget{channel: id.Channel, chatID: id.User, locale: locale}, conv.Updated, true
	}
	return best, found, nil
}

// Reasons a member is passed over, as dry runs and run notes show them.
const (
	skipConsent = "no consent"
	skipSent    = "already sent"
	skipNoChat  = "no chat on a running channel"
	skipCap     = "frequency cap"
)

// send queues msg to m unless a delivery rule says no; it counts the
// outcome in res and reports it to the run's plan.
func (c *careJobs) send(tx store.Tx, r cron.Run, res *cron.Result, m *loyalty.Member, msg careMsg) error {
	skip := func(why string) {
		res.Skipped++
		r.Report(cron.Planned{Member: m.ID, Kind: msg.kind, Skipped: why})
	}
	if !m.Consent {
		skip(skipConsent)
		return nil
	}
	if c.a.outbox.Queued(tx, msg.key) {
		skip(skipSent)
		return nil
	}
	tg, ok, err := c.target(tx, m)
	if err != nil {
		return err
	}
	if !ok {
		skip(skipNoChat)
		return nil
	}
	now := c.a.now()
	due := c.rules.Defer(later(now, r.At), m.Location(c.loc))
	if msg.capped {
		ok, err := c.rules.Allow(tx, m.ID, due, msg.reserve)
		if err != nil {
			return err
		}
		if !ok {
			skip(skipCap)
			return nil
		}
	}
	text, buttons, err := msg.build(tx, tg.locale)
	if err != nil {
		return fmt.Errorf("%s for %s: %w", msg.kind, m.ID, err)
	}
	text += "\n" + c.a.router.Text("care_unsubscribe", tg.locale)
	if err := c.a.queueCare(tx, tg.channel, tg.chatID, text, buttons, msg.key, "care", due); err != nil {
		return err
	}
	if err := outreach.Record(tx, outreach.Send{Member: m.ID, Kind: msg.kind, Key: msg.key, At: due}); err != nil {
		return err
	}
	res.Queued++
	r.Report(cron.Planned{Member: m.ID, Kind: msg.kind, Channel: tg.channel, ChatID: tg.chatID, SendAt: due, Text: text})
	return nil
}

// sendAt moves t out of the quiet hours of the member's zone (the care
// zone when the member or their zone is unknown). Ticket follow-ups and
// satisfaction prompts go through it as well as the jobs' messages.
func (c *careJobs) sendAt(tx store.Tx, member string, t time.Time) time.Time {
	loc := c.loc
	if member != "" {
		if m, err := c.a.loyalty.Member(tx, member); err == nil {
			loc = m.Location(c.loc)
		}
	}
	return c.rules.Defer(t, loc)
}

// queueCare queues a proactive message to a chat and logs it in the
// conversation, so agents see what the customer was sent.
func (a *App) queueCare(tx store.Tx, channel, chatID, text string, buttons []dialog.Button, key, kind string, at time.Time) error {
	id, err := a.outbox.Enqueue(tx, OutboxRow{Channel: channel, ChatID: chatID, UserID: chatID, Text: text,
		Buttons: toChannelButtons(buttons), SendAt: at, Key: key, Kind: kind})
	if err != nil {
		return err
	}
	convKey := store.Key(channel, chatID)
	var conv Conversation
	found, err := store.GetJSON(tx, bucketConvs, convKey, &conv)
	if err != nil {
		return fmt.Errorf("load conversation: %w", err)
	}
	now := a.now()
	if !found {
		conv = Conversation{Channel: channel, ChatID: chatID, UserID: chatID, Created: now}
	}
	entry := LogEntry{Dir: "out", Text: clip(text), Route: kind, OutboxID: id, Time: now}
	if at.After(now) {
		entry.SendAt = at
	}
	if err := appendLog(tx, &conv, entry); err != nil {
		return err
	}
	return store.PutJSON(tx, bucketConvs, convKey, conv)
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// name is how a message addresses the member.
func (c *careJobs) name(m *loyalty.Member, locale string) string {
	if m.Name != "" {
		return m.Name
	}
	return c.a.router.Text("care_name_fallback", locale)
}

func (c *careJobs) say(key, locale string, pairs ...string) string {
	return strings.NewReplacer(pairs...).Replace(c.a.router.Text(key, locale))
}

// date formats a coupon's or lot's date in the care zone.
func (c *careJobs) date(t time.Time) string { return t.In(c.loc).Format("2006-01-02") }

// grant gives a coupon for a care message; a right missing from the
// catalogue or out of stock gives none (the message goes without it).
func (c *careJobs) grant(tx store.Tx, m *loyalty.Member, right, key, reason string) (*loyalty.Coupon, error) {
	if right == "" {
		return nil, nil
	}
	cp, _, err := c.a.loyalty.GrantWith(tx, loyalty.GrantParams{Member: m.ID, Right: right, Key: key, Reason: reason, By: "carebot"})
	if errors.Is(err, loyalty.ErrNoRight) || errors.Is(err, loyalty.ErrOutOfStock) {
		c.a.log.Warn("care coupon not granted", "member", m.ID, "right", right, "err", err)
		return nil, nil
	}
	return cp, err
}

func couponPairs(c *careJobs, cp *loyalty.Coupon, locale string) []string {
	name := localized(cp.Name, locale)
	if name == "" {
		name = cp.Right
	}
	expires := "-"
	if !cp.Expires.IsZero() {
		expires = c.date(cp.Expires)
	}
	return []string{"{coupon}", name, "{code}", cp.Code, "{expires}", expires}
}

// birthdayReserve is 1 when a birthday greeting will be due for m within
// the cap window after at and has not been queued yet: recall offers and
// surveys leave its place free, so the birthday outranks them.
func (c *careJobs) birthdayReserve(tx store.Tx, m *loyalty.Member, at time.Time) int {
	if c.cfg.Birthday.Spec == "" || c.rules.Cap <= 0 || !m.Consent {
		return 0
	}
	_, month, day, ok := parseBirthday(m.Birthday)
	if !ok {
		return 0
	}
	local := at.In(c.loc)
	for y := local.Year(); y <= local.Year()+1; y++ {
		b := birthdayIn(y, month, day, c.loc)
		if b.Before(startOfDay(local)) || b.Sub(local) > c.rules.Window {
			continue
		}
		if c.a.outbox.Queued(tx, birthdayKey(m.ID, y)) {
			return 0
		}
		return 1
	}
	return 0
}

func parseBirthday(s string) (year int, month time.Month, day int, ok bool) {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		return 0, 0, 0, false
	}
	return t.Year(), t.Month(), t.Day(), true
}

// birthdayIn is the day a birthday is celebrated in year: 29 February is
// kept on 28 February in common years.
func birthdayIn(year int, month time.Month, day int, loc *time.Location) time.Time {
	if month == time.February && day == 29 && time.Date(year, time.February, 29, 0, 0, 0, 0, loc).Month() != time.February {
		day = 28
	}
	return time.Date(year, month, day, 0, 0, 0, 0, loc)
}

func startOfDay(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, t.Location())
}

func birthdayKey(member string, year int) string {
	return fmt.Sprintf("%s:%s:%d", jobBirthday, member, year)
}

// birthday greets the members whose birthday is today, with a coupon.
func (c *careJobs) birthday(ctx context.Context, r cron.Run) (cron.Result, error) {
	day := r.At.In(c.loc)
	var ids []string
	err := c.a.store.View(func(tx store.Tx) error {
		return c.a.loyalty.BirthdaysOn(tx, day, func(m *loyalty.Member) error {
			ids = append(ids, m.ID)
			return nil
		})
	})
	if err != nil {
		return cron.Result{}, fmt.Errorf("birthdays of %s: %w", day.Format("01-02"), err)
	}
	var res cron.Result
	err = c.inBatches(ctx, r, ids, func(tx store.Tx, m *loyalty.Member) error {
		key := birthdayKey(m.ID, day.Year())
		return c.send(tx, r, &res, m, careMsg{kind: outreach.KindBirthday, key: key, capped: true,
			build: func(tx store.Tx, locale string) (string, []dialog.Button, error) {
				pairs := []string{"{name}", c.name(m, locale), "{tier}", c.a.loyaltyChat.tierLabel(m.Tier, locale)}
				right, err := c.birthdayRight(tx, m.Tier)
				if err != nil {
					return "", nil, err
				}
				cp, err := c.grant(tx, m, right, fmt.Sprintf("birthday:%d", day.Year()), reasonBirthday)
				if err != nil || cp == nil {
					return c.say("care_birthday_plain", locale, pairs...), nil, err
				}
				return c.say("care_birthday", locale, append(pairs, couponPairs(c, cp, locale)...)...), nil, nil
			}})
	})
	res.Note = fmt.Sprintf("%d birthdays on %s", len(ids), day.Format("01-02"))
	return res, err
}

// birthdayRight is the configured right for the tier, or the catalogue's
// active birthday-month right open to it.
func (c *careJobs) birthdayRight(tx store.Tx, tier string) (string, error) {
	if r, ok := c.cfg.Birthday.Rights[tier]; ok {
		return r, nil
	}
	rights, err := c.a.loyalty.Rights(tx)
	if err != nil {
		return "", err
	}
	for _, r := range rights {
		if r.Active && r.BirthdayMonth && (len(r.Tiers) == 0 || containsFold(r.Tiers, tier)) {
			return r.ID, nil
		}
	}
	return "", nil
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

// recallCandidate is a dormant member and the offer due to them.
type recallCandidate struct {
	id      string
	episode string // the day the dormancy began: it keys the episode
	second  bool
}

// recall sends the first offer to members idle for recall.after, and the
// second to those still idle at recall.second_after whose first offer went
// out long enough ago. Any purchase or chat starts a new episode.
func (c *careJobs) recall(ctx context.Context, r cron.Run) (cron.Result, error) {
	now := later(c.a.now(), r.At)
	var cands []recallCandidate
	scanned := 0
	err := c.a.store.View(func(tx store.Tx) error {
		var err error
		cands, scanned, err = c.recallCandidates(tx, now)
		return err
	})
	if err != nil {
		return cron.Result{}, fmt.Errorf("dormant members: %w", err)
	}
	byID := make(map[string]recallCandidate, len(cands))
	ids := make([]string, len(cands))
	for i, cd := range cands {
		byID[cd.id], ids[i] = cd, cd.id
	}
	var res cron.Result
	err = c.inBatches(ctx, r, ids, func(tx store.Tx, m *loyalty.Member) error {
		cd := byID[m.ID]
		stage, right, textKey := 1, c.cfg.Recall.Right, "care_recall"
		if cd.second {
			stage, right, textKey = 2, c.cfg.Recall.SecondRight, "care_recall_second"
		}
		key := recallKey(m.ID, cd.episode, stage)
		return c.send(tx, r, &res, m, careMsg{kind: outreach.KindRecall, key: key, capped: true,
			reserve: c.birthdayReserve(tx, m, now),
			build: func(tx store.Tx, locale string) (string, []dialog.Button, error) {
				pairs := []string{"{name}", c.name(m, locale), "{reason}", c.recallReason(m, locale)}
				cp, err := c.grant(tx, m, right, fmt.Sprintf("recall:%s:%d", cd.episode, stage), reasonRecall)
				if err != nil || cp == nil {
					return c.say("care_recall_plain", locale, pairs...), nil, err
				}
				return c.say(textKey, locale, append(pairs, couponPairs(c, cp, locale)...)...), nil, nil
			}})
	})
	res.Note = fmt.Sprintf("%d idle members scanned, %d offers due", scanned, len(cands))
	return res, err
}

// recallCandidates scans the activity index for members idle since
// recall.after and returns those an offer is due to (by the outbox keys of
// their episode), with the number of idle members scanned.
func (c *careJobs) recallCandidates(tx store.Tx, now time.Time) ([]recallCandidate, int, error) {
	after, second := c.cfg.Recall.After.D(), c.cfg.Recall.SecondAfter.D()
	var cands []recallCandidate
	scanned := 0
	err := c.a.loyalty.IdleSince(tx, now.Add(-after), func(id string, last time.Time) error {
		scanned++
		episode := last.In(c.loc).Format("20060102")
		first := recallKey(id, episode, 1)
		if !c.a.outbox.Queued(tx, first) {
			cands = append(cands, recallCandidate{id: id, episode: episode})
			return nil
		}
		if second <= 0 || now.Sub(last) < second || c.a.outbox.Queued(tx, recallKey(id, episode, 2)) {
			return nil
		}
		if row, ok := c.a.outbox.RowByKey(tx, first); ok && now.Sub(row.FirstDue) >= second-after {
			cands = append(cands, recallCandidate{id: id, episode: episode, second: true})
		}
		return nil
	})
	return cands, scanned, err
}

func recallKey(member, episode string, stage int) string {
	return fmt.Sprintf("%s:%s:%s-%d", jobRecall, member, episode, stage)
}

// recallReason is the personal reason to come back: the member's
// favourite category where known.
func (c *careJobs) recallReason(m *loyalty.Member, locale string) string {
	cat := m.FavouriteCategory()
	if cat == "" {
		return c.say("care_recall_reason", locale)
	}
	name := localized(c.cfg.Recall.Categories[cat], locale)
	if name == "" {
		name = cat
	}
	return c.say("care_recall_reason_category", locale, "{category}", name)
}

// nps asks a sample of the active members for the quarter's NPS. The
// sample is a hash of member and quarter, so a second run asks the same
// members (and the keys make sure once).
func (c *careJobs) nps(ctx context.Context, r cron.Run) (cron.Result, error) {
	now := later(c.a.now(), r.At)
	period := outreach.Quarter(r.At.In(c.loc))
	var ids []string
	active := 0
	err := c.a.store.View(func(tx store.Tx) error {
		return c.a.loyalty.ActiveSince(tx, now.Add(-c.cfg.NPS.ActiveWithin.D()), func(id string, _ time.Time) error {
			active++
			if inSample(id, period, c.cfg.NPS.Sample) {
				ids = append(ids, id)
			}
			return nil
		})
	})
	if err != nil {
		return cron.Result{}, fmt.Errorf("active members: %w", err)
	}
	var res cron.Result
	err = c.inBatches(ctx, r, ids, func(tx store.Tx, m *loyalty.Member) error {
		return c.send(tx, r, &res, m, careMsg{kind: outreach.KindNPS, key: fmt.Sprintf("%s:%s:%s", jobNPS, m.ID, period), capped: true,
			reserve: c.birthdayReserve(tx, m, now),
			build: func(_ store.Tx, locale string) (string, []dialog.Button, error) {
				return c.say("care_nps", locale, "{name}", c.name(m, locale)), dialog.NPSButtons(period), nil
			}})
	})
	res.Note = fmt.Sprintf("%s: %d of %d active members sampled", period, len(ids), active)
	return res, err
}

// inSample reports whether id falls in the share of members sampled for
// period: a stable hash, uniform over ids.
func inSample(id, period string, share float64) bool {
	if share >= 1 {
		return true
	}
	h := fnv.New64a()
	h.Write([]byte(period))
	h.Write([]byte{0})
	h.Write([]byte(id))
	return float64(h.Sum64()>>11)/float64(1<<53) < share
}

// newMember asks members who joined new_member.after_days ago how it is
// going.
func (c *careJobs) newMember(ctx context.Context, r cron.Run) (cron.Result, error) {
	now := later(c.a.now(), r.At)
	days := c.cfg.NewMember.AfterDays
	joined := r.At.In(c.loc).AddDate(0, 0, -days).Format("2006-01-02")
	var ids []string
	err := c.a.store.View(func(tx store.Tx) error {
		return c.a.loyalty.JoinedOn(tx, joined, func(m *loyalty.Member) error {
			ids = append(ids, m.ID)
			return nil
		})
	})
	if err != nil {
		return cron.Result{}, fmt.Errorf("members joined on %s: %w", joined, err)
	}
	var res cron.Result
	err = c.inBatches(ctx, r, ids, func(tx store.Tx, m *loyalty.Member) error {
		return c.send(tx, r, &res, m, careMsg{kind: outreach.KindNewMember, key: fmt.Sprintf("%s:%s:%s", jobNewMember, m.ID, joined), capped: true,
			reserve: c.birthdayReserve(tx, m, now),
			build: func(_ store.Tx, locale string) (string, []dialog.Button, error) {
				text := c.say("care_new_member", locale, "{name}", c.name(m, locale), "{days}", strconv.Itoa(days))
				return text, c.a.router.NewMemberButtons(joined, locale), nil
			}})
	})
	res.Note = fmt.Sprintf("%d members joined on %s", len(ids), joined)
	return res, err
}

// expiryNotices tells members whose points expire within the notice
// window, once per expiry date (the earliest lot's), inside the points
// expiry job's transaction.
func (c *careJobs) expiryNotices(tx store.Tx, r cron.Run, res *cron.Result, within time.Duration) error {
	now := later(c.a.now(), r.At)
	return c.a.loyalty.ExpiringWithin(tx, within, func(m *loyalty.Member, points int64, by time.Time) error {
		if m.ID != "" && m.MergedInto != "" {
			return nil
		}
		day := c.date(by)
		return c.send(tx, r, res, m, careMsg{kind: outreach.KindExpiry, key: fmt.Sprintf("expiry:%s:%s", m.ID, day), capped: true,
			reserve: c.birthdayReserve(tx, m, now),
			build: func(_ store.Tx, locale string) (string, []dialog.Button, error) {
				return c.say("care_expiry", locale, "{name}", c.name(m, locale), "{points}", strconv.FormatInt(points, 10), "{date}", day), nil, nil
			}})
	})
}
