package loyalty

import (
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/carebot/carebot/store"
)

var (
	bucketRights    = store.RegisterBucket("loyalty", "loyalty_rights")    // id → Right
	bucketStock     = store.RegisterBucket("loyalty", "loyalty_stock")     // right id → issued count
	bucketCampaigns = store.RegisterBucket("loyalty", "loyalty_campaigns") // name → Campaign
)

// Right kinds.
const (
	RightAmountOff    = "amount_off"    // Value currency units off (MinSpend: 满减)
	RightPercentOff   = "percent_off"   // Value percent off (10 = 9折)
	RightFreeShipping = "free_shipping" // shipping waived
	RightPerk         = "perk"          // priority service, a gift…
)

// Right is an entry of the rewards catalogue.
type Right struct {
	// ID is the stable identifier (lowercase letters, digits, '_', '.', '-').
	ID   string `json:"id"`
	Kind string `json:"kind"`
	// Name and Description per locale (zh-Hans, zh-Hant, en).
	Name        map[string]string `json:"name"`
	Description map[string]string `json:"description,omitempty"`
	// Value is currency units off (amount_off) or percent off
	// (percent_off); unused for other kinds.
	Value float64 `json:"value,omitempty"`
	// MinSpend is the order amount from which the coupon applies (0: any).
	MinSpend float64 `json:"min_spend,omitempty"`
	// Cost is the points price before the tier discount. TierCost sets a
	// tier's price outright (the discount then does not apply).
	Cost     int64            `json:"cost"`
	TierCost map[string]int64 `json:"tier_cost,omitempty"`
	// Stock is the total that may be issued, -1 for unlimited. Redemptions
	// and grants both count.
	Stock int64 `json:"stock"`
	// PerMember limits redemptions per member (per year for birthday
	// rights); 0 is no limit. Grants do not count.
	PerMember int `json:"per_member,omitempty"`
	// Tiers that may redeem; empty means all.
	Tiers []string `json:"tiers,omitempty"`
	// ValidDays: a coupon is valid to the end of the local day ValidDays
	// after issue; 0 never expires.
	ValidDays int `json:"valid_days,omitempty"`
	// BirthdayMonth rights are redeemable only in the member's birthday
	// month (生日礼).
	BirthdayMonth bool `json:"birthday_month,omitempty"`
	// Active rights are offered and redeemable; inactive ones can still be
	// granted (a compensation-only coupon).
	Active bool `json:"active"`
}

// NameIn returns the right's name in locale, with fallbacks.
func (r Right) NameIn(locale string) string { return pick(r.Name, locale, r.ID) }

var rightKinds = []string{RightAmountOff, RightPercentOff, RightFreeShipping, RightPerk}

// validateRight checks what does not depend on the programme's tiers.
func validateRight(r Right) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("right %q: %w: %s", r.ID, ErrInvalid, fmt.Sprintf(format, args...))
	}
	switch {
	case !nameRE.MatchString(r.ID):
		return bad("id must be 1–40 lowercase letters, digits, '_', '.' or '-'")
	case !slices.Contains(rightKinds, r.Kind):
		return bad("kind %q is not one of %s", r.Kind, strings.Join(rightKinds, ", "))
	case pick(r.Name, "", "") == "":
		return bad("needs a name in at least one locale")
	case r.Kind == RightAmountOff && (!finite(r.Value) || r.Value <= 0 || r.Value > 1e7):
		return bad("amount_off needs a value above 0, got %g", r.Value)
	case r.Kind == RightPercentOff && (!finite(r.Value) || r.Value <= 0 || r.Value >= 100):
		return bad("percent_off needs a value above 0 and below 100, got %g", r.Value)
	case !finite(r.Value) || r.Value < 0 || !finite(r.MinSpend) || r.MinSpend < 0 || r.MinSpend > maxAmount:
		return bad("value and min_spend must not be negative")
	case r.Cost < 0 || r.Cost > maxPoints:
		return bad("cost must be 0 to %d, got %d", int64(maxPoints), r.Cost)
	case r.Stock < -1:
		return bad("stock must be -1 (unlimited) or more, got %d", r.Stock)
	case r.PerMember < 0:
		return bad("per_member must be 0 (no limit) or more, got %d", r.PerMember)
	case r.ValidDays < 0 || r.ValidDays > 3650:
		return bad("valid_days must be 0 (never expires) to 3650, got %d", r.ValidDays)
	}
	for _, m := range []map[string]string{r.Name, r.Description} {
		for l, s := range m {
			if utf8.RuneCountInString(s) > 200 {
				return bad("text in %s is longer than 200 characters", l)
			}
		}
	}
	for t, c := range r.TierCost {
		if c < 0 || c > maxPoints {
			return bad("tier_cost[%s] must be 0 to %d, got %d", t, int64(maxPoints), c)
		}
	}
	return nil
}

// validateRight also checks the tier names the right refers to.
func (p *Program) validateRight(r Right) error {
	if err := validateRight(r); err != nil {
		return err
	}
	for t := range r.TierCost {
		if _, ok := p.tiers[t]; !ok {
			return fmt.Errorf("right %q: %w: tier_cost names unknown tier %q", r.ID, ErrInvalid, t)
		}
	}
	for _, t := range r.Tiers {
		if _, ok := p.tiers[t]; !ok {
			return fmt.Errorf("right %q: %w: tiers names unknown tier %q", r.ID, ErrInvalid, t)
		}
	}
	return nil
}

// PutRight creates or replaces a right (admin CRUD). Coupons already
// issued keep the terms they were issued with.
func (p *Program) PutRight(tx store.Tx, r Right) error {
	if err := p.validateRight(r); err != nil {
		return err
	}
	if err := store.PutJSON(tx, bucketRights, []byte(r.ID), r); err != nil {
		return fmt.Errorf("put right %s: %w", r.ID, err)
	}
	return nil
}

// DeleteRight removes a right and its issued count; coupons already issued
// stay valid. A seeded right stays deleted (Seed does not bring it back).
func (p *Program) DeleteRight(tx store.Tx, id string) error {
	if tx.Get(bucketRights, []byte(id)) == nil {
		return fmt.Errorf("delete right %q: %w", id, ErrNoRight)
	}
	if err := tx.Delete(bucketRights, []byte(id)); err != nil {
		return fmt.Errorf("delete right %s: %w", id, err)
	}
	return tx.Delete(bucketStock, []byte(id))
}

// Right returns one right, active or not.
func (p *Program) Right(tx store.Tx, id string) (Right, error) {
	var r Right
	ok, err := store.GetJSON(tx, bucketRights, []byte(id), &r)
	if err != nil {
		return Right{}, fmt.Errorf("right %s: %w", id, err)
	}
	if !ok {
		return Right{}, fmt.Errorf("right %q: %w", id, ErrNoRight)
	}
	return r, nil
}

// Rights lists every right, active or not, by id.
func (p *Program) Rights(tx store.Tx) ([]Right, error) {
	var out []Right
	err := tx.Scan(bucketRights, nil, func(_, v []byte) error {
		var r Right
		if err := store.DecodeJSON(v, &r); err != nil {
			return err
		}
		out = append(out, r)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list rights: %w", err)
	}
	return out, nil
}

// Issued is how many coupons of the right were issued (redeemed or
// granted).
func (p *Program) Issued(tx store.Tx, rightID string) int64 {
	return int64(store.ParseU64(tx.Get(bucketStock, []byte(rightID))))
}

// left is the right's remaining stock, -1 when unlimited.
func (p *Program) left(tx store.Tx, r Right) int64 {
	if r.Stock < 0 {
		return -1
	}
	return max(0, r.Stock-p.Issued(tx, r.ID))
}

// PutCampaign creates or replaces a campaign (admin API).
func (p *Program) PutCampaign(tx store.Tx, c Campaign) error {
	if err := validateCampaign(c); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	c.Categories = slices.Clone(c.Categories)
	for i, cat := range c.Categories {
		c.Categories[i] = normCategory(cat)
	}
	if err := store.PutJSON(tx, bucketCampaigns, []byte(c.Name), c); err != nil {
		return fmt.Errorf("put campaign %s: %w", c.Name, err)
	}
	return nil
}

// DeleteCampaign removes a campaign.
func (p *Program) DeleteCampaign(tx store.Tx, name string) error {
	if tx.Get(bucketCampaigns, []byte(name)) == nil {
		return fmt.Errorf("delete campaign %q: %w", name, ErrNoCampaign)
	}
	return tx.Delete(bucketCampaigns, []byte(name))
}

// Campaigns lists every campaign, past and future, by name.
func (p *Program) Campaigns(tx store.Tx) ([]Campaign, error) {
	var out []Campaign
	err := tx.Scan(bucketCampaigns, nil, func(_, v []byte) error {
		var c Campaign
		if err := store.DecodeJSON(v, &c); err != nil {
			return err
		}
		out = append(out, c)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list campaigns: %w", err)
	}
	return out, nil
}

// activeCampaigns are the campaigns running on today's local date.
func (p *Program) activeCampaigns(tx store.Tx) ([]Campaign, error) {
	all, err := p.Campaigns(tx)
	if err != nil {
		return nil, err
	}
	today := p.day(p.now())
	return slices.DeleteFunc(all, func(c Campaign) bool { return today < c.From || today > c.To }), nil
}

func (c Campaign) applies(category string) bool {
	return len(c.Categories) == 0 || slices.Contains(c.Categories, category)
}

// Seed stores the configured catalogue and campaigns that the database
// has never seen (call it once at start, in its own transaction). Each seed
// is stored once: what an admin later edits or deletes stays that way.
func (p *Program) Seed(tx store.Tx) error {
	if err := p.SeedCatalogue(tx); err != nil {
		return err
	}
	return p.SeedCampaigns(tx)
}

// SeedCatalogue puts the Options.Catalogue rights that were never seeded.
func (p *Program) SeedCatalogue(tx store.Tx) error {
	for _, r := range p.opts.Catalogue {
		if err := p.seedOnce(tx, "right", r.ID, func() error { return p.PutRight(tx, r) }, tx.Get(bucketRights, []byte(r.ID)) != nil); err != nil {
			return err
		}
	}
	return nil
}

// SeedCampaigns puts the Options.Campaigns that were never seeded.
func (p *Program) SeedCampaigns(tx store.Tx) error {
	for _, c := range p.opts.Campaigns {
		if err := p.seedOnce(tx, "campaign", c.Name, func() error { return p.PutCampaign(tx, c) }, tx.Get(bucketCampaigns, []byte(c.Name)) != nil); err != nil {
			return err
		}
	}
	return nil
}

func (p *Program) seedOnce(tx store.Tx, kind, id string, put func() error, exists bool) error {
	marker := store.Key("seeded", kind, id)
	if tx.Get(bucketMeta, marker) != nil {
		return nil
	}
	if !exists {
		if err := put(); err != nil {
			return fmt.Errorf("seed %s %s: %w", kind, id, err)
		}
	}
	return tx.Put(bucketMeta, marker, []byte{1})
}

// codeAlphabet has no 0/O or 1/I, which customers misread and mistype;
// 32 symbols make each random byte's low five bits a fair pick.
const codeAlphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"

const (
	couponLen   = 10 // 50 bits: guessing a live code is hopeless
	referralLen = 8
)

// uniqueCode returns a random code of n symbols that is not yet a key
// (after prefix) of bucket.
func uniqueCode(tx store.Tx, b store.Bucket, prefix []byte, n int) (string, error) {
	buf := make([]byte, n)
	for range 16 {
		if _, err := rand.Read(buf); err != nil {
			return "", fmt.Errorf("random code: %w", err)
		}
		for i, c := range buf {
			buf[i] = codeAlphabet[c&31]
		}
		if tx.Get(b, append(slices.Clone(prefix), buf...)) == nil {
			return string(buf), nil
		}
	}
	return "", errors.New("random code: no free code after 16 tries")
}

// normCode upper-cases a typed code and drops spaces and dashes.
func normCode(s string) string {
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' || r == '\t' {
			return -1
		}
		return r
	}, strings.ToUpper(strings.TrimSpace(s)))
}
