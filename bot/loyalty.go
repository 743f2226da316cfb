package bot

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/carebot/carebot/configs"
	"github.com/carebot/carebot/handoff"
	"github.com/carebot/carebot/loyalty"
	"github.com/carebot/carebot/store"
)

// LoyaltyOptions turns the loyalty section of the configuration into the
// programme's options, with the rewards catalogue read from
// loyalty.rewards or the embedded configs/rewards.yaml.
func LoyaltyOptions(c configs.Loyalty) (loyalty.Options, error) {
	o := loyalty.DefaultOptions()
	loc, err := loyalty.LoadLocation(c.TimeZone)
	if err != nil {
		return o, err
	}
	o.Location = loc
	if len(c.Tiers) > 0 {
		o.Tiers = nil
		for _, t := range c.Tiers {
			o.Tiers = append(o.Tiers, loyalty.TierRule{Name: t.Name, Label: t.Label, Threshold: int64(t.Threshold),
				Multiplier: t.Multiplier, Discount: t.Discount, HandoffPriority: t.HandoffPriority})
		}
	}
	o.KeepRatio = c.KeepRatio
	o.QualifyMonths = c.QualifyMonths
	o.PointsPerUnit = c.PointsPerUnit
	o.Currency = c.Currency
	o.CategoryMultipliers = c.CategoryMultipliers
	for _, k := range c.Campaigns {
		o.Campaigns = append(o.Campaigns, loyalty.Campaign{Name: k.Name, From: k.From, To: k.To, Multiplier: k.Multiplier, Categories: k.Categories})
	}
	o.CheckInPoints = int64(c.CheckInPoints)
	o.StreakDays = c.StreakDays
	o.StreakBonus = int64(c.StreakBonus)
	o.ReferrerPoints = int64(c.ReferrerPoints)
	o.RefereePoints = int64(c.RefereePoints)
	o.SurveyPoints = int64(c.SurveyPoints)
	o.LotMonths = c.LotMonths
	o.BalanceFloor = int64(c.BalanceFloor)
	o.ExpiryNotice = c.ExpiryNotice.D()
	o.LinkCodeTTL = c.LinkCodeTTL.D()
	o.AtRiskAfter = c.AtRiskAfter.D()
	o.DormantAfter = c.DormantAfter.D()
	o.NewFor = c.NewFor.D()
	o.CoreOrders = c.CoreOrders
	var data []byte
	if c.Rewards != "" {
		data, err = os.ReadFile(c.Rewards)
	} else {
		data, err = configs.FS.ReadFile(configs.RewardsFile)
	}
	if err != nil {
		return o, fmt.Errorf("rewards catalogue: %w", err)
	}
	if o.Catalogue, err = loyalty.ParseCatalogue(data); err != nil {
		return o, fmt.Errorf("rewards catalogue: %w", err)
	}
	return o, nil
}

// newLoyalty builds the programme and seeds its catalogue and campaigns.
func newLoyalty(cfg *configs.Config, st *store.Store, now func() time.Time) (*loyalty.Program, loyalty.Options, error) {
	opts, err := LoyaltyOptions(cfg.Loyalty)
	if err != nil {
		return nil, opts, fmt.Errorf("loyalty: %w", err)
	}
	prog, err := loyalty.New(opts, now)
	if err != nil {
		return nil, opts, fmt.Errorf("loyalty: %w", err)
	}
	if err := st.Update(prog.Seed); err != nil {
		return nil, opts, fmt.Errorf("loyalty: seed catalogue: %w", err)
	}
	return prog, opts, nil
}

// Loyalty returns the loyalty programme, nil when loyalty.enabled is off.
func (a *App) Loyalty() *loyalty.Program { return a.loyalty }

// notifyUpgrade queues the congratulation for a tier upgrade to the
// member's chats, in the caller's transaction.
func (a *App) notifyUpgrade(tx store.Tx, ch *loyalty.TierChange) error {
	if ch == nil || a.loyaltyChat == nil {
		return nil
	}
	return a.loyaltyChat.notifyUpgrade(tx, a.outbox, ch, a.now())
}

// notifyUpgrade tells the member, in each linked chat's locale, that they
// reached a tier. The key makes a repeated notice (a retried order) send once.
func (l *loyaltyChat) notifyUpgrade(tx store.Tx, ob *Outbox, ch *loyalty.TierChange, now time.Time) error {
	m, err := l.prog.Member(tx, ch.Member)
	if err != nil {
		return err
	}
	mult := 1.0
	if t, ok := l.tierRule(ch.To); ok {
		mult = t.Multiplier
	}
	for _, id := range m.Identities {
		var conv Conversation
		if _, err := store.GetJSON(tx, bucketConvs, store.Key(id.Channel, id.User), &conv); err != nil {
			return err
		}
		locale := conv.State.Locale
		text := l.say("loyalty_upgrade", locale, "{tier}", l.tierLabel(ch.To, locale), "{multiplier}", fmt.Sprint(mult))
		key := fmt.Sprintf("upgrade:%s:%s:%s:%s", m.ID, ch.To, ch.Time.UTC().Format(time.RFC3339), id.Channel)
		if _, err := ob.Enqueue(tx, OutboxRow{Channel: id.Channel, ChatID: id.User, UserID: id.User, Text: text, SendAt: now, Key: key, Kind: "care"}); err != nil {
			return err
		}
	}
	return nil
}

// compensator grants the configured compensation coupon with a mild
// apology: free of points, recorded in the ledger with the ticket.
func (l *loyaltyChat) compensator(right string) Compensator {
	return func(tx store.Tx, t *handoff.Ticket) (string, error) {
		if t.Member == "" {
			return "", nil
		}
		c, err := l.prog.Grant(tx, t.Member, right, t.ID, "carebot")
		if errors.Is(err, loyalty.ErrNoRight) || errors.Is(err, loyalty.ErrOutOfStock) {
			// A catalogue without the right, or none left: the apology
			// goes out alone rather than failing the customer's turn.
			return "", nil
		}
		if err != nil {
			return "", err
		}
		if _, err := handoff.Compensated(tx, t.ID, "", "coupon "+c.Code+" ("+right+")", l.now()); err != nil {
			return "", err
		}
		return l.couponText(tx, c, t.Locale), nil
	}
}

func (l *loyaltyChat) couponText(tx store.Tx, c *loyalty.Coupon, locale string) string {
	name := l.rightNames(tx, locale)[c.Right]
	if name == "" {
		name = c.Right
	}
	return l.say("loyalty_compensation", locale, "{name}", name, "{code}", c.Code, "{expires}", l.date(c.Expires))
}

// CompensateTicket gives the ticket's customer a coupon of the right, free
// of points, sends it to them and records it on the ticket and the ledger.
func (a *App) CompensateTicket(who handoff.Account, id uint64, right string) (*handoff.Ticket, error) {
	if a.loyaltyChat == nil {
		return nil, fmt.Errorf("compensate: the loyalty programme is off: %w", handoff.ErrInvalid)
	}
	right = strings.TrimSpace(right)
	if right == "" {
		return nil, fmt.Errorf("compensate: a right is required: %w", handoff.ErrInvalid)
	}
	return a.ticketTx(id, func(tx store.Tx, _ *handoff.Ticket, conv *Conversation) (*handoff.Ticket, error) {
		t, err := handoff.Get(tx, id)
		if err != nil {
			return nil, err
		}
		if !handoff.CanWork(who, t) {
			return t, fmt.Errorf("compensate ticket %d: %w", id, handoff.ErrForbidden)
		}
		member := t.Member
		if member == "" {
			m, err := a.loyaltyChat.identify(tx, conv)
			if err != nil {
				return t, err
			}
			member = m.ID
		}
		c, err := a.loyalty.Grant(tx, member, right, t.ID, who.Name)
		switch {
		case errors.Is(err, loyalty.ErrNoRight), errors.Is(err, loyalty.ErrOutOfStock), errors.Is(err, loyalty.ErrInvalid):
			return t, fmt.Errorf("compensate: %w: %w", handoff.ErrInvalid, err)
		case err != nil:
			return t, err
		}
		if t, err = handoff.Compensated(tx, id, who.Name, "coupon "+c.Code+" ("+right+")", a.now()); err != nil {
			return t, err
		}
		if err := a.toCustomer(tx, conv, t, a.loyaltyChat.couponText(tx, c, conv.State.Locale), who.Name, nil, "compensate:"+c.Code, a.now()); err != nil {
			return t, err
		}
		return t, a.care.changed(tx, t, handoff.EventCompensate)
	})
}

// compensationRights lists the rights an agent may give as compensation:
// coupons of the catalogue (perks need a person to arrange them).
func (a *App) compensationRights() []CompensationRight {
	out := []CompensationRight{}
	if a.loyalty == nil {
		return out
	}
	_ = a.store.View(func(tx store.Tx) error {
		rights, err := a.loyalty.Rights(tx)
		if err != nil {
			return err
		}
		for _, r := range rights {
			if r.Kind == "perk" {
				continue
			}
			out = append(out, CompensationRight{ID: r.ID, Name: r.Name})
		}
		return nil
	})
	return out
}

// CompensationRight is a coupon an agent can give from the console.
type CompensationRight struct {
	ID   string            `json:"id"`
	Name map[string]string `json:"name"`
}
